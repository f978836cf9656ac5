"""The modules under components/ import each other in one direction: no circle, however long, at import time or
inside a function (a deferred import that dodges a circle is still a circle), and each layer only the ones below it:
the clients (workers_ai/, local/, anthropic.py) ← core/ (no gradio) ← ui/ ← tabs/ ← app.py."""

import ast
from pathlib import Path

from tests.conftest import ROOT

COMPONENTS = ROOT / "components"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules() -> dict[str, Path]:
    return {module_name(path): path for path in COMPONENTS.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The components modules `path` imports, and the packages whose __init__ that runs (not its own ancestors)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target:
                if target in known and not name.startswith(target + ".") and target != name:
                    found.add(target)
                target = target.rpartition(".")[0]
    found.discard("components")
    return found


def test_no_import_circle_under_components():
    modules = known_modules()
    graph = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    circles = []
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(trail[trail.index(nxt):] + [node, nxt]) if nxt in trail
                               else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not circles, "import circles:\n" + "\n".join(circles)


# ── the layers: each imports only those below it ───────────────────────────────────────────

CLIENTS, CORE, UI, TABS = "clients", "core", "ui", "tabs"
RANK = {CLIENTS: 0, CORE: 1, UI: 2, TABS: 3}
CLIENT_PACKAGES = ("components.workers_ai", "components.local", "components.anthropic")
GRADIO = ("gradio", "gradio_client")
OPTIONAL = "components.local"  # the offline stack: its packages may be absent (a cloud-only Space)


def layer_of(name: str) -> str:
    if any(name == package or name.startswith(package + ".") for package in CLIENT_PACKAGES):
        return CLIENTS
    for layer in (CORE, UI, TABS):
        if name == f"components.{layer}" or name.startswith(f"components.{layer}."):
            return layer
    raise AssertionError(f"{name} belongs to no layer: put it in components/core, ui or tabs, or a client package")


def all_imports(path: Path) -> list[tuple[str, bool]]:
    """Every module `path` names in an import (absolute, with relative ones resolved), and whether the import is
    deferred (inside a function)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deferred = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in deferred) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, id(node) in deferred))
    return found


def test_every_module_is_in_a_layer():
    for name in known_modules():
        if name != "components":
            layer_of(name)


def test_each_layer_imports_only_those_below_it():
    modules = known_modules()
    wrong = []
    for name, path in modules.items():
        if name == "components":
            continue
        for target in imports_of(name, path, set(modules)):
            if RANK[layer_of(target)] > RANK[layer_of(name)]:
                wrong.append(f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})")
    assert not wrong, "arrows that run up:\n" + "\n".join(wrong)


def test_ui_is_the_only_layer_that_imports_gradio():
    """The clients and the core run without gradio: a script, a test or another front end can use them."""
    wrong = [f"{name} imports {target}" for name, path in known_modules().items()
             if name != "components" and layer_of(name) in (CLIENTS, CORE)
             for target, _ in all_imports(path) if target.split(".")[0] in GRADIO]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_app():
    """app.py composes the tabs; nothing under components/ knows it exists."""
    wrong = [f"{name} imports {target}" for name, path in known_modules().items()
             for target, _ in all_imports(path) if target == "app" or target.startswith("app.")]
    assert not wrong, "\n".join(wrong)


def test_no_deferred_import_of_our_own_modules():
    """An import inside a function that names one of our modules is how a circle gets dodged; the only ones allowed
    reach for the optional offline stack, whose packages a cloud-only install lacks."""
    wrong = [f"{name}: {target}" for name, path in known_modules().items()
             for target, deferred in all_imports(path)
             if deferred and target.startswith("components") and not target.startswith(OPTIONAL)]
    assert not wrong, "deferred imports of components modules:\n" + "\n".join(wrong)


# ── importing does nothing ───────────────────────────────────────────────────────────────────

IMPORT_EVERYTHING = """
import importlib, json, os, pkgutil, threading
before = {thread.ident for thread in threading.enumerate()}
import components
for found in pkgutil.walk_packages(components.__path__, "components."):
    if not found.name.endswith("__main__"):
        importlib.import_module(found.name)
from components.core import backend, usage
from components.core.routing import router, targets
from components.local import MODELS
print(json.dumps({
    "backend chosen": backend._client is not None or backend._catalogue is not None,
    "ledgers opened": sorted(usage._ledgers),
    "judge made": router._default_judge is not None,
    "anthropic client made": targets._anthropic is not None,
    "models loaded": sorted(name for name, entry in MODELS.items() if entry.loaded),
    "threads started": len({thread.ident for thread in threading.enumerate()} - before),
    "files written": os.listdir(os.environ["DEMO_STATE_DIR"]),
}))
"""


def test_importing_every_module_chooses_no_backend_and_starts_nothing(tmp_path):
    """The backend, the ledger, the judge and the models are made on first use, never while a module imports: a
    test, a script or the app decides when (and with which settings) they come to life."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEMO_STATE_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {
        "backend chosen": False, "ledgers opened": [], "judge made": False, "anthropic client made": False,
        "models loaded": [], "threads started": 0, "files written": [],
    }
