"""Vision tab: classify a photo (upload, webcam or clipboard) and show the top-5 labels as confidence bars.

The picture's checks, what goes on the wire and the metered call live in components/core/vision.py; this module
has the input component, the public `classify` endpoint (API and MCP) and the layout.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..core.backend import model_or_default
from ..core.errors import InputProblem
from ..core.vision import MAX_FILE_BYTES, check_file, classify_file
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors
from ..ui.first_click import announce_loading, answer, example_file, model_notice, on_example
from ..ui.how_it_works import panel
from ..ui.models import model_dropdown
from ..ui.panels import after_answer, cost_line, notice
from ..ui.uploads import fetch_links_capped
from ..workers_ai import VISION

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLES = ["cat-chelsea.png", "coffee-cup.png"]


class ImageInput(gr.Image):
    """gr.Image that hands over the upload's path without decoding it.

    gr.Image's own preprocessing opens and converts every upload with PIL before our function runs: a 160 KB
    greyscale PNG of 169 megapixels costs ~800 MB and seconds there, before any limit or budget of ours can refuse
    it. By the time `preprocess` runs, Gradio has already checked that the path is one of its own uploads (or a
    cached example) and refused any other server path an API caller names, so the path is safe to pass on;
    core.vision.prepare_image does the checked decoding. `is_template` keeps the browser using the Image component.
    """

    is_template = True
    link_limit = MAX_FILE_BYTES  # a picture named by link is fetched up to the size an upload may have
    # In the class body, not from a mixin base: Gradio names the front-end component after the first base class
    # (ui/uploads.py, fetch_links_capped).
    async_move_resource_to_block_cache = fetch_links_capped

    def preprocess(self, payload):
        return None if payload is None else payload.path


@friendly_errors
async def classify(
    image: str | None,
    model: str = "",
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> dict[str, float]:
    """Classify an image with a Workers AI image-classification model.

    Args:
        image: The picture to classify (file or URL; JPEG, PNG, WebP, GIF, BMP, TIFF): at most 20 MB and 50 megapixels.
        model: Any Workers AI image-classification model id, e.g. "@cf/microsoft/resnet-50".

    Returns:
        The top labels with their confidence (0-1), best first.
    """
    if not image:
        raise InputProblem("Upload, paste or take a picture first.")
    check_file(image)
    model = model_or_default(model, VISION)  # blank: the backend's default; a bad id is refused before decoding
    return await classify_file(image, model, request, before_request=lambda: announce_loading(model, progress))


@friendly_errors
async def _example(chosen: tuple[int, list] | None, model: str, progress: gr.Progress = gr.Progress(),
                   request: gr.Request | None = None):
    """An example picture clicked (`chosen`: its index and row, from the examples' dataset): its labels at once,
    computed by `classify` or kept from this backend's earlier answer with this model; with the cost line and the
    How-it-works text. The picture is read from assets/ (our own file, never a path a visitor sent)."""
    picture = example_file(chosen)
    model = model_or_default(model, VISION)
    return await answer(("classify", model, Path(picture).name), lambda: classify(picture, model, progress, request),
                        "classify", request, "Classify")


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Vision tab; each answer refreshes the header `meter` (if given). Returns its model dropdown, for the
    app to fill from the live catalogue."""
    notice()
    with gr.Row(equal_height=False):
        with gr.Column():
            image = ImageInput(
                sources=["upload", "webcam", "clipboard"], type="filepath", label="Photo", height=360,
                elem_id="vision-input",
            )
            model = model_dropdown(VISION, info="Image Classification models from the live catalogue.")
            button = gr.Button("Classify", variant="primary")
        with gr.Column():
            model_notice(model)
            labels = gr.Label(num_top_classes=5, label="Top 5 labels")
            cost = cost_line()
    examples = gr.Examples([[str(ASSETS / name)] for name in EXAMPLES], inputs=[image],
                           label="Try an example: one click shows its labels")
    requests = panel("classify")
    on_example(examples, _example, [examples.dataset, model], [labels], action="classify", cost=cost, requests=requests,
               meter=meter)
    for event in (
        button.click(classify, [image, model], labels, api_name="classify", concurrency_limit=concurrency_limit()),
        image.upload(classify, [image, model], labels, api_visibility="private", concurrency_limit=concurrency_limit()),
    ):
        after_answer(event.then, "classify", cost=cost, requests=requests, meter=meter)
    return [(VISION, model)]
