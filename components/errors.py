"""The app's own errors, shown to the person as they are (no gradio here: the core and the tabs both raise them)."""


class InputProblem(ValueError):
    """Bad input caught before any request: the message is shown to the person as is."""
