"""components/ui/gradio_patches.py: the patches apply on the pinned Gradio, only through app.py;
SHOWCASE_GRADIO_PATCHES=0 leaves Gradio as shipped, and so does another Gradio version (with one log line saying
so); and each patch keeps Gradio's behaviour: the lazy session config lists exactly what Gradio's eager one would,
and a module recorded as absent fails to import at once.

The suite runs with the patches on (tests/conftest.py clears a developer's SHOWCASE_GRADIO_PATCHES);
`test_the_chat_streaming_and_concurrency_tests_pass_with_gradio_as_shipped` runs those tests again in a pytest of
their own with SHOWCASE_GRADIO_PATCHES=0 (this file included: there the tests of a patch's behaviour skip
themselves, and `test_the_app_has_the_patches_the_setting_asks_for` checks that the switch reached the app)."""

import ast
import importlib.machinery
import json
import os
import re
import subprocess
import sys
import tomllib

import gradio as gr
import pytest
from gradio.state_holder import SessionState

import app
from components.core import settings
from components.ui import gradio_patches
from tests.conftest import ROOT

PATCHED = bool(app.GRADIO_PATCHES)
needs_patches = pytest.mark.skipif(not PATCHED, reason="this run has the Gradio patches off")
once = pytest.mark.skipif(not PATCHED, reason="checks the switch itself: run once, in the run with the patches on")


def test_the_app_has_the_patches_the_setting_asks_for():
    wanted = settings.gradio_patches_enabled()
    assert PATCHED == wanted, (f"SHOWCASE_GRADIO_PATCHES={settings.read('SHOWCASE_GRADIO_PATCHES')!r} now, but the app "
                               f"was imported with {app.GRADIO_PATCHES or 'no patches'}")
    assert app.GRADIO_PATCHES == (tuple(patch.name for patch in gradio_patches.PATCHES) if wanted else ())
    checkable = [patch for patch in gradio_patches.PATCHES if not installed_but_marked_absent(patch)]
    assert [patch.name for patch in checkable if patch.active() != wanted] == []


def installed_but_marked_absent(patch) -> bool:
    """A module the patch would record as absent, installed here (then the patch leaves it alone)."""
    return any(target.startswith("sys.modules:") and importlib.machinery.PathFinder.find_spec(target.split(":")[1])
               for target in patch.replaces)


def test_the_pinned_gradio_is_the_one_installed_and_in_pyproject():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"gradio[mcp]=={gradio_patches.PINNED_GRADIO}" in dependencies
    assert gr.__version__ == gradio_patches.PINNED_GRADIO


@needs_patches
def test_apply_again_changes_nothing_and_names_every_patch(monkeypatch):
    monkeypatch.setenv("SHOWCASE_GRADIO_PATCHES", "1")
    before = [patch.active() for patch in gradio_patches.PATCHES]
    assert gradio_patches.apply() == app.GRADIO_PATCHES == tuple(gradio_patches.BY_NAME)
    assert [patch.active() for patch in gradio_patches.PATCHES] == before


def test_only_app_py_imports_the_patches():
    importers = []
    for path in [ROOT / "app.py", *(ROOT / "components").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module or ''}.{alias.name}" for alias in node.names]
            if any(name.split(".")[-1] == "gradio_patches" or ".gradio_patches." in f"{name}." for name in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == ["app.py"]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=180)


REPORT_TARGETS = """
import json
from components.ui import gradio_patches
print(json.dumps([target for patch in gradio_patches.PATCHES for target in patch.replaces
                  if gradio_patches.replaced(target)]))
"""


@once
def test_switched_off_the_app_leaves_gradio_as_shipped():
    code = ("import logging; logging.basicConfig(level=logging.INFO, format='%(name)s %(message)s')\n"
            "import sys; import app; assert app.GRADIO_PATCHES == ()\n"
            "from gradio import state_holder\n"
            "assert state_holder.SessionState.__init__.__module__ == 'gradio.state_holder'\n"
            "assert not hasattr(state_holder.SessionState, 'shipped')\n"
            "assert sys.modules.get('matplotlib', 0) is not None and sys.modules.get('sniffio', 0) is not None\n"
            + REPORT_TARGETS)
    done = run_python(code, SHOWCASE_GRADIO_PATCHES="0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert [line for line in done.stderr.splitlines() if "Gradio patch" in line] == [
        "showcase Gradio patches off (SHOWCASE_GRADIO_PATCHES=0): Gradio runs as shipped"]


@once
def test_on_another_gradio_the_patches_stay_off_and_one_line_says_so():
    code = ("import logging; logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
            "import gradio; gradio.__version__ = '6.32.0'\n"
            "from components.ui import gradio_patches; assert gradio_patches.apply() == ()\n" + REPORT_TARGETS)
    done = run_python(code, SHOWCASE_GRADIO_PATCHES="1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert [line for line in done.stderr.splitlines() if line.startswith("showcase ")] == [
        "showcase WARNING Gradio 6.32.0 is not the pinned 6.31.0: its patches stay off "
        "(components/ui/gradio_patches.py)"]


