"""A window at rest draws nothing (issue 10, defect 5): paused or never started, it asks the trainer for no
snapshots and draws no frames until something changes (a command, the window W); the first seconds say
"starting the trainer…" (defect 6); the status bar tells progress, small losses and the verdict (defects 4, 7, 9).
Frame counts over the worker's own turns, not timed CPU or a fixed wait: the worker can ask for a snapshot only
when it looks at the pipe (`pumps`), so n of its turns with no request is "nothing happened" whatever the load."""

import dataclasses
import math

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QStatusBar  # noqa: E402

from core.analysis.verdict import Verdict  # noqa: E402
from core.config import preset  # noqa: E402
from gui.window.status_line import STARTING, StatusLine  # noqa: E402
from tests.gui_helpers import wait_step  # noqa: E402


def frames_over(qtbot, win, turns: int) -> tuple[int, int]:
    """(frames drawn, snapshots asked for) while the worker looks at the pipe `turns` more times (each turn is a
    moment it could ask; at rest its watchdog wakes it at least every WATCH_MS)."""
    w = win.handle.worker
    f0, r0, p0 = win.presenter.frames, w.requests, w.pumps
    qtbot.waitUntil(lambda: w.pumps >= p0 + turns, timeout=60000)
    return win.presenter.frames - f0, w.requests - r0


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_a_paused_window_draws_nothing_until_something_changes(qtbot, win):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.running and s.step > 300)
    win.commands.pause()
    wait_step(qtbot, win, lambda s: not s.running)
    qtbot.waitUntil(lambda: not win.state.running, timeout=5000)
    frames, asked = frames_over(qtbot, win, 10)
    assert frames <= 2 and asked <= 2, (frames, asked)  # at most the pause's confirmation, then nothing
    frames, asked = frames_over(qtbot, win, 10)
    assert frames == 0 and asked == 0
    step = win.snap.step
    win.toolbar.window_spin.setValue(80)  # a setting the snapshot shows: one fresh frame
    wait_step(qtbot, win, lambda s: len(s.view.x) == 80)
    win.commands.step()  # a command: frames until it is confirmed, then rest again
    wait_step(qtbot, win, lambda s: s.step == step + 1)
    frames_over(qtbot, win, 5)  # the command's second reply, owed (see TrainingWorker._owed)
    frames, asked = frames_over(qtbot, win, 10)
    assert frames == 0 and asked == 0


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_a_window_never_started_rests(qtbot, win):
    frames_over(qtbot, win, 5)  # the first snapshots after launch
    frames, asked = frames_over(qtbot, win, 10)
    assert frames == 0 and asked == 0
    assert win.snap.step == 0 and not win.state.running


def test_the_window_says_it_is_starting_until_the_trainer_is_ready(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    from gui.main_window import MainWindow

    w = MainWindow(preset("question-fixed"), restore=False)
    qtbot.addWidget(w)
    try:
        assert STARTING in w.status.phase.full_text()
        assert "starting the trainer" in w.loss.getPlotItem().titleLabel.text
        w.toolbar.btn_start.click()  # before Ready: queued, and the status bar says so
        assert "queued" in w.status.phase.full_text()
        qtbot.waitUntil(lambda: w.startup.is_ready, timeout=30000)
        assert w.status.phase.full_text() == "" and "starting" not in w.loss.getPlotItem().titleLabel.text
        wait_step(qtbot, w, lambda s: s.running and s.step > 10, timeout=30000)  # the queued Start ran
    finally:
        w.close()


def test_status_bar_progress_significant_digits_and_verdict(qtbot, win):
    win.commands.step()
    s = wait_step(qtbot, win, lambda s: s.step == 1)
    status = StatusLine(QStatusBar())
    tiny = dataclasses.replace(s, loss=3e-5, running=True, steps_per_second=6546.0, step=13_454)
    status.show_device({"device": "cpu"})
    status.show_snapshot(tiny)
    assert status.fields["loss"].text() == "loss 3.00e-05"
    assert status.fields["step"].text() == "step 13,454 / 20,000 · about 1 s left"
    assert not status.progress.isHidden() and status.progress.value() == 672 and status.phase.full_text() == ""
    v = Verdict("learned", 1.0, "heldout_accuracy", 1000, 3e-5, "learned: held-out accuracy 1.000")
    status.show_snapshot(dataclasses.replace(s, step=20_000, verdict=v, running=False))
    assert status.phase.full_text() == "learned: held-out accuracy 1.000"
    assert status.fields["step"].text() == "step 20,000 / 20,000" and status.progress.value() == 1000
    status.show_snapshot(dataclasses.replace(s, loss=math.nan))
    assert status.fields["loss"].text() == "loss –" and status.phase.full_text() == ""
