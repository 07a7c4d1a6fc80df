"""The headless report's gradient-fidelity summary: the median over the run of cos(g, g*) and |g|/|g*| per group."""

import numpy as np
import pytest

from core.config import preset
from core.rules.fidelity_history import FIELDS
from core.runs.headless import FidelitySummary, train


def test_summary_keeps_evenly_spaced_steps_in_bounded_memory():
    fs = FidelitySummary(cap=64)
    rows = np.arange(1000, dtype=np.float64)[:, None] * np.ones(len(FIELDS))
    for r in rows:
        fs.add(r)
    d = fs.to_dict()
    assert d["steps"] == 1000 and d["every"] == 16 and d["sampled"] <= 64
    kept = np.arange(0, 1000, 16)  # steps 0, 16, 32, ...: the whole run, evenly
    np.testing.assert_array_equal(fs.rows[: fs.n, 0], kept)
    assert d["median"]["cos_all"] == np.median(kept)


def test_summary_of_a_short_run_is_exact_and_skips_nan():
    fs = FidelitySummary()
    vals = [0.5, 0.1, 0.9, 0.3]
    for v in vals:
        row = np.full(len(FIELDS), np.nan)
        row[0] = v
        fs.add(row)
    d = fs.to_dict()
    assert d["median"]["cos_all"] == pytest.approx(np.median(vals)) and d["sampled"] == 4
    assert np.isnan(d["median"]["cos_readout"])  # no step had a value


def _run(**kw):
    cfg = preset("question-fixed").replace(steps=600, eval_steps=50, **kw)
    return train(cfg, out=lambda *_: None)


def test_report_gains_fidelity_only_when_asked():
    assert "fidelity" not in _run(rule="tbptt")
    lines = []
    cfg = preset("question-fixed").replace(steps=300, eval_steps=20, rule="rtrl", fidelity=True)
    rep = train(cfg, out=lines.append)
    f = rep["fidelity"]
    assert f["steps"] == 300 and f["sampled"] == 300 and f["every"] == 1
    for g in ("all", "input", "recurrent", "biases", "readout"):  # RTRL is its own exact gradient
        assert f["median"][f"cos_{g}"] == pytest.approx(1.0, abs=1e-5)
        assert f["median"][f"ratio_{g}"] == pytest.approx(1.0, abs=1e-4)
    assert any(line.startswith("fidelity: median cos(g, g*) 1.000") for line in lines)


def test_truncation_on_a_long_lag_is_further_from_the_exact_gradient():
    """Window 1 on lag 3 gets a gradient far from the exact one; SnAp-1 and RTRL are closer."""
    tb = _run(rule="tbptt", window=1, lag=3, fidelity=True)["fidelity"]["median"]["cos_all"]
    snap = _run(rule="snap1", lag=3, fidelity=True)["fidelity"]["median"]["cos_all"]
    assert tb < snap < 1.0
