"""Gradient fidelity: RTRL against itself is 1, TBPTT(k >= run length) is full BPTT, the shadow changes nothing."""

import math

import numpy as np
import pytest
import torch

from core.config import preset
from core.gru.derivatives import Layout
from core.rules.engines import engine_class
from core.rules.fidelity import FidelityMeter, compare
from core.rules.fidelity_history import FIELDS, GROUPS
from core.train.online import OnlineTrainer
from tests.helpers import bptt_grad

COS = [i for i, f in enumerate(FIELDS) if f.startswith("cos")]
RATIO = [i for i, f in enumerate(FIELDS) if f.startswith("ratio")]


def _cfg(rule, **kw):
    return preset("question-fixed").replace(rule=rule, fidelity=True, **kw)


def _run_frozen(tr, T):
    """T training steps with the weights put back after each (a frozen trajectory): the fidelity rows."""
    e = tr.engine
    theta0 = e.theta.copy()
    rows, xs = [], []
    for _ in range(T):
        rec = tr.step()
        xs.append(rec.x)
        rows.append(e.fidelity.last)
        e.theta[:] = theta0
    return np.array(rows), xs, rec


# -- compare -----------------------------------------------------------------------------------------------------
def test_compare_values():
    lay = Layout(2)
    rng = np.random.default_rng(0)
    g = rng.normal(size=lay.size)
    row = dict(zip(FIELDS, compare(g, g, lay)))
    assert all(row[f"cos_{k}"] == pytest.approx(1, abs=1e-15) and row[f"ratio_{k}"] == 1 for k in GROUPS)
    row = dict(zip(FIELDS, compare(-2 * g, g, lay)))
    assert row["cos_all"] == pytest.approx(-1) and row["ratio_all"] == pytest.approx(2)
    h = g.copy()
    sl = lay.slices
    h[sl["W_hh"]] = 0  # the rule missed the recurrent part entirely
    row = dict(zip(FIELDS, compare(h, g, lay)))
    assert math.isnan(row["cos_recurrent"]) and row["ratio_recurrent"] == 0 and row["cos_input"] == 1
    assert 0 < row["cos_all"] < 1
    z = np.zeros(lay.size)
    row = dict(zip(FIELDS, compare(g, z, lay)))
    assert math.isnan(row["cos_all"]) and row["ratio_all"] == math.inf
    assert all(math.isnan(v) for v in compare(z, z, lay))
    raw = Layout(2, readout=False)  # no readout group: NaN
    row = dict(zip(FIELDS, compare(g[: raw.size], g[: raw.size], raw)))
    assert math.isnan(row["cos_readout"]) and row["cos_biases"] == pytest.approx(1)


def test_compare_batched_rows_equal_single_rows():
    lay = Layout(3)
    rng = np.random.default_rng(1)
    g, gs = rng.normal(size=(5, lay.size)).astype(np.float32), rng.normal(size=(5, lay.size)).astype(np.float32)
    gs[2] = 0
    g[3, lay.slices["W_ih"]] = 0
    batched = compare(g, gs, lay)
    assert batched.shape == (5, len(FIELDS))
    for b in range(5):
        np.testing.assert_allclose(batched[b], compare(g[b], gs[b], lay), rtol=1e-14, atol=0)


