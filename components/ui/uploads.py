"""How big a file may be, and files named by link fetched with that limit (what API and MCP callers send)."""

from __future__ import annotations

from gradio.blocks import Block
from gradio_client.utils import is_http_url_like

from ..core.downloads import DownloadRefused, fetch
from .errors import quiet_error

# Gradio refuses a larger upload before any tab sees it (the page says so before sending the file; the API answers
# 413), and a file named by link is fetched up to this size at most (`fetch_links_capped`). It holds each tab's
# own limit: Vision takes pictures up to 20 MB; Speech takes 2 hours, which is ~115 MB of 128 kbit/s MP3 or M4A,
# while an uncompressed WAV fits up to ~35 min at 48 kHz mono (a browser recording).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


async def fetch_links_capped(block, url_or_file_path):
    """`async_move_resource_to_block_cache` for a file input (gr.Image, gr.Audio) whose class sets `link_limit`:
    a file an API or MCP caller names by link is fetched with at most that many bytes, keeping Gradio's check
    against links into private networks (components/core/downloads.py). Gradio's own fetch has no limit and holds the
    whole answer in memory, before any tab's code runs. Assigned in the class body (a mixin base would change the
    front-end component a template component resolves to: Gradio names it after the first base class)."""
    if isinstance(url_or_file_path, str) and is_http_url_like(url_or_file_path):
        try:
            path = await fetch(url_or_file_path, block.GRADIO_CACHE, block.link_limit)
        except DownloadRefused as exc:
            raise quiet_error(str(exc)) from None
        block.temp_files.add(path)
        return path
    return await Block.async_move_resource_to_block_cache(block, url_or_file_path)
