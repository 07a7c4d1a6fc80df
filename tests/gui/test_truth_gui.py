"""Issue 10 (the views' part) in the window: the verdict and reference lines, the colour-bar label and title
after layer switches, the empty memory probe's words, the scrub marker on the curves, a one-point curve, axes
that forget a diverged run, and one step numbering (status bar, Inspector, markers)."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.analysis.probes import MemoryProbe  # noqa: E402
from core.analysis.verdict import judge  # noqa: E402
from core.config import preset  # noqa: E402
from core.snapshot import SeriesChunk  # noqa: E402
from gui.inspect.analysis import PROBE_EMPTY, HintsView, MemoryProbeView  # noqa: E402
from gui.plots.curves import CurveView  # noqa: E402
from gui.plots.views import LAYERS, HiddenView  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402


def test_colour_bar_label_and_title_name_the_layer_shown(qtbot):
    view = HiddenView()
    qtbot.addWidget(view)
    for key in ("z", "h", "r", "h"):
        view.set_layer(key)
        label = LAYERS[key][0]
        labels = [view.cbar.getAxis(side).labelText for side in ("left", "right", "top", "bottom")]
        assert [t for t in labels if t] == [label]  # one label, the layer's
        assert label in view.plot.titleLabel.text


def test_an_empty_memory_probe_says_nothing_is_decodable(qtbot):
    view = MemoryProbeView()
    qtbot.addWidget(view)
    assert "No probe yet" in view.message()
    k = np.arange(11)
    zero = np.zeros(11)
    n = np.full(11, 100)

    def probe(r2):
        return MemoryProbe(lags=k, accuracy=zero + 0.5, balanced_accuracy=zero + 0.5, r2=r2, base_rate=zero + 0.5,
                           n_train=n, n_test=n, reasons=("",) * 11, reason="")

    view.show_analysis(SimpleNamespace(probe=probe(zero)), lag=1)
    assert view.message() == PROBE_EMPTY and "nothing decodable: no memory of x[t−k] in h[t]" in PROBE_EMPTY
    score = zero.copy()
    score[1] = 0.9
    view.show_analysis(SimpleNamespace(probe=probe(score)), lag=1)
    assert view.message() == ""


def test_bits_legend_wraps_in_a_narrow_view(qtbot):
    from gui.plots.views import BitsView

    view = BitsView()
    qtbot.addWidget(view)
    view.resize(440, 200)  # the bits view of a 1280x720 window: two rows of entries, none cut off ("wro…")
    view.show()
    assert view.legend.columnCount == 2
    view.resize(900, 200)
    assert view.legend.columnCount == 4


def test_hints_show_the_verdict_first_and_hints_by_level(qtbot):
    view = HintsView()
    qtbot.addWidget(view)
    cfg = preset("question")
    verdict = judge(cfg, 0.76, 1000, loss=0.19)
    hints = [SimpleNamespace(code="a", level="info", title="an info", text="i"),
             SimpleNamespace(code="b", level="error", title="an error", text="e")]
    view.show_hints(hints, verdict)
    text = view.text()
    assert text.index("Verdict: stuck at the base rate 0.75") < text.index("an error") < text.index("an info")


def _snap(run_id, values):
    return SimpleNamespace(run_id=run_id, mode="online", batches_per_epoch=0), \
        SeriesChunk(np.asarray(values, np.float32), 1, True)


def test_curve_axes_forget_a_diverged_run_and_one_point_is_drawn(qtbot):
    view = CurveView("Loss", "loss", "loss (raw)", "loss (smoothed)", "val_loss (epoch)", "#1f77b4")
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show_snapshot(*_snap(1, [0.2, 0.3, 2e38]))
    vb = view.getPlotItem().getViewBox()
    vb.updateAutoRange()
    assert vb.viewRange()[1][1] > 1e3  # the diverged run stretched the axis
    view.show_snapshot(*_snap(2, []))  # Reset: a new run, nothing trained yet
    vb.updateAutoRange()
    assert vb.viewRange()[1][1] < 10
    view.show_snapshot(*_snap(2, [0.25]))  # one Step
    x, y = view.smooth.getData()
    assert len(x) == 1 and x[0] == 1.0 and view.smooth.opts["symbol"] == "o"  # step 1, drawn as a dot
    view.show_snapshot(*_snap(2, [0.25, 0.2]))
    assert view.smooth.opts["symbol"] is None


def test_question_window_reference_lines_marker_and_step_numbering(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question"))
    refs = dict(win.acc.references())
    assert refs == {0.75: "base rate 0.75 (always 1)", 0.99: "solved 0.99"}
    (loss_value, loss_label), = win.loss.references()
    assert loss_value == pytest.approx(0.1875) and loss_label == "constant predictor 0.188"
    win.commands.step()  # one step: a one-point curve, drawn
    s = wait_step(qtbot, win, lambda s: s.step == 1)
    assert len(win.loss.smooth.getData()[0]) == 1 and win.loss.smooth.opts["symbol"] == "o"
    ins = win.inspect.inspector
    qtbot.waitUntil(lambda: "step 1</b>" in ins.head.text())  # the status bar's "step 1" is the Inspector's
    win.commands.step(300)
    s = wait_step(qtbot, win, lambda s: s.step >= 301 and not s.running)
    ins.slider.setValue(100)  # scrub: every view marks the same step, the curves included
    t = s.view.t0 + 100
    assert f"step {t + 1:,}</b>" in ins.head.text()
    for view in (win.bits, win.hidden, win.loss, win.acc):
        assert view.marker.isVisible() and view.marker.value() == t + 1
    ins.follow.setChecked(True)
    assert not win.loss.marker.isVisible()
    win.close()


def test_verdict_in_the_hints_tab_when_the_run_reaches_its_steps(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(steps=2500, eval_steps=500))
    win.inspect.show_tab("hints")
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.verdict is not None, timeout=60000)
    assert s.step == 2500 and s.verdict.code == "learned"
    qtbot.waitUntil(lambda: "learned: held-out accuracy 1.000" in win.inspect.hints.text(), timeout=10000)
    assert not {"warning", "error"} & set(win.inspect.hints.levels.values())
    win.close()


def test_smoothing_control_means_a_window_in_steps_and_0_is_off(qtbot):
    from gui.plots.curves import smoothing_window

    assert smoothing_window(0.0, 500) == 0.0
    assert smoothing_window(0.6, 500) == pytest.approx(500)  # the default position: the run's default window
    ws = [smoothing_window(w / 100, 500) for w in range(1, 100)]
    assert ws == sorted(ws) and ws[0] < 20 and ws[-1] > 4000
    view = CurveView("Loss", "loss", "loss (raw)", "loss (smoothed)", "val_loss (epoch)", "#1f77b4")
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    noisy = (rng.random(20000) < 0.25).astype(np.float32)  # an online run's per-step 0/1-like loss
    view.set_smoothing_window(500)
    view.show_snapshot(*_snap(1, noisy))
    tail = view.mirror.smoothed()[2000:]
    assert tail.std() < 0.05  # reads as a line, not a band
    assert "mean over ~500 steps" in [label.text for _s, label in view.legend.items][1]
