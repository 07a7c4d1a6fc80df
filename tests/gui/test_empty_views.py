"""Every view says what it shows also when it has nothing to show: before the first step the bits, hidden, loss
and accuracy views each say "No steps yet: press Start (Space) or Step (S)"; once a step is drawn they do not."""

from __future__ import annotations

import pytest

from core.config import preset


def test_the_views_say_no_steps_yet_until_a_step_is_drawn(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from gui.plots.empty_note import NO_STEPS
    from tests.gui_helpers import make_window, wait_step

    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(steps=50))
    try:
        notes = [win.bits.empty, win.hidden.empty, win.loss.empty, win.acc.empty]
        wait_step(qtbot, win, lambda s: s.step == 0)
        assert all(n.shown and n.text == NO_STEPS for n in notes)
        win.commands.step(3)
        wait_step(qtbot, win, lambda s: s.step == 3 and not s.running)
        assert not any(n.shown for n in notes)
    finally:
        win.close()
