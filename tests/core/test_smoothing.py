"""core.smoothing: a debiased EMA with a window in steps that reads as a line and survives decimation."""

import math

import numpy as np
import pytest

from core.config import preset
from core.history import DecimatingSeries, SeriesMirror
from core.smoothing import Ema, default_window, point_weight, smooth
from core.snapshot import SeriesSender


def window_of_weight(weight: float, stride: int = 1) -> float:
    """The window in steps that a per-point weight means at this stride: point_weight's inverse, as its oracle."""
    return max(1, int(stride)) / -math.log(weight)


def _reference(values, w):
    """TensorBoard's debiased EMA, one point at a time."""
    last, out = 0.0, []
    for i, v in enumerate(values, 1):
        last = last * w + (1 - w) * v
        out.append(last / (1 - w ** i))
    return np.array(out)


@pytest.mark.parametrize("w", [0.0, 0.3, 0.6, 0.9, 0.998, 0.99995])
def test_ema_matches_the_point_by_point_definition_in_any_chunking(w):
    v = np.random.default_rng(0).random(3000)
    ref = _reference(v, w) if w > 0 else v
    np.testing.assert_allclose(Ema(w).extend(v), ref, rtol=1e-5, atol=1e-6)
    e = Ema(w)
    parts = [e.extend(c) for c in np.split(v, [1, 7, 500, 2999])]
    np.testing.assert_allclose(np.concatenate(parts), ref, rtol=1e-5, atol=1e-6)


def test_debiased_at_the_start():
    assert smooth([0.4], 500)[0] == pytest.approx(0.4)  # the first point is itself, not pulled towards 0
    assert np.allclose(smooth(np.full(50, 0.3), 500), 0.3)


def test_window_and_weight():
    assert point_weight(0) == 0.0
    assert point_weight(500, 1) == pytest.approx(math.exp(-1 / 500))
    assert point_weight(500, 16) == pytest.approx(point_weight(500, 1) ** 16)  # the same decay per step
    assert window_of_weight(point_weight(500, 4), 4) == pytest.approx(500)
    assert default_window(preset("question-fixed")) == 500  # 20,000 steps / 40
    assert default_window(preset("question-fixed").replace(steps=100)) == 50
    assert default_window(preset("answer")) == 22  # 50 epochs x 18 minibatches / 40


def test_default_smoothing_of_a_noisy_20k_step_run_reads_as_a_line():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.05, 0.6, 20000)  # an online loss: noise from 0.05 to 0.6 around 0.325
    s = smooth(raw, default_window(preset("question-fixed")))
    settled = s[2000:]
    assert np.max(np.abs(np.diff(settled))) < 0.002  # step to step: a line, not a band
    assert settled.max() - settled.min() < 0.06  # over the whole run: within a few percent of the range
    assert abs(settled.mean() - raw.mean()) < 0.01  # and it tracks the raw mean
    assert np.max(np.abs(np.diff(raw))) > 0.4  # (the raw data is the band)


def test_smoothing_is_the_same_when_the_series_is_decimated():
    rng = np.random.default_rng(2)
    raw = 0.2 * np.exp(-np.arange(20000) / 4000) + rng.uniform(0, 0.1, 20000)  # a falling, noisy loss
    fine, coarse = DecimatingSeries(1 << 16), DecimatingSeries(2048)  # coarse: stride 16 after 20k steps
    mf, mc = SeriesMirror(1 << 16, window_steps=500), SeriesMirror(2048, window_steps=500)
    sf, sc = SeriesSender(fine), SeriesSender(coarse)
    for i, v in enumerate(raw):
        fine.append(v)
        coarse.append(v)
        if i % 997 == 0:  # chunks as the window receives them, resyncs included
            mf.apply(sf.chunk())
            mc.apply(sc.chunk())
    mf.apply(sf.chunk())
    mc.apply(sc.chunk())
    assert mf.stride == 1 and mc.stride == 16
    ends = (np.arange(mc.n) + 1) * mc.stride - 1  # the last step of each coarse point
    keep = ends >= 1000
    np.testing.assert_allclose(mc.smoothed()[keep], mf.smoothed()[ends[keep]], atol=0.004)
    whole = SeriesMirror(2048, window_steps=500)  # chunked == all at once
    whole.apply(type("C", (), {"values": coarse.values(), "stride": coarse.stride, "resync": True})())
    np.testing.assert_allclose(whole.smoothed(), mc.smoothed(), rtol=1e-5)


def test_mirror_switches_between_window_and_weight():
    m = SeriesMirror(64, smoothing=0.6)
    chunk = type("C", (), {"values": np.arange(10, dtype=np.float32), "stride": 4, "resync": True})()
    m.apply(chunk)
    assert m.point_weight == 0.6
    m.set_smoothing_window(40)
    assert m.point_weight == pytest.approx(math.exp(-4 / 40))
    np.testing.assert_allclose(m.smoothed(), smooth(np.arange(10), 40, stride=4), rtol=1e-6)
    m.set_smoothing_window(0)
    np.testing.assert_allclose(m.smoothed(), np.arange(10))  # window 0: the raw values
    m.set_smoothing(0.6)
    assert m.window_steps is None and m.point_weight == 0.6
    x, y = m.envelope(0, m.n, bins=2, smoothed=True)  # the visible span as a min/max envelope
    assert len(x) == len(y) and y.max() <= m.smoothed().max()
