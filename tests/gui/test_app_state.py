"""The window's state owner and its narrow interface: run state from snapshots (a command's outcome shown at
once, the snapshot that may predate it not taken), pins bounded, bounded message lists, and no panel holding
the main window."""

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMainWindow  # noqa: E402

from core.config import Config  # noqa: E402
from gui.app_state import MAX_PINS, AppState, Pin, RunCurves  # noqa: E402
from gui.window.message_bar import KEEP, MessageBar  # noqa: E402


def test_running_follows_snapshots_but_not_the_one_that_may_predate_a_command(qtbot):
    st = AppState(Config())
    seen = []
    st.running_changed.connect(seen.append)
    st.command_sent(True)  # Start: shown at once
    assert st.running and seen == [True]
    st.snapshot_drawn(False)  # asked for before the child saw Start: not the run state
    assert st.running
    st.snapshot_drawn(True)
    st.snapshot_drawn(False)  # the child stopped on its own (finished, reached its steps, diverged)
    assert not st.running and seen == [True, False]
    st.command_sent(True)
    st.stopped()  # an error from the child: stopped, whatever the next snapshot
    assert not st.running


def test_pins_are_bounded_oldest_first_and_signal(qtbot):
    st = AppState(Config())
    n = []
    st.pins_changed.connect(lambda: n.append(1))
    curves = RunCurves(Config(), 10, 1, *([[0.0]] * 4))
    pins = [Pin(curves, "#000") for _ in range(MAX_PINS + 2)]
    for p in pins:
        st.add_pin(p)
    assert st.pins == tuple(pins[2:]) and len(n) == MAX_PINS + 2
    st.clear_pins()
    assert st.pins == () and len(n) == MAX_PINS + 3


def test_current_path_signals_only_changes(qtbot):
    st = AppState(Config())
    seen = []
    st.current_path_changed.connect(seen.append)
    st.set_current_path("a.gmlab")
    st.set_current_path("a.gmlab")
    st.set_current_path(None)
    assert seen == ["a.gmlab", None]


def test_message_lists_are_bounded(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    for i in range(KEEP + 50):
        bar.error(f"e{i}")
        bar.notice(f"n{i}")
    assert len(bar.errors) == KEEP and bar.errors[-1] == f"e{KEEP + 49}" and bar.errors[0] == "e50"
    assert len(bar.notices) == KEEP and bar.level == "info"


def test_no_panel_holds_the_main_window(qtbot, win):
    panels = [win.session_ui, win.inspect, win.inspect.compare, win.pages.seeds, win.panel, win.services]
    for p in panels:
        held = [k for k, v in vars(p).items() if isinstance(v, QMainWindow)]
        assert held in ([], ["dialog_parent"]), (type(p).__name__, held)  # a file dialog's parent only
    win.services.report_error("a panel's error")  # a panel's error changes nothing but the message bar
    assert win.message.errors[-1] == "a panel's error" and not win.state.running
