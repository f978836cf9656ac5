"""The app's own errors, and the one sentence any failure shows a person (no gradio here: the core raises them,
the UI layer turns them into Gradio's error dialog, the API returns the same sentence)."""

from __future__ import annotations

import logging

from ..workers_ai import WorkersAIError

log = logging.getLogger("showcase")

UNEXPECTED = "Something unexpected went wrong on the server; the details are in its log. Please try again."


class InputProblem(ValueError):
    """Bad input caught before any request: the message is shown to the person as is."""


class BudgetExceeded(InputProblem):
    """A call refused before any request because a budget cannot cover it; the message says when it resets."""


def user_message(exc: Exception) -> str:
    """One sentence for the person about `exc` (the trace stays in the server log).

    What needs logging is logged here, once: a Workers AI error as one line, the unexpected with its trace. A
    refusal (bad input, a budget) is not logged: a visitor can make the app refuse at will."""
    if isinstance(exc, InputProblem):
        return str(exc)
    if isinstance(exc, WorkersAIError):
        log.warning("Workers AI error: %s", exc)
        return exc.user_message + (f" (request id {exc.request_id})" if exc.request_id else "")
    log.exception("unexpected error", exc_info=exc)  # the trace goes to the server log, never to the page
    return UNEXPECTED
