"""Short-lived files the app returns (subtitles, generated images and audio): each answer gets a fresh folder.

Gradio copies a returned file into its own cache while it postprocesses the answer, before serving it, so the
folder is needed for moments; folders older than MAX_AGE_SECONDS are removed whenever a new one is made. The root
is made on first use with tempfile.mkdtemp (private, unpredictable name), under the temp dir Gradio serves from.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

MAX_AGE_SECONDS = 3600
_roots: dict[str, Path] = {}
_lock = threading.Lock()


def safe_stem(name: str, fallback: str) -> str:
    """A file-name stem from any text: letters, digits, '.', '-', '_' only, at most 60 characters."""
    return re.sub(r"[^\w.-]+", "-", Path(str(name)).stem).strip("-.")[:60] or fallback


def fresh_folder(kind: str) -> Path:
    """A new private folder for one answer's files of `kind` ('speech', 'playground'); old ones are removed."""
    with _lock:
        root = _roots.get(kind)
        if root is None or not root.is_dir():
            root = _roots[kind] = Path(tempfile.mkdtemp(prefix=f"{kind}-files-"))
    _remove_old(root, time.time() - MAX_AGE_SECONDS)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=root))


def _remove_old(root: Path, before: float) -> None:
    for folder in root.iterdir():
        try:
            old = folder.stat().st_mtime < before
        except OSError:  # another answer removed it first
            continue
        if old:
            shutil.rmtree(folder, ignore_errors=True)


def write_file(kind: str, stem: str, extension: str, data: bytes) -> str:
    """Write `data` as `<stem><extension>` in a fresh folder of `kind`; returns its path."""
    path = fresh_folder(kind) / f"{safe_stem(stem, kind)}{extension}"
    path.write_bytes(data)
    return str(path)
