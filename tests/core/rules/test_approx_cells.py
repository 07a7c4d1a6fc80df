"""UORO and SnAp-1 for the LSTM and the simple RNN (core/rules/approximate_cells.py), against their definitions:
SnAp-1 is RTRL kept on each parameter's own unit's rows of the state (h, and the LSTM's c) and RTRL itself with
one unit; UORO's estimate is unbiased for RTRL's gradient and its engine steps as the definition says."""

import numpy as np
import pytest
import torch

from core.config import preset
from core.gru import cell_math
from core.gru.cells import OneBiasModel
from core.gru.derivatives import readout_loss
from core.rules import approximate_cells as AC
from core.rules.approximate import uoro_grad, uoro_update
from core.rules.lstm_rnn import CellRTRLEngine, sensitivity_update
from core.sessions.gmlab import open_session, save_session
from core.train.online import OnlineTrainer

CELLS = ["lstm", "rnn"]


def _engine(cls, cell, units, seed=0, scale=2.0, **kw):
    """An engine of `cls` for a question-fixed config of `cell` with its recurrent weights scaled (a longer memory)."""
    cfg = preset("question-fixed").replace(cell=cell, rule="rtrl", units=units, seed=seed, **kw)
    cfg.train.rule = cls.rule  # the engine is built directly; the catalogue says which cells a rule offers
    e = cls(OneBiasModel(cfg.model), cfg)
    e.w_hh *= scale
    return e


def _w64(e):
    return {k: v.astype(np.float64) for k, v in e.layout.views(e.theta).items()}


def _stream(T, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, T), rng.integers(0, 2, T)


