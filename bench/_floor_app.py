"""Gradio's floor for the `/chat` measures: an app with only an endpoint shaped like `/chat` (the same six inputs,
history last and kept by the caller, the same queue and launch options) whose streaming function makes no Workers AI call at all — it waits
FLOOR_FIRST_TOKEN_DELAY seconds, then yields FLOOR_TOKENS distinct words FLOOR_TOKEN_DELAY seconds apart, exactly
the timing the fake server is given. Whatever it adds over those delays is Gradio's own cost on this machine.

    GRADIO_SERVER_PORT=7999 FLOOR_FIRST_TOKEN_DELAY=0.1 .venv/bin/python bench/_floor_app.py
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

FIRST_DELAY = float(os.environ.get("FLOOR_FIRST_TOKEN_DELAY", "0.1"))
DELAY = float(os.environ.get("FLOOR_TOKEN_DELAY", "0"))
# FLOOR_PROCESSING=0 sets preprocess=False, postprocess=False on the event (no per-input thread hop in Gradio)
PROCESSING = os.environ.get("FLOOR_PROCESSING", "1") != "0"


async def chat(message, model, system_prompt, max_tokens, temperature, history):
    tokens = int(os.environ.get("FLOOR_TOKENS", "5"))
    reply = ""
    for index in range(min(tokens, int(max_tokens))):
        await asyncio.sleep(FIRST_DELAY if index == 0 else DELAY)
        reply += f" w{index}"
        yield reply
    yield reply


with gr.Blocks() as demo:
    inputs = [gr.Textbox(), gr.Dropdown(["@cf/meta/llama-3.1-8b-instruct-fast"], allow_custom_value=True),
              gr.Textbox(), gr.Slider(16, 4096), gr.Slider(0, 2), gr.JSON()]
    reply = gr.Textbox()
    gr.Button().click(chat, inputs, reply, api_name="chat", concurrency_limit=64,
                      preprocess=PROCESSING, postprocess=PROCESSING)

if __name__ == "__main__":
    demo.queue(max_size=256).launch(server_name="127.0.0.1", max_threads=128, quiet=True)
