"""Issue 13 in the window: the Gradient tab draws the fidelity (cos in [-1, 1]), the Inspector shows this step's
cos, the view says when fidelity is off, and uoro / snap1 runs start from the rule list and produce snapshots."""

import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from gui.inspect.gradient import OFF_TEXT  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402


def test_gradient_view_draws_cos_and_inspector_shows_this_step(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(fidelity=True, lag=3))
    grad = win.inspect.gradient
    win.inspect.show_tab("gradient")
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 600)
    win.commands.pause()
    s = wait_step(qtbot, win, lambda s: not s.running)
    assert s.fidelity_chunks is not None and s.fidelity_window.shape == (len(s.view.x), 10)
    qtbot.waitUntil(lambda: len(grad.drawn_cos) > 100, timeout=10000)
    cos = grad.drawn_cos[np.isfinite(grad.drawn_cos)]
    assert len(cos) > 100 and cos.min() >= -1 and cos.max() <= 1
    assert grad.cos_plot.isVisible() and "TBPTT(k=1)" in grad.head.text()
    assert grad.markers[0].isVisible() and grad.markers[0].value() == s.step - 0.5  # following: the newest step
    grad.group.setCurrentText("every group")  # thin lines, one per group (the readout included: linear readout)
    shown = [c for c in grad.cos_plot.getPlotItem().listDataItems() if c.isVisible()]
    assert len(shown) == 5 and all(np.nanmax(np.abs(c.yData)) <= 1 for c in shown)
    win.inspect.show_tab("inspector")
    ins = win.inspect.inspector
    ins.slider.setValue(20)
    c = float(s.fidelity_window[20, 0])
    assert math.isfinite(c) and f"cos(g, g*) = <b>{c:.3f}</b>" in ins.head.text()
    win.close()


def test_gradient_view_says_when_fidelity_is_off(qtbot, win):
    win.inspect.show_tab("gradient")
    win.commands.step()
    s = wait_step(qtbot, win, lambda s: s.step >= 1)
    assert s.fidelity_chunks is None
    qtbot.waitUntil(lambda: win.inspect.gradient.head.text() == OFF_TEXT, timeout=5000)
    assert not win.inspect.gradient.cos_plot.isVisible()
    assert "cos(g" not in win.inspect.inspector.head.text()


def test_approximate_rules_from_the_rule_list_run(qtbot, win):
    box = win.panel.widgets["rule"]
    for rule in ("uoro", "snap1"):
        assert box.findText(rule) >= 0 or box.findData(rule) >= 0  # offered by the config metadata
        win.panel.set_value("rule", rule)
        win.commands.reset()
        win.commands.start()
        s = wait_step(qtbot, win, lambda s, rule=rule: s.step > 200 and s.config["train"]["rule"] == rule)
        assert math.isfinite(s.loss) and len(s.view.x) > 0
        win.commands.pause()


def test_gradient_view_in_batch_mode_says_online_only(qtbot):
    from types import SimpleNamespace

    from gui.inspect.gradient import BATCH_TEXT, EMPTY_TEXT, GradientView

    view = GradientView()
    qtbot.addWidget(view)
    assert view.state_text() == EMPTY_TEXT
    view.take(SimpleNamespace(run_id=1, mode="batch", running=False, config=preset("answer").to_dict(),
                              fidelity_chunks=None, fidelity_window=None))
    view.draw(None)
    assert view.head.text() == BATCH_TEXT and not view.cos_plot.isVisibleTo(view)
