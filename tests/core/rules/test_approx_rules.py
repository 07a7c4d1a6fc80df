"""UORO and SnAp-1: SnAp-1 is RTRL with one unit and masked RTRL otherwise; UORO is unbiased; both round-trip."""

import numpy as np
import pytest
import torch

from core.config import ConfigError, preset
from core.gru.derivatives import Layout, cell_forward, param_jacobians, readout_loss, state_jacobian
from core.rules import approximate as A
from core.sessions.gmlab import open_session, save_session
from core.train.online import OnlineTrainer


def _cfg(rule, **kw):
    return preset("question-fixed").replace(rule=rule, **kw)


def _dense(pj: dict, layout: Layout) -> np.ndarray:
    """gru_math.param_jacobians' blocks as one dense (H, n_rec) matrix in the flat layout."""
    H = layout.units
    return np.concatenate([pj[k].reshape(H, -1) for k in ("W_ih", "W_hh", "b_ih", "b_hh")], axis=1)


def _frozen(cfg, T, scale=3.0):
    """A trainer whose recurrent weights are scaled (a longer memory) and the T inputs/targets of its stream."""
    tr = OnlineTrainer(cfg)
    with torch.no_grad():
        tr.model.gru.weight_hh_l0.mul_(scale)
    xy = [tr.stream.next() for _ in range(T)]
    return tr, [x for x, _ in xy], [y for _, y in xy]


