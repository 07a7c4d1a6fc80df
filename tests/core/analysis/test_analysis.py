"""core.analysis.inspection: the portrait, probe and hints the inspection panels show; run labels for compared runs."""

import numpy as np

from core.analysis.inspection import analyze, run_label
from core.config import preset
from core.live.engine import LiveEngine


def test_analyze_synthetic_memory():
    rng = np.random.default_rng(0)
    x = (rng.random(800) < 0.25).astype(int)
    h = np.stack([np.roll(x, 1) * 2 - 1 + 0.05 * rng.standard_normal(800), rng.standard_normal(800)], 1)
    h[0] = 0
    a = analyze(preset("question-fixed"), 5000, x, h, np.full(800, 0.001), np.ones(800))
    assert a.portrait.method == "units" and a.separation > 5  # lag 1 is held: two clusters
    assert a.probe.score[1] > 0.9 and a.probe.score[4] < 0.1


def test_live_engine_snapshot_carries_analysis_and_hints():
    e = LiveEngine(preset("question"))
    e.start()
    while e.steps < 3000:
        e.advance(0.05)
    e.pause()
    a = e.snapshot(200).analysis
    codes = {h.code for h in a.hints}
    assert {"raw-readout", "base-rate"} <= codes
    assert a.portrait is not None and a.portrait.points.shape == (1000, 2)


def test_run_labels_name_what_differed():
    a = preset("question-fixed")
    assert run_label(a.replace(window=4), a) == "window 4"
    assert run_label(preset("question"), a) == "readout raw"
    assert run_label(a, a) == "same config"
    assert "mode batch" in run_label(preset("answer"), a)



def test_analyze_passes_the_verdict_to_the_hints():
    from core.analysis.verdict import judge

    cfg = preset("question")
    x = np.zeros(800, dtype=int)
    h = np.zeros((800, 16))
    losses, correct = np.full(800, 0.19), np.r_[np.ones(600), np.zeros(200)]
    live = analyze(cfg, 5000, x, h, losses, correct)
    assert {"raw-readout", "base-rate"} <= {x.code for x in live.hints}
    ended = analyze(cfg, 5000, x, h, losses, correct, verdict=judge(cfg, 1.0, 1000))
    assert ended.hints == ()  # a run whose verdict says learned gets no warning