# ── the chat, streaming and concurrency tests with Gradio as shipped ──────────────────────────

OFF_RUN_TESTS = ("tests/test_chat.py", "tests/test_sse.py", "tests/test_app_api.py",
                 "tests/test_load.py::test_two_hundred_mixed_requests_from_fifty_clients", "tests/test_gradio_patches.py")

# A pytest of its own, whose plugin sets SHOWCASE_GRADIO_PATCHES=0 once tests/conftest.py has cleared the developer's
# settings and before any test module imports app; it fails the run if app was imported with a patch anyway.
OFF_RUN = """
import os, sys, pytest

class GradioAsShipped:
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        assert "app" not in sys.modules, "app was imported before the patches could be switched off"
        os.environ["SHOWCASE_GRADIO_PATCHES"] = "0"

    def pytest_sessionfinish(self, session, exitstatus):
        app = sys.modules.get("app")
        if app is None or app.GRADIO_PATCHES:
            print("FAILED: app was not imported with the Gradio patches off", file=sys.stderr)
            session.exitstatus = 1

sys.exit(pytest.main(sys.argv[1:], plugins=[GradioAsShipped()]))
"""


@once
def test_the_chat_streaming_and_concurrency_tests_pass_with_gradio_as_shipped():
    done = subprocess.run([sys.executable, "-c", OFF_RUN, "-q", "-p", "no:cacheprovider", *OFF_RUN_TESTS], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"with SHOWCASE_GRADIO_PATCHES=0 (exit {done.returncode}):\n{output[-6000:]}"
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) > 50, output[-3000:]  # no "no tests collected", no mass skip


# ── modules recorded as absent ───────────────────────────────────────────────────────────────


@needs_patches
@pytest.mark.parametrize("name", ["matplotlib", "sniffio"])
def test_an_absent_module_fails_fast_and_an_installed_one_is_left_alone(name):
    if sys.modules.get(name, ...) is None:  # marked absent: the import the libraries try raises at once
        with pytest.raises(ImportError):
            __import__(name)
    else:
        assert sys.modules[name].__name__ == name  # installed here: nothing to mark
    gradio_patches.mark_absent("json")
    assert sys.modules["json"] is json


# ── the lazy session config ──────────────────────────────────────────────────────────────────


def eager_config(demo: gr.Blocks) -> list[dict]:
    """What Gradio 6.31's own SessionState.__init__ builds for a new session, in its order."""
    blocks_config = demo.default_config
    return [blocks_config.config_for_block(k, [], v) for k, v in blocks_config.blocks.items() if k in demo.blocks]


def shipped_session_state():
    """Gradio's own SessionState, as shipped (the methods the patch replaced, put back on a subclass)."""
    return type("ShippedSessionState", (SessionState,), dict(SessionState.shipped))


@needs_patches
def test_a_new_session_builds_no_block_config_up_front():
    state = SessionState(app.demo)
    assert state.config_values == {}


@needs_patches
def test_components_lists_what_the_eager_config_would_in_the_same_order():
    state = SessionState(app.demo)
    assert list(state.components) == [c for c in eager_config(app.demo) if c]


@needs_patches
def test_a_changed_value_shows_in_the_listing():
    state = SessionState(app.demo)
    textbox = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Textbox))
    state._update_value_in_config(textbox._id, "changed in this session")
    listed = {c["id"]: c for c in state.components}
    assert listed[textbox._id]["props"]["value"] == "changed in this session"
    assert len(listed) == len([c for c in eager_config(app.demo) if c])
    # and the other sessions are untouched
    assert SessionState(app.demo).config_values == {}


@needs_patches
def test_state_values_still_start_from_their_defaults_per_session():
    state_block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.State))
    first, second = SessionState(app.demo), SessionState(app.demo)
    first[state_block._id] = ["only in the first session"]
    assert second[state_block._id] != ["only in the first session"]


@needs_patches
def test_the_same_events_leave_the_same_listing_as_gradios_own():
    """What an event does to a session (inputs stored and their values noted, an output updated with new props,
    a State set), replayed on Gradio's own SessionState and on the lazy one."""
    shipped = shipped_session_state()
    eager, lazy = shipped(app.demo), SessionState(app.demo)
    assert eager.config_values and not lazy.config_values
    textbox = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Textbox))
    slider = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Slider))
    state_block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.State))
    for state in (eager, lazy):
        state[textbox._id] = textbox  # preprocess_data on a new session
        state._update_value_in_config(textbox._id, "typed")
        state[slider._id] = gr.Slider(1, 99, value=7, label="renamed", render=False)  # an update with new props
        state._update_config(slider._id)
        state._update_value_in_config(slider._id, 42)
        state[state_block._id] = ["kept"]
        state._update_value_in_config(textbox._id, "typed again")
    assert list(lazy.components) == list(eager.components)
    listed = {c["id"]: c for c in lazy.components}
    assert listed[textbox._id]["props"]["value"] == "typed again"
    assert listed[slider._id]["props"]["label"] == "renamed" and listed[slider._id]["props"]["value"] == 42
    assert lazy[state_block._id] == ["kept"]
