"""GUI edge cases: Reset during an open, the inspector's selection across W changes, clamped values, Start
after the end of a batch run."""

import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from core.formatting import step_number  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402


def test_reset_while_a_session_opens_does_not_claim_the_file(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(units=8, lag=3))
    win.commands.step()
    wait_step(qtbot, win, lambda s: s.step == 1)
    path = tmp_path / "s1.gmlab"
    assert win.session_ui.save_session_to(path)
    qtbot.waitUntil(path.exists, timeout=10000)
    win.panel.set_config(preset("question"))
    win.commands.reset()
    wait_step(qtbot, win, lambda s: s.config["model"]["units"] == 16)
    win.session_ui.open_session_from(path)
    win.commands.reset()  # pressed before the open was answered
    qtbot.waitUntil(lambda: any("Reset replaced it" in n for n in win.message.notices), timeout=10000)
    assert win.state.current_path is None and "s1.gmlab" not in win.windowTitle()
    assert win.panel.value("units") == 16 and win.state.applied.model.units == 16
    s = wait_step(qtbot, win, lambda s: s.config["model"]["units"] == 16)
    assert s.step == 0
    win.close()


def test_inspector_keeps_the_selected_step_when_w_changes(qtbot, win):
    win.commands.step(500)
    wait_step(qtbot, win, lambda s: s.step == 500)
    ins = win.inspect.inspector
    for _ in range(30):
        ins.step_by(-1)
    assert ins.selected_t() == 469
    win.toolbar.window_spin.setValue(100)
    wait_step(qtbot, win, lambda s: len(s.view.x) == 100)
    assert ins.selected_t() == 469 and win.bits.marker.value() == step_number(469)  # rows sit at their step number
    win.toolbar.window_spin.setValue(400)
    wait_step(qtbot, win, lambda s: len(s.view.x) == 400)
    assert ins.selected_t() == 469


def test_a_value_the_widget_clamps_shows_as_pending(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(lr=2e-6, p=0.00005))
    assert abs(win.panel.value("lr") - 2e-6) < 1e-12  # enough decimals to show it
    assert "P(x = 1)" in win.panel.pending.text()  # 0.00005 does not fit 4 decimals: said, not silent
    assert win.panel.pending_fields() == ["p"]  # the learning rate fits: not pending
    win.close()


def test_start_after_all_epochs_leaves_the_button_on_start(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch,
                      preset("answer").replace(n_sequences=300, epochs=1, batch_size=128))
    win.commands.start()
    qtbot.waitUntil(lambda: any("finished" in n.lower() for n in win.message.notices), timeout=20000)
    win.commands.start()
    qtbot.waitUntil(lambda: any("epochs are done" in n for n in win.message.notices), timeout=10000)
    # the run state comes from the snapshots (the child's word), the next one after the notice
    qtbot.waitUntil(lambda: not win.state.running, timeout=10000)
    assert not win.state.running and win.toolbar.btn_start.text().endswith("Start")
    win.close()
