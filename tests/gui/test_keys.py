"""The window's keys work whatever has focus (issue 10, defect 1): with the focus in a config spin box, R resets
with the value just typed, S steps, Space starts and pauses, and the field keeps the keys it edits with; Enter
applies a field and leaves it. Also the run toolbar's small truths (defect 7): the Start/Pause icon, the window
W box in batch mode, and the screenshot key's folder (F12: Ctrl+S is Save session, as on every desktop)."""

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.gui_helpers import wait_step  # noqa: E402


@pytest.fixture
def win(win, qtbot):
    """The shared window (tests/conftest.py), made the active window: keys go to the active window."""
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    return win


def focus(qtbot, widget):
    widget.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=5000)


def test_r_resets_with_the_lag_just_typed_in_the_field(qtbot, win):
    lag = win.panel.widgets["lag"]
    assert lag.value() != 3
    focus(qtbot, lag)
    lag.selectAll()
    qtbot.keyClicks(lag, "3")
    assert lag.value() == 3 and win.panel.pending.isVisibleTo(win)  # "These apply on Reset (R)"
    run = win.snap.run_id
    qtbot.keyClick(lag, Qt.Key_R)
    s = wait_step(qtbot, win, lambda s: s.run_id != run)
    assert s.config["task"]["lag"] == 3 and s.step == 0
    assert lag.value() == 3 and lag.text() == "3"  # the R went to the window, not into the field
    assert not win.panel.pending.isVisibleTo(win)


def test_space_starts_and_s_steps_with_focus_in_a_spin_box(qtbot, win):
    units = win.panel.widgets["units"]
    focus(qtbot, units)
    before = units.text()
    qtbot.keyClick(units, Qt.Key_S)
    s = wait_step(qtbot, win, lambda s: s.step == 1)
    assert not s.running and units.text() == before
    qtbot.keyClick(units, Qt.Key_Space)
    assert win.state.running
    wait_step(qtbot, win, lambda s: s.running and s.step > 20)
    qtbot.keyClick(units, Qt.Key_Space)
    wait_step(qtbot, win, lambda s: not s.running)
    assert not win.state.running and units.text() == before and units.hasFocus()


def test_the_field_keeps_its_editing_keys(qtbot, win):
    units = win.panel.widgets["units"]
    focus(qtbot, units)
    step = win.snap.step
    qtbot.keyClick(units, Qt.Key_Up)  # its value, not a window key
    assert units.value() == 17
    qtbot.keyClick(units, Qt.Key_Right)  # the cursor in its text: no step
    qtbot.keyClicks(units, "4")
    frames = win.presenter.frames
    win.handle.request_snapshot()  # ordered after any command those keys sent: its frame shows their effect
    qtbot.waitUntil(lambda: win.presenter.frames > frames, timeout=10000)
    assert win.snap.step == step and not win.state.running and not win.snap.running


def test_enter_applies_the_field_and_gives_the_keys_back_to_the_plots(qtbot, win):
    spin = win.toolbar.window_spin
    focus(qtbot, spin)
    spin.selectAll()
    qtbot.keyClicks(spin, "120")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert not spin.hasFocus() and spin.value() == 120
    wait_step(qtbot, win, lambda s: len(s.view.x) == 0 or len(s.view.x) <= 120)
    step = win.snap.step
    qtbot.keyClick(win.bits, Qt.Key_Right)  # focus out of the field: → steps
    wait_step(qtbot, win, lambda s: s.step == step + 1)


def test_start_and_pause_show_icons_not_a_font_glyph(win):
    b = win.toolbar.btn_start
    assert not b.icon().isNull() and b.text() == "Start" and "⏸" not in b.text() and "▶" not in b.text()
    win.toolbar.show_running(True)
    assert not b.icon().isNull() and b.text() == "Pause"


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_window_w_box_is_disabled_in_batch_mode_and_says_why(qtbot, win):
    spin = win.toolbar.window_spin
    assert spin.isEnabled()
    win.panel.preset_box.setCurrentIndex(win.panel.preset_box.findData("answer"))
    win.commands.reset()
    wait_step(qtbot, win, lambda s: s.mode == "batch")
    assert not spin.isEnabled() and "batch" in spin.toolTip()
    win.panel.preset_box.setCurrentIndex(win.panel.preset_box.findData("question-fixed"))
    win.commands.reset()
    wait_step(qtbot, win, lambda s: s.mode == "online")
    assert spin.isEnabled()


def test_f12_saves_into_the_screenshot_folder_and_names_the_full_path(qtbot, win, tmp_path, monkeypatch):
    shots = tmp_path / "my shots"
    monkeypatch.setenv("GML_SCREENSHOT_DIR", str(shots))
    qtbot.keyClick(win.panel.widgets["lag"], Qt.Key_F12)
    saved = list(shots.glob("gml-*.png"))
    assert len(saved) == 1
    assert str(saved[0]) in win.statusBar().currentMessage()


def test_the_screenshot_folder_is_the_pictures_folder_unless_chosen(win, tmp_path, monkeypatch):
    from gui.settings import APP_FOLDER, SCREENSHOT_DIR_KEY

    monkeypatch.delenv("GML_SCREENSHOT_DIR")
    default = win.settings.screenshot_dir()
    assert default.is_absolute() and default.name == APP_FOLDER
    win.settings.store.setValue(SCREENSHOT_DIR_KEY, str(tmp_path / "chosen"))
    assert win.settings.screenshot_dir() == tmp_path / "chosen"
    monkeypatch.setenv("GML_SCREENSHOT_DIR", str(tmp_path / "env"))
    assert win.settings.screenshot_dir() == tmp_path / "env"


def test_seeds_table_names_the_accuracy_and_shows_it_whole(qtbot, win):
    from core.messages import SeedDone, SeedResult

    seeds = win.pages.seeds
    seeds.n = 2
    seeds.link.message.emit(SeedDone(SeedResult(0, True, "heldout_accuracy", 1.0, {}, 2.5, None, 33)))
    seeds.link.message.emit(SeedDone(SeedResult(1, False, "heldout_accuracy", 0.9896, {}, 2.4, None, 33)))
    t = seeds.table
    assert t.horizontalHeaderItem(2).text() == "held-out accuracy"
    assert [t.item(r, 2).text() for r in range(2)] == ["1.000", "0.9896"]
    fm = t.horizontalHeader().fontMetrics()
    assert t.columnWidth(2) >= fm.horizontalAdvance("held-out accuracy")  # the header is not cut
