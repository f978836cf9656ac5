"""The modules under components/ import each other in one direction: no circle, however long, at import time or
inside a function (a deferred import that dodges a circle is still a circle)."""

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