# -- the shadow RTRL ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("readout,loss", [("linear", "mse"), ("raw", "bce")])
def test_rtrl_fidelity_to_itself_is_one(readout, loss):
    tr = OnlineTrainer(_cfg("rtrl", lag=3, readout=readout, loss=loss))
    rows = []
    for _ in range(400):
        tr.step()
        rows.append(tr.engine.fidelity.last)
    rows = np.array(rows)
    keep = [i for i, f in enumerate(FIELDS) if not (readout == "raw" and f.endswith("readout"))]
    rows = rows[100:, keep]  # (the first steps' input gradient can be exactly 0: x = 0, nothing carried)
    np.testing.assert_allclose(rows, 1.0, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(tr.engine.fidelity.shadow.S, tr.engine.S)  # the same arithmetic


def test_tbptt_window_covering_the_run_is_full_bptt():
    """Frozen weights, a run of 24 steps and window 32: every step's TBPTT gradient is the exact one (fidelity
    1), and the last equals float64 autograd through the whole sequence. Window 1 on the same run is not."""
    T = 24
    cfg = _cfg("tbptt", window=32, lag=3, optimizer="sgd", seed=3)
    tr, tr1 = OnlineTrainer(cfg), OnlineTrainer(cfg.replace(window=1))
    for t in (tr, tr1):
        with torch.no_grad():  # a long memory, written through the model (shared memory)
            t.model.gru.weight_hh_l0.mul_(4.0)
    weights = [p.detach().clone() for p in tr.model.parameters()]
    rows, xs, last = _run_frozen(tr, T)
    ok = ~np.isnan(rows[:, 0])
    assert ok.sum() >= T - 3  # (NaN only where the input gradient is exactly 0 on both sides)
    np.testing.assert_allclose(rows[:, COS][~np.isnan(rows[:, COS])], 1.0, atol=1e-5, rtol=0)
    np.testing.assert_allclose(rows[:, RATIO][~np.isnan(rows[:, RATIO])], 1.0, atol=1e-4, rtol=0)
    want = np.concatenate([g.ravel() for g in bptt_grad(weights, xs, last.y, "linear", "mse")])
    np.testing.assert_allclose(tr.engine.grad, want, atol=1e-5, rtol=0)
    rows1, xs1, _ = _run_frozen(tr1, T)
    assert xs1 == xs and np.nanmin(rows1[:, 0]) < 0.9  # window 1 points elsewhere


@pytest.mark.parametrize("rule,kw", [("tbptt", {"window": 1}), ("tbptt", {"window": 3}), ("rtrl", {}),
                                     ("uoro", {}), ("snap1", {})])
def test_the_shadow_changes_nothing(rule, kw):
    on, off = OnlineTrainer(_cfg(rule, lag=3, **kw)), OnlineTrainer(_cfg(rule, lag=3, **kw).replace(fidelity=False))
    assert hasattr(on.engine, "fidelity") and not hasattr(off.engine, "fidelity")
    for _ in range(300):
        a, b = on.step(), off.step()
        assert (a.y_hat, a.loss) == (b.y_hat, b.loss) and np.array_equal(a.h, b.h)
    np.testing.assert_array_equal(on.engine.theta, off.engine.theta)
    assert on.evaluate(50) == off.evaluate(50)
    row = on.engine.fidelity.last  # an evaluation step trains nothing: NaN
    assert np.isnan(row).all()


@pytest.mark.parametrize("rule", ["tbptt", "uoro", "snap1"])
def test_every_rule_takes_the_readout_gradient_exactly(rule):
    tr = OnlineTrainer(_cfg(rule, lag=3))
    for _ in range(300):
        tr.step()
    m = tr.engine.fidelity
    np.testing.assert_array_equal(m.last, compare(tr.engine.grad, m.shadow.g, tr.engine.layout))  # its fast path
    rows = m.drain()
    assert rows.shape == (300, len(FIELDS))
    i, j = FIELDS.index("cos_readout"), FIELDS.index("ratio_readout")
    np.testing.assert_allclose(rows[:, [i, j]], 1.0, atol=1e-6)
    assert np.nanmedian(rows[:, FIELDS.index("cos_recurrent")]) < 0.99  # approximate where it matters


def test_snap1_with_one_unit_has_fidelity_one():
    tr = OnlineTrainer(_cfg("snap1", units=1, lag=2))
    for _ in range(300):
        tr.step()
    rows = tr.engine.fidelity.drain()[50:]
    np.testing.assert_allclose(rows[~np.isnan(rows)], 1.0, atol=1e-6)


def test_meter_ring_and_names():
    lay = Layout(2)
    m = FidelityMeter(lay, np.zeros(lay.size, np.float32), "linear", "mse", ring=4)
    assert m.last is None and m.as_dict(None) == {} and m.drain().shape == (0, len(FIELDS))
    g = np.ones(lay.size, np.float32)
    for k in range(6):
        m.before(np.ones(1, np.float32), 1, np.zeros(2, np.float32))
        m.after(g * (k + 1) if k != 2 else None)
    rows = m.drain()
    assert rows.shape == (4, len(FIELDS)) and m.dropped == 2  # the ring keeps the last 4
    assert np.isnan(rows[0]).all() and rows[-1, 1] > rows[1, 1]
    assert set(m.as_dict(m.last)) == set(FIELDS) and m.drain().shape == (0, len(FIELDS))


def test_fidelity_needs_the_fast_engine():
    with pytest.raises(ValueError, match="fast engine"):
        OnlineTrainer(_cfg("tbptt"), engine="autograd")
    assert preset("question-fixed").train.fidelity is False
    assert engine_class("rtrl", True) is engine_class("rtrl", True)
    with pytest.raises(ValueError, match="unknown online rule"):
        engine_class("bptt")


@pytest.mark.parametrize("rule", ["tbptt", "rtrl"])
def test_round_trip_keeps_the_shadow(rule):
    cfg = _cfg(rule, lag=3, window=2)
    a = OnlineTrainer(cfg)
    for _ in range(200):
        a.step()
    tensors, meta = a.state_dict()
    assert tensors["fidelity.S"].shape == (16, 912)
    b = OnlineTrainer(cfg.replace(seed=9))
    b.load_state_dict(tensors, meta)
    for _ in range(100):
        a.step()
        b.step()
        np.testing.assert_array_equal(a.engine.fidelity.last, b.engine.fidelity.last)


# -- the shadow's cheap paths give the same numbers ----------------------------------------------------------------
@pytest.mark.parametrize("rule,kw", [("tbptt", {"window": 1}), ("rtrl", {}), ("uoro", {}), ("snap1", {}),
                                     ("tbptt", {"window": 1, "readout": "raw", "loss": "bce"})])
def test_following_the_rules_forward_equals_recomputing_it(rule, kw):
    """The shadow reads the rule's own cell forward and readout of the step (no recomputation); a twin whose
    shadow is made to recompute them from the carried state records the very same rows and sensitivity."""
    cfg = _cfg(rule, lag=3, **kw)
    fast, slow = OnlineTrainer(cfg), OnlineTrainer(cfg)
    e = slow.engine
    finish = type(e)._finish  # a copy of the state the cell read: the mixin's own forward is not used
    e._finish = lambda train, y, fwd: finish(e, train, y, (fwd[0], fwd[1].copy()) + fwd[2:])
    calls = []
    advance = e.fidelity.shadow.advance
    e.fidelity.shadow.advance = lambda *a: calls.append(1) or advance(*a)
    rows = []
    for _ in range(200):
        fast.step()
        slow.step()
        rows.append((fast.engine.fidelity.last, slow.engine.fidelity.last))
    fast.evaluate(20)
    slow.evaluate(20)
    assert len(calls) == 220  # the twin did recompute, at every step
    for a, b in rows:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.engine.fidelity.shadow.S, slow.engine.fidelity.shadow.S)
    np.testing.assert_array_equal(fast.engine.theta, slow.engine.theta)