def _exact(e, xs, ys):
    """Exact RTRL in float64 (core.rules.lstm_rnn's step): the cell gradient of the last loss and the last S."""
    w, lay = _w64(e), e.layout
    s, S = np.zeros(lay.state_size), np.zeros((lay.state_size, lay.n_rec))
    for x in xs:
        xv = np.array([float(x)])
        s_new, cache = cell_math.forward(e.cell, xv, s, w["W_ih"], w["W_hh"], w["b"])
        S = sensitivity_update(e.cell, S, cache, xv, s, w["W_hh"], lay)
        s = s_new
    _, _, dh, _ = readout_loss(s[:e.H], ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
    return dh @ S[:e.H], S, s


@pytest.mark.parametrize("cell", CELLS)
def test_snap1_is_rtrl_kept_on_each_parameters_own_rows(cell):
    """Against a dense float64 reference, S <- mask * (J S + M) with mask = each parameter's own unit's rows (h_u;
    the LSTM's h_u and c_u): the engine holds S on the mask at every step, and its gradient is dL/dh S there."""
    T, H = 20, 4
    e = _engine(AC.CellSnAp1Engine, cell, H, seed=2)
    xs, ys = _stream(T)
    w, lay = _w64(e), e.layout
    owner, _ = AC.own_rows(lay)
    R, cols = lay.state_size // H, np.arange(lay.n_rec)
    idx = np.arange(R)[:, None] * H + owner
    mask = np.zeros((lay.state_size, lay.n_rec), bool)
    mask[idx, cols] = True
    s, S = np.zeros(lay.state_size), np.zeros((lay.state_size, lay.n_rec))
    for t, (x, y) in enumerate(zip(xs, ys)):
        xv = np.array([float(x)])
        s_new, cache = cell_math.forward(cell, xv, s, w["W_ih"], w["W_hh"], w["b"])
        C, Dm = cell_math.coefficients(cell, cache)
        S = mask * (cell_math.state_jacobian(C, Dm, w["W_hh"]) @ S + cell_math.param_jacobian(C, xv, s[:H], lay))
        s = s_new
        e.step(int(x), int(y), t == T - 1)  # weights fixed until the last step, which trains
        np.testing.assert_allclose(e.sp, S[idx, cols], rtol=0, atol=1e-5, err_msg=f"step {t}")
    np.testing.assert_allclose(e.s, s, atol=1e-6)
    _, _, dh, _ = readout_loss(s[:H], ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
    np.testing.assert_allclose(e.grad[: lay.n_rec], dh @ S[:H], rtol=0, atol=1e-5)
    _, S_exact, _ = _exact(e, xs, ys)
    assert np.abs(S_exact[~mask]).max() > 1e-3  # with 4 units RTRL has entries SnAp-1 drops


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("readout,loss,opt", [("linear", "mse", "adam"), ("raw", "bce", "sgd")])
def test_snap1_with_one_unit_is_rtrl(cell, readout, loss, opt):
    """One unit: its own rows are the whole state, nothing is dropped; SnAp-1 trains as RTRL (float32 rounding:
    the two sum J S in another order)."""
    kw = {"readout": readout, "loss": loss, "optimizer": opt, "lr": 1e-2, "lag": 2}
    a, b = _engine(CellRTRLEngine, cell, 1, **kw), _engine(AC.CellSnAp1Engine, cell, 1, **kw)
    b.theta[:] = a.theta  # the same initial weights (the model shares this memory)
    xs, ys = _stream(400, seed=5)
    for x, y in zip(xs, ys):
        ra, rb = a.step(int(x), int(y), True), b.step(int(x), int(y), True)
        np.testing.assert_allclose(rb[:2], ra[:2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.sp, a.S, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-4, atol=1e-6)
    assert np.abs(a.S).max() > 1e-2


@pytest.mark.parametrize("cell", CELLS)
def test_uoro_is_unbiased_on_a_frozen_trajectory_many_sign_streams(cell):
    """20,000 independent sign streams (len(s) signs a step: the LSTM's nu spans h and c) through the engine's
    own functions in float64, weights fixed: the mean estimate lies within 3.5 standard errors of exact RTRL's
    gradient in every coordinate, while dropping c's signs (nu over h only) is far outside for the LSTM."""
    T, N, H = 10, 20_000, 2
    e = _engine(AC.CellUOROEngine, cell, H, seed=4)
    xs, ys = _stream(T, seed=7)
    g_exact, _, _ = _exact(e, xs, ys)
    w, lay = _w64(e), e.layout
    owner, row = AC.own_rows(lay)
    D = lay.state_size
    idx = np.arange(D // H)[:, None] * H + owner
    rng = np.random.default_rng(123)

    def mean_and_se(nu_rows):
        st, th, s = np.zeros((N, D)), np.zeros((N, lay.n_rec)), np.zeros(D)
        for x in xs:
            xv = np.array([float(x)])
            s_new, cache = cell_math.forward(cell, xv, s, w["W_ih"], w["W_hh"], w["b"])
            C, Dm = cell_math.coefficients(cell, cache)
            J = cell_math.state_jacobian(C, Dm, w["W_hh"])
            m = AC.own_immediate(C, xv, s[:H], owner, row, lay)
            nu = rng.choice([-1.0, 1.0], size=(N, D)) * nu_rows
            nu_m = np.einsum("nap,ap->np", nu[:, idx], m)
            st, th = uoro_update(st, th, J, nu, nu_m)
            s = s_new
        _, _, dh, _ = readout_loss(s[:H], ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
        g = uoro_grad(st[:, :H], th, dh)
        return g.mean(axis=0), g.std(axis=0, ddof=1) / np.sqrt(N)

    mean, se = mean_and_se(np.ones(D))
    assert (se > 0).all()
    z = np.abs(mean - g_exact) / se
    assert z.max() < 3.5, f"max z = {z.max():.2f}"
    if cell == "lstm":
        mean_h, se_h = mean_and_se(np.r_[np.ones(H), np.zeros(H)])
        assert (np.abs(mean_h - g_exact) / np.maximum(se_h, 1e-12)).max() > 10


@pytest.mark.parametrize("cell", CELLS)
def test_uoro_engine_steps_as_its_definition(cell):
    """The float32 engine against the definition in float64 with the same signs: s~, theta~ and the gradient."""
    T, H = 30, 3
    e = _engine(AC.CellUOROEngine, cell, H, seed=9)
    ref_rng = np.random.default_rng([9, AC.UOROEngine.RNG_SALT])
    xs, ys = _stream(T, seed=3)
    w, lay = _w64(e), e.layout
    D = lay.state_size
    st, th, s = np.zeros(D), np.zeros(lay.n_rec), np.zeros(D)
    for t, (x, y) in enumerate(zip(xs, ys)):
        xv = np.array([float(x)])
        s_new, cache = cell_math.forward(cell, xv, s, w["W_ih"], w["W_hh"], w["b"])
        C, Dm = cell_math.coefficients(cell, cache)
        M = cell_math.param_jacobian(C, xv, s[:H], lay)
        nu = np.copysign(1.0, ref_rng.random(D, dtype=np.float32) - np.float32(0.5)).astype(np.float64)
        st, th = uoro_update(st, th, cell_math.state_jacobian(C, Dm, w["W_hh"]), nu, nu @ M)
        s = s_new
        e.step(int(x), int(y), t == T - 1)
        np.testing.assert_allclose(e.s_t, st, rtol=1e-4, atol=1e-5, err_msg=f"step {t}")
        np.testing.assert_allclose(e.th_t, th, rtol=1e-4, atol=1e-5, err_msg=f"step {t}")
    _, _, dh, _ = readout_loss(s[:H], ys[-1], e.readout, e.loss, w["w_out"], w["b_out"])
    np.testing.assert_allclose(e.grad[: lay.n_rec], (dh @ st[:H]) * th, rtol=1e-4, atol=1e-5)


# -- in the trainer: the config offers them for every cell, and a position continues exactly ---------------------
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("rule", ["uoro", "snap1"])
def test_state_round_trip_continues_bit_for_bit(tmp_path, cell, rule):
    """The trainer runs the cell's engine; its position (h, the LSTM's c, the estimate, UORO's generator) saved in
    a session file and opened continues exactly, and another seed's weights or signs never leak in."""
    cfg = preset("question-fixed").replace(cell=cell, rule=rule, lag=2, units=4)
    a = OnlineTrainer(cfg)
    assert type(a.engine) is {"uoro": AC.CellUOROEngine, "snap1": AC.CellSnAp1Engine}[rule]
    for _ in range(150):
        a.step()
    tensors, meta = a.state_dict()
    b = OnlineTrainer(cfg.replace(seed=77))
    b.load_state_dict(tensors, meta)
    assert a.sensitivity_norms() == b.sensitivity_norms() and a.sensitivity_norms()
    save_session(tmp_path / "s.gmlab", a)
    c = open_session(tmp_path / "s.gmlab").trainer
    for _ in range(100):
        ra, rb, rc = a.step(), b.step(), c.step()
        assert (ra.loss, ra.y_hat) == (rb.loss, rb.y_hat) == (rc.loss, rc.y_hat)
    np.testing.assert_array_equal(a.engine.theta, b.engine.theta)
    np.testing.assert_array_equal(a.engine.s, c.engine.s)
    key = "snap1.s" if rule == "snap1" else "uoro.theta"
    with pytest.raises(ValueError, match="NaN"):
        b.load_state_dict({**tensors, key: torch.full_like(tensors[key], float("nan"))}, meta)


# -- gradient fidelity, as the GRU's (tests/core/rules/test_fidelity.py), against a float64 shadow RTRL -------------
def _fidelity_run(cls, cell, units, steps=200, **kw):
    """Train `cls` on its own trajectory while a float64 shadow RTRL follows the same states and weights (those
    before each update): per step, the rule's gradient g and the exact g* (cell part and readout part)."""
    e = _engine(cls, cell, units, scale=1.0, lr=1e-2, **kw)
    lay, H, P = e.layout, e.H, e.layout.n_rec
    S = np.zeros((lay.state_size, P))
    xs, ys = _stream(steps, seed=11)
    out = []
    for x, y in zip(xs, ys):
        w, s_prev, xv = _w64(e), e.s.astype(np.float64), np.array([float(x)])
        s, cache = cell_math.forward(cell, xv, s_prev, w["W_ih"], w["W_hh"], w["b"])
        S = sensitivity_update(cell, S, cache, xv, s_prev, w["W_hh"], lay)
        _, _, dh, dout = readout_loss(s[:H], y, e.readout, e.loss, w.get("w_out"), w.get("b_out"))
        g_star = np.concatenate([dh @ S[:H], s[:H] * dout, [dout]] if "w_out" in w else [dh @ S[:H]])
        e.step(int(x), int(y), True)
        out.append((e.grad.astype(np.float64).copy(), g_star))
    return out, P


def _cos(a, b):
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("cls", [AC.CellSnAp1Engine, AC.CellUOROEngine])
def test_every_rule_takes_the_readout_gradient_exactly(cell, cls):
    rows, P = _fidelity_run(cls, cell, 3)
    for g, g_star in rows:
        np.testing.assert_allclose(g[P:], g_star[P:], rtol=1e-5, atol=1e-6)
    cos = [_cos(g[:P], g_star[:P]) for g, g_star in rows[20:]]
    assert min(cos) < 0.999  # with 3 units neither rule takes RTRL's cell gradient


@pytest.mark.parametrize("cell", CELLS)
def test_snap1_with_one_unit_has_fidelity_one(cell):
    """cos(g, g*) = 1 and |g|/|g*| = 1 at every step, on SnAp-1's own (training) trajectory (g = g* = 0 where the
    state and input are still 0: the meter's NaN)."""
    rows, P = _fidelity_run(AC.CellSnAp1Engine, cell, 1)
    for t, (g, g_star) in enumerate(rows):
        if not g_star[:P].any():
            assert not g[:P].any(), t
            continue
        assert _cos(g[:P], g_star[:P]) > 1 - 1e-5, t
        assert abs(np.linalg.norm(g[:P]) / np.linalg.norm(g_star[:P]) - 1) < 1e-4, t
