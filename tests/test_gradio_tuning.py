"""components/gradio_tuning.py: the lazy session config lists exactly what Gradio's eager one would."""

import sys

import gradio as gr
from gradio.state_holder import SessionState

import app
from components import gradio_tuning


def eager_config(demo: gr.Blocks) -> list[dict]:
    """What Gradio 6.31's own SessionState.__init__ builds for a new session, in its order."""
    blocks_config = demo.default_config
    return [blocks_config.config_for_block(k, [], v) for k, v in blocks_config.blocks.items() if k in demo.blocks]


def shipped_session_state():
    """Gradio's own SessionState, as shipped (the methods the tuning replaced, put back on a subclass)."""
    return type("ShippedSessionState", (SessionState,), dict(SessionState.shipped))


def test_matplotlib_probe_fails_fast_when_absent():
    if sys.modules.get("matplotlib", ...) is None:  # marked absent: the import Gradio tries raises at once
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            pass
        else:
            raise AssertionError("matplotlib was marked absent but imported")
    else:
        assert sys.modules["matplotlib"].__name__ == "matplotlib"  # installed here: nothing to mark


def test_lazy_session_config_is_applied_on_the_pinned_gradio():
    assert gr.__version__ == gradio_tuning.TUNED_GRADIO, "pyproject pins the Gradio this tuning was checked on"
    assert gradio_tuning.lazy_session_config() is True
    assert SessionState._lazy_config


def test_a_new_session_builds_no_block_config_up_front():
    state = SessionState(app.demo)
    assert state.config_values == {}


def test_components_lists_what_the_eager_config_would_in_the_same_order():
    state = SessionState(app.demo)
    assert list(state.components) == [c for c in eager_config(app.demo) if c]


def test_a_changed_value_shows_in_the_listing():
    state = SessionState(app.demo)
    textbox = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Textbox))
    state._update_value_in_config(textbox._id, "changed in this session")
    listed = {c["id"]: c for c in state.components}
    assert listed[textbox._id]["props"]["value"] == "changed in this session"
    assert len(listed) == len([c for c in eager_config(app.demo) if c])
    # and the other sessions are untouched
    assert SessionState(app.demo).config_values == {}


def test_state_values_still_start_from_their_defaults_per_session():
    state_block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.State))
    first, second = SessionState(app.demo), SessionState(app.demo)
    first[state_block._id] = ["only in the first session"]
    assert second[state_block._id] != ["only in the first session"]


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
