"""The UI layer's shared parts: what every tab uses (error dialogs, model dropdowns, the header and meter, the cost
line, the "How it works" panel, the public endpoints' plumbing) and the switchable Gradio patches. Built on
`components.core`; never imported by it."""