def _rtrl64(engine, xs, ys):
    """Exact RTRL in float64 from the dense Jacobians of core.gru.derivatives: the cell gradient of the last step's loss
    and the dense sensitivity after each step, weights held fixed, from h0 = 0."""
    lay, H = engine.layout, engine.H
    w = {k: v.astype(np.float64) for k, v in lay.views(engine.theta).items()}
    h, S, Ss = np.zeros(H), np.zeros((H, lay.n_rec)), []
    for x in xs:
        xv = np.array([float(x)])
        r, z, n, hn, h_new = cell_forward(xv, h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
        d_ih, d_hh = (a.reshape(-1) for a in A.coefficients(h, r, z, n, hn))
        S = state_jacobian(z, d_hh, w["W_hh"]) @ S + _dense(param_jacobians(xv, h, d_ih, d_hh), lay)
        Ss.append(S)
        h = h_new
    _, _, dh, _ = readout_loss(h, ys[-1], engine.readout, engine.loss, w.get("w_out"), w.get("b_out"))
    return dh @ S, Ss


# -- the shared math ---------------------------------------------------------------------------------------------
def test_immediate_is_the_one_step_jacobian_on_each_parameters_own_unit():
    lay = Layout(4, 1, True)
    rng = np.random.default_rng(0)
    h, x = rng.normal(size=4), np.array([1.0])
    r, z, n, hn = (rng.uniform(0.1, 0.9, 4) for _ in range(4))
    d_ih, d_hh = A.coefficients(h, r, z, n, hn)
    M = _dense(param_jacobians(x, h, d_ih.reshape(-1), d_hh.reshape(-1)), lay)
    own = A.owner_index(lay)
    m = np.zeros(lay.n_rec)
    A.immediate(x, h, d_ih, d_hh, A.split(m, lay))
    cols = np.arange(lay.n_rec)
    np.testing.assert_array_equal(m, M[own, cols])
    mask = np.zeros_like(M, bool)
    mask[own, cols] = True
    assert not M[~mask].any()  # nothing outside each parameter's own unit
    nu = np.array([1.0, -1.0, -1.0, 1.0])  # UORO's nu^T M: the same with the coefficients scaled by nu
    A.immediate(x, h, d_ih * nu, d_hh * nu, A.split(m, lay))
    np.testing.assert_allclose(m, nu @ M, rtol=0, atol=1e-15)
    w_hh = rng.normal(size=(12, 4))  # and diag(J) without forming J
    np.testing.assert_allclose(A.state_jacobian_diag(z, d_hh, np.einsum("gii->gi", w_hh.reshape(3, 4, 4))),
                               np.diag(state_jacobian(z, d_hh.reshape(-1), w_hh)), rtol=1e-14)


def test_pure_functions_take_a_leading_batch_dimension():
    """A batched engine can run B runs at once through the same functions: each row equals the single run."""
    lay, H = Layout(3), 3
    rng = np.random.default_rng(1)
    B = 4
    h, z, r, n, hn = rng.normal(size=(B, H)), *(rng.uniform(0.1, 0.9, (B, H)) for _ in range(4))
    w3, x = rng.normal(size=(3, H, H)), np.ones((B, 1))
    d_ih, d_hh = A.coefficients(h, r, z, n, hn)
    J = A.batched_state_jacobian(z, d_hh, w3)
    m = np.zeros((B, lay.n_rec))
    A.immediate(x, h, d_ih, d_hh, A.split(m, lay))
    s, th, nu = rng.normal(size=(B, H)), rng.normal(size=(B, lay.n_rec)), np.sign(rng.normal(size=(B, H)))
    s2, th2 = A.uoro_update(s, th, J, nu, m)
    own = A.owner_index(lay)
    sn = A.snap1_update(th.copy(), A.state_jacobian_diag(z, d_hh, np.einsum("gii->gi", w3)), m, own)
    for b in range(B):
        db_ih, db_hh = A.coefficients(h[b], r[b], z[b], n[b], hn[b])
        Jb = A.batched_state_jacobian(z[b], db_hh, w3)
        np.testing.assert_allclose(J[b], Jb, rtol=1e-14)
        mb = np.zeros(lay.n_rec)
        A.immediate(x[b], h[b], db_ih, db_hh, A.split(mb, lay))
        np.testing.assert_allclose(m[b], mb, rtol=1e-14)
        sb, thb = A.uoro_update(s[b], th[b], Jb, nu[b], mb)
        np.testing.assert_allclose(s2[b], sb, rtol=1e-12)
        np.testing.assert_allclose(th2[b], thb, rtol=1e-12)
        np.testing.assert_allclose(sn[b], A.snap1_update(th[b].copy(), np.diag(Jb), mb, own), rtol=1e-12)


# -- SnAp-1 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("readout,loss,opt", [("linear", "mse", "adam"), ("raw", "bce", "sgd")])
def test_snap1_with_one_unit_is_rtrl_exactly(readout, loss, opt):
    cfg = _cfg("rtrl", units=1, lag=2, lr=1e-2, readout=readout, loss=loss, optimizer=opt)
    a, b = OnlineTrainer(cfg), OnlineTrainer(cfg.replace(rule="snap1"))
    for _ in range(500):
        ra, rb = a.step(), b.step()
        assert (ra.y_hat, ra.loss) == (rb.y_hat, rb.loss) and np.array_equal(ra.h, rb.h)
    np.testing.assert_array_equal(a.engine.S[0], b.engine.s)
    np.testing.assert_array_equal(a.engine.theta, b.engine.theta)
    assert a.evaluate(50) == b.evaluate(50)


def test_snap1_is_rtrl_kept_on_each_parameters_own_unit():
    """Against a dense float64 reference: S <- mask * (J S + M); SnAp-1 holds S[owner(p), p]."""
    T = 25
    tr, xs, ys = _frozen(_cfg("snap1", units=4, lag=3, seed=2), T)
    e, lay = tr.engine, tr.engine.layout
    w = {k: v.astype(np.float64) for k, v in lay.views(e.theta).items()}
    own, cols = A.owner_index(lay), np.arange(lay.n_rec)
    mask = np.zeros((4, lay.n_rec), bool)
    mask[own, cols] = True
    h, S = np.zeros(4), np.zeros((4, lay.n_rec))
    for t, (x, y) in enumerate(zip(xs, ys)):
        xv = np.array([float(x)])
        r, z, n, hn, h_new = cell_forward(xv, h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
        d_ih, d_hh = (a.reshape(-1) for a in A.coefficients(h, r, z, n, hn))
        S = mask * (state_jacobian(z, d_hh, w["W_hh"]) @ S + _dense(param_jacobians(xv, h, d_ih, d_hh), lay))
        h = h_new
        e.lr = 1e-3
        e.step(x, y, t == T - 1)  # weights fixed until the last step, which trains
        np.testing.assert_allclose(e.s, S[own, cols], rtol=0, atol=1e-5)
    np.testing.assert_allclose(e.h, h, atol=1e-6)
    _, Ss = _rtrl64(e, xs, ys)
    assert np.abs(Ss[-1][~mask]).max() > 1e-3  # with 4 units RTRL has entries SnAp-1 drops
    _, _, dh, _ = readout_loss(h, ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
    np.testing.assert_allclose(e.grad[: lay.n_rec], dh[own] * S[own, cols], rtol=0, atol=1e-5)


# -- UORO --------------------------------------------------------------------------------------------------------
def test_uoro_is_unbiased_on_a_frozen_trajectory_many_sign_streams():
    """40,000 independent sign streams through the pure functions (float64), weights and inputs fixed: the mean
    estimate lies within 3 standard errors of exact RTRL's gradient in every coordinate, while window-1 TBPTT's
    gradient (a biased rule) is far outside in some."""
    T, N = 12, 40_000
    tr, xs, ys = _frozen(_cfg("uoro", units=3, lag=2, seed=4), T)
    e, lay, H = tr.engine, tr.engine.layout, 3
    g_exact, _ = _rtrl64(e, xs, ys)
    w = {k: v.astype(np.float64) for k, v in lay.views(e.theta).items()}
    rng = np.random.default_rng(123)
    s, th, m = np.zeros((N, H)), np.zeros((N, lay.n_rec)), np.zeros((N, lay.n_rec))
    blocks, h = A.split(m, lay), np.zeros(H)
    for x in xs:
        xv = np.array([float(x)])
        r, z, n, hn, h_new = cell_forward(xv, h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
        d_ih, d_hh = A.coefficients(h, r, z, n, hn)
        J = A.batched_state_jacobian(z, d_hh, w["W_hh"].reshape(3, H, H))
        nu = rng.choice([-1.0, 1.0], size=(N, H))
        A.immediate(xv, h, d_ih * nu[:, None, :], d_hh * nu[:, None, :], blocks)
        s, th = A.uoro_update(s, th, J, nu, m)
        h = h_new
    _, _, dh, _ = readout_loss(h, ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
    g = A.uoro_grad(s, th, dh)
    mean, se = g.mean(axis=0), g.std(axis=0, ddof=1) / np.sqrt(N)
    assert (se > 0).all() and (g.std(axis=0) > 0.1 * np.abs(g_exact)).any()  # a noisy estimate, not a copy
    z_exact = np.abs(mean - g_exact) / se
    assert z_exact.max() < 3.0, f"max z = {z_exact.max():.2f}"
    # TBPTT(1): the immediate term only, dL/dh M
    h_prev, r, z, n, hn = _last_cell(w, xs)
    d_ih, d_hh = A.coefficients(h_prev, r, z, n, hn)
    m1 = np.zeros(lay.n_rec)
    A.immediate(np.array([float(xs[-1])]), h_prev, d_ih * dh, d_hh * dh, A.split(m1, lay))
    assert (np.abs(mean - m1) / se).max() > 10


def _last_cell(w, xs):
    h = np.zeros(w["W_hh"].shape[1])
    for x in xs[:-1]:
        h = cell_forward(np.array([float(x)]), h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])[-1]
    r, z, n, hn, _ = cell_forward(np.array([float(xs[-1])]), h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
    return h, r, z, n, hn


def test_uoro_engine_is_unbiased_on_a_frozen_trajectory():
    """The float32 engine itself, 3,000 sign streams (its generator reseeded): mean within 3 SE of RTRL's.
    (A fixed draw; with 30 coordinates a 3-SE band is crossed by chance now and then: 1,500 streams gave a max
    of 3.1 SE on one coordinate, 3,000 give 2.0 and 12,000 give 1.5, so that was noise, not bias.)"""
    T, N = 10, 3000
    tr, xs, ys = _frozen(_cfg("uoro", units=2, lag=2, seed=5), T)
    e = tr.engine
    g_exact, _ = _rtrl64(e, xs, ys)
    theta0, P = e.theta.copy(), e.layout.n_rec
    gs = np.empty((N, e.layout.size))
    for k in range(N):
        e.h[:], e.s_t[:], e.th_t[:] = 0, 0, 0
        e.rng = np.random.default_rng([k, 99])
        for x, y in zip(xs[:-1], ys[:-1]):
            e.step(x, y, False)
        e.step(xs[-1], ys[-1], True)
        gs[k] = e.grad
        e.theta[:] = theta0  # weights held fixed
    mean, se = gs[:, :P].mean(axis=0), gs[:, :P].std(axis=0, ddof=1) / np.sqrt(N)
    assert (se > 0).all()
    assert (np.abs(mean - g_exact) / se).max() < 3.0
    assert np.ptp(gs[:, P:], axis=0).max() == 0  # the readout's gradient is exact: no noise


def test_uoro_signs_follow_the_seed():
    a, b, c = (OnlineTrainer(_cfg("uoro", lag=2)) for _ in range(3))
    c.engine.rng = np.random.default_rng(5)  # the same weights and inputs, other signs
    for _ in range(100):
        ra, rb, _ = a.step(), b.step(), c.step()
        assert ra.loss == rb.loss
    assert np.array_equal(a.engine.th_t, b.engine.th_t) and not np.array_equal(a.engine.s_t, c.engine.s_t)
    signs = a.engine.signs()
    assert signs.dtype == np.float32 and set(np.abs(signs)) == {1.0}


# -- positions and sessions -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["uoro", "snap1"])
@pytest.mark.parametrize("fidelity", [False, True])
def test_state_round_trip_continues_bit_for_bit(rule, fidelity):
    cfg = _cfg(rule, lag=3, fidelity=fidelity)
    a = OnlineTrainer(cfg)
    for _ in range(300):
        a.step()
    tensors, meta = a.state_dict()
    b = OnlineTrainer(cfg.replace(seed=77))  # other weights, other signs: everything must come from the state
    b.load_state_dict(tensors, meta)
    assert a.sensitivity_norms() == b.sensitivity_norms() and a.sensitivity_norms()
    for _ in range(200):
        ra, rb = a.step(), b.step()
        assert (ra.loss, ra.y_hat) == (rb.loss, rb.y_hat)
        if fidelity:
            np.testing.assert_array_equal(a.engine.fidelity.last, b.engine.fidelity.last)
    np.testing.assert_array_equal(a.engine.theta, b.engine.theta)
    assert a.evaluate(30) == b.evaluate(30)


@pytest.mark.parametrize("rule", ["uoro", "snap1"])
def test_session_file_round_trip(tmp_path, rule):
    tr = OnlineTrainer(_cfg(rule, lag=2, fidelity=(rule == "uoro")))
    for _ in range(120):
        tr.step()
    path = tmp_path / f"{rule}.gmlab"
    save_session(path, tr)
    s = open_session(path)
    assert s.config == tr.cfg
    assert [tr.step().loss for _ in range(200)] == [s.trainer.step().loss for _ in range(200)]


def test_bad_states_are_refused_with_a_message():
    tr = OnlineTrainer(_cfg("uoro"))
    tensors, meta = tr.state_dict()
    with pytest.raises(ValueError, match="uoro.theta"):
        tr.load_state_dict({**tensors, "uoro.theta": torch.zeros(3)}, meta)
    for bad in ("nonsense", {**meta["uoro_rng"], "state": {"state": 1.5, "inc": 1}},
                {**meta["uoro_rng"], "has_uint32": 5}, {**meta["uoro_rng"], "bit_generator": "MT19937"}):
        with pytest.raises(ValueError, match="generator"):
            tr.load_state_dict(tensors, {**meta, "uoro_rng": bad})
    sn = OnlineTrainer(_cfg("snap1"))
    t2, m2 = sn.state_dict()
    with pytest.raises(ValueError, match="NaN"):
        sn.load_state_dict({**t2, "snap1.s": torch.full_like(t2["snap1.s"], float("nan"))}, m2)
    t2.pop("snap1.s")
    with pytest.raises(ValueError, match="snap1.s"):  # a position without the rule's sensitivity is refused
        sn.load_state_dict(t2, m2)


def test_config_and_engines():
    for rule in ("uoro", "snap1"):
        assert _cfg(rule).train.rule == rule
        with pytest.raises(ValueError, match="tbptt only"):
            OnlineTrainer(_cfg(rule), engine="autograd")
    with pytest.raises(ConfigError):
        _cfg("snap2")
    assert type(OnlineTrainer(_cfg("uoro")).engine) is A.UOROEngine
    assert type(OnlineTrainer(_cfg("snap1")).engine) is A.SnAp1Engine
