"""Issue 20, a window laid out for the work: the experiments are pages (not dock tabs), the dock's place is
remembered (a damaged one ignored), the live views keep readable heights at 1280x720, a view's x range follows a
new run, a focused slider keeps its arrow keys, the smoothing legend is true at a small step, the gradient's lines
end at the run's last step, the dock's plots fit the dock and the status line's fields keep apart."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QByteArray, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.config import preset  # noqa: E402
from gui import INSPECT_TABS, PAGES, TAB_NAMES  # noqa: E402
from gui.settings import STATE_KEY, WindowSettings  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402


def test_experiments_are_pages_not_dock_tabs(win):
    assert set(PAGES) == {"live", "seeds", "sweep", "thread"} and set(TAB_NAMES) == set(INSPECT_TABS) | set(PAGES)
    dock_widgets = [win.inspect.widget(i) for i in range(win.inspect.count())]
    for name in ("seeds", "sweep", "thread"):
        page = win.pages.pages[name]
        assert page not in dock_widgets and win.pages.indexOf(page) >= 0
        win.show_tab(name)  # --tab NAME
        assert win.pages.currentWidget() is page and win.pages.bar.currentIndex() == PAGES.index(name)
        assert not win.inspect_dock.isVisible()  # the dock is the live run's
    win.show_tab("probe")  # an Inspect tab: the live run's page, the dock back
    assert win.pages.current() == "live" and win.inspect_dock.isVisible()
    assert win.inspect.currentWidget() is win.inspect.probe


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_the_dock_layout_round_trips_and_a_damaged_one_is_ignored(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    win.removeDockWidget(win.inspect_dock)
    win.addDockWidget(Qt.LeftDockWidgetArea, win.inspect_dock)
    win.inspect_dock.show()
    win.close()
    assert WindowSettings().window_state() is not None
    again = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    assert again.restore_window_state()
    assert again.dockWidgetArea(again.inspect_dock) == Qt.LeftDockWidgetArea
    again.close()
    store = WindowSettings().store
    store.setValue(STATE_KEY, QByteArray(b"\x00not a window layout\xff"))
    store.sync()
    third = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    assert not third.restore_window_state()  # ignored, named, never fatal
    assert any("state" in n for n in third.settings.take_notices())
    assert third.dockWidgetArea(third.inspect_dock) == Qt.RightDockWidgetArea
    third.close()


def test_live_views_keep_readable_heights_at_1280x720(win, qtbot):
    win.resize(1280, 720)
    qtbot.waitUntil(lambda: win.height() <= 720 and win.bits.isVisible())
    QApplication.processEvents()
    heights = {k: v.height() for k, v in win.views.items()}
    assert heights["bits"] >= 112 and heights["hidden"] >= 132, heights
    assert heights["loss"] >= 150 and heights["accuracy"] >= 150, heights
    vb = win.acc.getPlotItem().getViewBox()
    assert vb.height() >= 55, vb.height()  # 0, 0.5 and 1 apart: 12 px labels at least 25 px apart
    labels = {win.acc.references()[0][1], win.acc.references()[1][1]}
    in_legend = {label.text for _s, label in win.acc.legend.items}
    assert labels <= in_legend  # the reference lines are named in the legend, never over the curve
    legend = win.acc.legend
    assert legend.sceneBoundingRect().top() >= vb.sceneBoundingRect().bottom()


def test_x_range_follows_the_run_after_reset(qtbot, win):
    win.commands.start(until=400)
    wait_step(qtbot, win, lambda s: s.step >= 400 and not s.running, timeout=30000)
    vb = win.loss.getPlotItem().getViewBox()
    assert vb.viewRange()[0][1] >= 400
    run = win.snap.run_id
    win.commands.reset()
    wait_step(qtbot, win, lambda s: s.run_id != run)
    assert vb.viewRange()[0][1] < 50  # the new run's range, not the last run's 0-500
    assert win.acc.getPlotItem().getViewBox().viewRange()[0][1] < 50


def test_a_focused_slider_takes_the_arrow_key(win, qtbot):
    steps = []
    win.act_step.triggered.connect(lambda: steps.append(1))
    slider = win.toolbar.smoothing
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    before = slider.value()
    qtbot.keyClick(slider, Qt.Key_Right)
    assert slider.value() == before + slider.singleStep() and steps == []
    win.bits.setFocus()  # elsewhere → still steps the run
    qtbot.waitUntil(win.bits.hasFocus)
    qtbot.keyClick(win.bits, Qt.Key_Right)
    assert steps == [1]


def test_the_smoothing_legend_is_true_at_a_small_step(win, qtbot):
    win.commands.step(42)
    s = wait_step(qtbot, win, lambda s: s.step >= 42 and not s.running)
    assert s.step == 42
    text = win.loss.smoothing_text()
    assert "mean over the last 42 steps" in text
    assert text in {label.text for _s, label in win.loss.legend.items}


def test_gradient_lines_end_at_the_last_step(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(fidelity=True, rule="uoro",
                                                                                   steps=300, eval_steps=200))
    win.show_tab("gradient")
    win.commands.start()  # to the run's end: its held-out steps add fidelity rows past the last step trained
    s = wait_step(qtbot, win, lambda s: s.step >= 300 and not s.running, timeout=60000)
    grad = win.inspect.gradient
    grad.draw(None)
    shown = [c for c in grad.cos_plot.getPlotItem().listDataItems() if c.isVisible()]
    assert shown
    for c in shown:
        x, _y = c.getData()
        assert len(x) and np.nanmax(x) <= s.step
    win.close()


def test_dock_plots_fit_the_dock(win, qtbot):
    from types import SimpleNamespace

    from core.analysis.probes import MemoryProbe

    probe = win.inspect.probe
    win.show_tab("probe")
    k = np.arange(11)
    z = np.zeros(11)
    pr = MemoryProbe(lags=k, accuracy=z + 0.5, balanced_accuracy=z + 0.5, r2=z + 0.5, base_rate=z + 0.5,
                     n_train=10, n_test=10, reasons=("",) * 11, reason="")
    probe.show_analysis(SimpleNamespace(probe=pr), lag=1)
    QApplication.processEvents()
    p = probe.getPlotItem()
    assert p.geometry().width() <= probe.width() + 1  # the plot is no wider than its view: nothing cut off
    x0, x1 = p.getViewBox().viewRange()[0]
    assert x0 <= 0 and x1 >= 10


def test_status_fields_keep_apart(win, qtbot):
    win.resize(1280, 720)
    wait_step(qtbot, win, lambda s: True)
    st = win.status
    st.fields["step"].setText("step 13,454 / 20,000 · about 12 min left")
    QApplication.processEvents()
    labels = [st.fields[k] for k in ("mode", "device", "step", "rate", "loss", "acc")]
    for a, b in zip(labels, labels[1:]):
        assert a.geometry().right() < b.geometry().left(), (a.text(), b.text())
    step = st.fields["step"]
    assert step.fontMetrics().horizontalAdvance(step.text()) <= step.width()
