"""Gradient fidelity in the live engine: the snapshot carries the whole-run series and the window's rows, RTRL
against itself is 1, the table stays bounded with NaN-aware means, and sessions keep the fidelity history."""

import numpy as np

from core.config import preset
from core.live.engine import LiveEngine
from core.live.files import open_into, save
from core.rules.fidelity_history import FIELDS, FidelityMirror, FidelityTable


def _cfg(**kw):
    return preset("question-fixed").replace(fidelity=True, lag=2, **kw)


def test_snapshot_carries_fidelity_series_and_window():
    e = LiveEngine(_cfg(rule="tbptt", window=1))
    e.step(300)
    s = e.snapshot(window=100)
    assert set(s.fidelity_chunks) == set(FIELDS)
    cos = s.fidelity_chunks["cos_all"]
    assert cos.resync and cos.stride == 1 and len(cos.values) == 300
    assert np.all(np.abs(cos.values) <= 1) and np.all(s.fidelity_chunks["ratio_all"].values > 0)
    assert s.fidelity_window.shape == (100, len(FIELDS))
    np.testing.assert_array_equal(s.fidelity_window[-1], e.trainer.engine.fidelity.last.astype(np.float32))
    e.step(5)
    assert len(e.snapshot().fidelity_chunks["cos_all"].values) == 5  # increments after the first
    off = LiveEngine(preset("question-fixed"))
    off.step(3)
    assert off.snapshot().fidelity_chunks is None and off.snapshot().fidelity_window is None


def test_rtrl_with_fidelity_is_one_in_the_live_engine():
    e = LiveEngine(_cfg(rule="rtrl"))
    e.step(200)
    s = e.snapshot()
    np.testing.assert_allclose(s.fidelity_chunks["cos_all"].values, 1.0, atol=1e-5)
    np.testing.assert_allclose(s.fidelity_chunks["ratio_all"].values, 1.0, atol=1e-4)
    np.testing.assert_allclose(s.fidelity_window[:, 0], 1.0, atol=1e-5)


def test_table_decimates_with_nan_aware_means():
    t = FidelityTable(capacity=4)
    rows = np.tile(np.arange(10, dtype=np.float64)[:, None], (1, len(FIELDS)))
    rows[1, 0] = np.nan  # a step that did not train: left out of its point's mean
    t.extend(rows[:3])
    t.extend(rows[3:])
    assert len(t) <= 4 and t.stride == 4 and t.count == 10
    v = t.values()
    np.testing.assert_allclose(v[:, 1], [1.5, 5.5])  # steps 0-3 and 4-7; 8-9 pending
    np.testing.assert_allclose(v[0, 0], (0 + 2 + 3) / 3)
    m = FidelityMirror(capacity=8)
    from core.snapshot import SeriesChunk
    m.apply({f: SeriesChunk(np.array([np.nan, 0.5, np.nan, 1.0], np.float32), 2, True) for f in FIELDS})
    sm = m.smoothed("cos_all", 0)  # no smoothing: NaN carried over after the first finite point
    np.testing.assert_allclose(sm, [np.nan, 0.5, 0.5, 1.0])


def test_session_keeps_the_fidelity_history(tmp_path):
    e = LiveEngine(_cfg(rule="uoro"))
    e.step(150)
    before = e.snapshot().fidelity_chunks["cos_all"].values
    path = tmp_path / "run.gru"
    assert save(e, str(path)).ok
    e2 = LiveEngine(preset("question-fixed"))
    assert open_into(e2, str(path)).ok
    s = e2.snapshot()
    np.testing.assert_array_equal(s.fidelity_chunks["cos_all"].values, before)
    assert np.isfinite(s.fidelity_window[-1]).all()
    e.step(20)
    e2.step(20)  # continues bit for bit, fidelity included
    np.testing.assert_array_equal(e.trainer.engine.fidelity.last, e2.trainer.engine.fidelity.last)
    np.testing.assert_array_equal(e.snapshot().fidelity_chunks["cos_all"].values,
                                  e2.snapshot().fidelity_chunks["cos_all"].values)