def test_drained_rows_are_the_rows_read_step_by_step():
    """The meter keeps each step's Gram sums and makes the rows when read: drain() (many at once) gives exactly
    the rows `.last` gave one step at a time, and compare() of the step's two gradients."""
    tr = OnlineTrainer(_cfg("tbptt", lag=3))
    m = tr.engine.fidelity
    seen = []
    for i in range(300):
        tr.step()
        seen.append(m.last)
        if i == 150:
            np.testing.assert_array_equal(m.last, compare(tr.engine.grad, m.shadow.g, tr.engine.layout))
    tr.evaluate(5)
    rows = m.drain()
    assert rows.shape == (305, len(FIELDS)) and np.isnan(rows[300:]).all()
    np.testing.assert_array_equal(rows[:300], np.array(seen))
    assert not np.isnan(rows[100:300, FIELDS.index("cos_all")]).any()


def test_drained_rows_match_the_single_row_arithmetic_on_edge_cases():
    """Zero vectors (NaN cosine, ratio 0 / inf / NaN), a cosine rounded above 1 (clipped) and the raw readout's
    missing group (NaN): the batched conversion equals the one-row one bit for bit."""
    from core.rules.fidelity import _row, _rows

    rng = np.random.default_rng(0)
    for k in (3, 4):
        g = rng.normal(size=(500, 3, k)) * rng.choice([1e-30, 1e-3, 1.0, 1e20], size=(500, 1, k))
        g[:, 0], g[:, 2] = np.abs(g[:, 0]), np.abs(g[:, 2])
        g[rng.random(g.shape) < 0.05] = 0.0
        g[0] = np.nan
        g[1, 0], g[2, 2], g[3] = 0.0, 0.0, 0.0
        g[4] = [[1.0] * k, [1.0 + 1e-15] * k, [1.0] * k]
        want = np.array([_row(x.tolist()) for x in g])
        np.testing.assert_array_equal(_rows(g), want)
        assert want[4, 0] == 1.0 and np.isnan(want[0]).all()


def test_shadow_coefficients_are_approx_rules_coefficients():
    """The shadow's in-place coefficients (r and z rows in one product) equal the pure function's bit for bit."""
    from core.gru.derivatives import cell_forward
    from core.rules.approximate import coefficients
    from core.rules.fidelity import ShadowRTRL

    lay = Layout(7)
    rng = np.random.default_rng(3)
    theta = rng.normal(size=lay.size).astype(np.float32)
    sh = ShadowRTRL(lay, theta, "linear", "mse")
    for _ in range(20):
        xv, h = rng.random(1).astype(np.float32), rng.normal(size=7).astype(np.float32)
        r, z, n, hn, _ = cell_forward(xv, h, sh.w_ih, sh.w_hh, sh.b_ih, sh.b_hh)
        d_ih, d_hh = coefficients(h, r, z, n, hn)
        np.testing.assert_array_equal(sh._coefficients(h, r, z, n, hn), np.concatenate([d_ih, d_hh]))
        np.testing.assert_array_equal(sh._coefficients(h, r.copy(), z.copy(), n, hn), np.concatenate([d_ih, d_hh]))
