"""The seed-batched engines for the LSTM and the simple RNN: learner s of a batch is the single fast run of seed s
(predictions, losses, final weights, held-out verdict), in float32 end to end against OnlineTrainer and in float64
against the single engine's own step functions (core.rules.lstm_rnn) to rounding."""

import numpy as np
import pytest

from core.config import preset
from core.gru import cell_math
from core.gru.derivatives import FlatAdam, FlatSGD, readout_loss
from core.rules.approximate_cells import CellSnAp1Engine, CellUOROEngine
from core.rules.lstm_rnn import CellRTRLEngine, CellTBPTTEngine, sensitivity_update, window_backward
from core.runs.seeds import seed_outcome
from core.seed_batched.cells import BatchedCellRTRL, BatchedCellTBPTT
from core.seed_batched.learners import BatchedLearners, initial_theta
from core.seed_batched.shape import BATCHED_CELLS, BatchShape, batch_shape
from core.seed_batched.table import NUMPY_CELL_ENGINES, make_batched_engine, make_torch_engine
from core.train.online import OnlineTrainer

# The GRU's tolerance (tests/core/seed_batched/test_batched_engine.py): float32 rounding, amplified a little by
# training, since the batched engine sums in another order (torch's fused Adam, J's per-unit sums).
# The simple RNN at lr 1e-2 can be chaotic: one ulp in the initial weights moves the single engine's own
# predictions by 1.2 within 800 steps (RTRL, lag 1, seed 13), so its batch keeps to rates up to 5e-3, where
# rounding stays rounding (one ulp moves them by at most 6e-6 there); the LSTM's takes the GRU's rates.
RTOL, ATOL = 1e-4, 2e-5
LAGS = (1, 2, 1, 3, 0, 2)
LRS = {"lstm": (1e-2, 1e-3, 3e-3, 1e-2, 1e-3, 5e-3), "rnn": (5e-3, 1e-3, 3e-3, 5e-3, 1e-3, 2e-3)}
UORO_LRS = (3e-3, 1e-3, 3e-3, 2e-3, 1e-3, 3e-3)


def _batch(cell, rule, window, steps, eval_steps, **extra):
    base = preset("question-fixed").replace(cell=cell, rule=rule, window=window, steps=steps, eval_steps=eval_steps,
                                            **extra)
    return [base.replace(seed=10 + i, lag=lag, lr=lr) for i, (lag, lr) in enumerate(zip(LAGS, LRS[cell]))]


def _compare_with_single_runs(cfgs, steps, eval_steps):
    """Run the batch and each config's single fast run; assert learner s equals run s. Returns the verdicts."""
    bl = BatchedLearners(cfgs)
    assert bl.engine.cell == cfgs[0].model.cell and bl.engine.rule == cfgs[0].train.rule
    xs, ys = bl.streams.block(steps)
    theta0 = bl.engine.theta.copy()
    y_hat, loss = bl.engine.step_many(xs, ys, True)
    theta = bl.engine.theta.copy()
    assert (np.abs(theta - theta0).max(axis=1) > 1e-3).all()  # every learner trained: the comparison is of training
    bl.t = steps
    for _ in bl.evaluate():
        pass
    verdicts = []
    for s, cfg in enumerate(cfgs):
        tr = OnlineTrainer(cfg)
        assert isinstance(tr.engine, (CellTBPTTEngine, CellRTRLEngine, CellSnAp1Engine, CellUOROEngine))
        recs = [tr.step() for _ in range(steps)]
        np.testing.assert_array_equal(xs[s], [r.x for r in recs])  # learner s reads seed s's stream
        msg = f"{cfg.model.cell} {cfg.train.rule} learner {s}"
        np.testing.assert_allclose(y_hat[:, s], [r.y_hat for r in recs], rtol=RTOL, atol=ATOL, err_msg=msg)
        np.testing.assert_allclose(loss[:, s], [r.loss for r in recs], rtol=RTOL, atol=ATOL, err_msg=msg)
        np.testing.assert_allclose(theta[s], tr.engine.theta, rtol=RTOL, atol=ATOL, err_msg=msg)
        ev = tr.evaluate(eval_steps)
        assert bl.heldout_acc[s] == ev["accuracy"], msg
        report = {"final": {"heldout_accuracy": ev["accuracy"], "heldout_steps": ev["steps"]}}
        learned = seed_outcome(cfg, report)[0]
        result = bl.results()[s]
        assert result.learned == learned and result.seed == cfg.train.seed
        verdicts.append(learned)
    return verdicts


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule,window", [("tbptt", 1), ("tbptt", 3), ("rtrl", 1), ("snap1", 1), ("uoro", 1)])
def test_learner_s_is_the_single_run_of_seed_s(cell, rule, window):
    """Mixed lags and learning rates in one batch: each learner's predictions and losses at every step and its
    final weights equal the single fast run's (float32, the GRU's tolerance); held-out accuracy and verdict too."""
    cfgs = _batch(cell, rule, window, 800, 300)
    if rule == "uoro":  # the GRU's UORO rates (test_batched_engine.py): UORO amplifies rounding more at 1e-2
        cfgs = [c.replace(lr=lr) for c, lr in zip(cfgs, UORO_LRS)]
    verdicts = _compare_with_single_runs(cfgs, 800, 300)
    assert any(verdicts) or rule == "uoro"  # some learn (UORO at its low rates not within 800 steps)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule,window,readout,loss,opt,decay", [
    ("tbptt", 2, "raw", "mse", "adam", 1.0), ("tbptt", 1, "linear", "bce", "sgd", 1.0),
    ("rtrl", 1, "raw", "bce", "adam", 1.0), ("rtrl", 1, "linear", "mse", "sgd", 0.9),
    ("snap1", 1, "raw", "bce", "sgd", 1.0), ("uoro", 1, "linear", "bce", "sgd", 1.0)])
def test_other_readouts_losses_optimizers_and_decay_match_too(cell, rule, window, readout, loss, opt, decay):
    cfgs = _batch(cell, rule, window, 250, 100, readout=readout, loss=loss, optimizer=opt, rtrl_decay=decay)[:3]
    _compare_with_single_runs(cfgs, 250, 100)


# -- float64: the batched engine against the single engine's step functions, learner by learner -------------------
class _Reference:
    """One learner in float64 by the single engines' own functions (core.rules.lstm_rnn's CellTBPTTEngine.step and
    CellRTRLEngine.step, without their float32 buffers): cell_math.forward, window_backward, sensitivity_update."""

    def __init__(self, shape, theta, lr):
        self.shape, self.lay, self.lr = shape, shape.layout, lr
        self.theta = theta.astype(np.float64).copy()
        self.v = self.lay.views(self.theta)
        self.grad = np.zeros_like(self.theta)
        self.g = self.lay.views(self.grad)
        self.opt = FlatAdam(self.lay.size, np.float64, eps=shape.adam_eps) if shape.optimizer == "adam" \
            else FlatSGD(self.lay.size)
        self.s = np.zeros(self.lay.state_size)
        self.window: list = []
        self.S = np.zeros((self.lay.state_size, self.lay.n_rec))

    def step(self, x, y, train):
        v, g, cell, H = self.v, self.g, self.shape.cell, self.shape.units
        xv = np.array([float(x)])
        if self.shape.rule == "tbptt":
            self.window = (self.window + [(xv, self.s)])[-self.shape.window:]
            s, caches = self.window[0][1], []
            for xi, _ in self.window:
                s, cache = cell_math.forward(cell, xi, s, v["W_ih"], v["W_hh"], v["b"])
                caches.append(cache)
        else:
            s, cache = cell_math.forward(cell, xv, self.s, v["W_ih"], v["W_hh"], v["b"])
            self.S = sensitivity_update(cell, self.S, cache, xv, self.s, v["W_hh"], self.lay, self.shape.decay)
        h = s[:H]
        y_hat, lv, dh, dout = readout_loss(h, y, self.shape.readout, self.shape.loss, v.get("w_out"), v.get("b_out"))
        if train:
            if self.shape.rule == "tbptt":
                ds = np.zeros(len(s))
                ds[:H] = dh
                window_backward(cell, caches, ds, v["W_hh"], g["W_ih"], g["W_hh"], g["b"])
            else:
                self.grad[: self.lay.n_rec] = dh @ self.S[:H]
            if "w_out" in g:
                g["w_out"][0] = h * dout
                g["b_out"][0] = dout
            self.opt.update(self.theta, self.grad, self.lr)
        self.s = s
        return y_hat, lv


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule,window,readout,loss,opt,decay", [
    ("tbptt", 1, "linear", "mse", "adam", 1.0), ("tbptt", 4, "linear", "bce", "sgd", 1.0),
    ("tbptt", 3, "raw", "bce", "adam", 1.0), ("rtrl", 1, "linear", "bce", "adam", 1.0),
    ("rtrl", 1, "raw", "mse", "sgd", 1.0), ("rtrl", 1, "linear", "mse", "adam", 0.8)])
def test_float64_learner_s_is_the_single_engines_math_to_rounding(cell, rule, window, readout, loss, opt, decay):
    """In float64 the batched engine and the single engine's step functions agree to 1e-10 at every step
    (predictions, losses) and in the final weights and (RTRL) sensitivities: the same math, regrouped."""
    units, S, steps = 5, 4, 150
    shape = BatchShape(rule, units, readout, loss, opt, window, decay, cell=cell)
    cfgs = [preset("question-fixed").replace(cell=cell, rule=rule, units=units, readout=readout, seed=s)
            for s in range(S)]
    theta = np.stack([initial_theta(c) for c in cfgs]).astype(np.float64)
    lr = np.array([3e-2, 1e-2, 5e-2, 2e-2])
    eng = {"tbptt": BatchedCellTBPTT, "rtrl": BatchedCellRTRL}[rule](shape, theta, lr, dtype=np.float64)
    refs = [_Reference(shape, theta[s], lr[s]) for s in range(S)]
    rng = np.random.default_rng(3)
    for t in range(steps):
        x, y = rng.integers(0, 2, S), rng.integers(0, 2, S)
        train = t % 10 != 9  # some frozen steps (held-out) in between
        y_hat, lv = eng.step(x, y, train)
        want = np.array([r.step(x[s], y[s], train) for s, r in enumerate(refs)])
        np.testing.assert_allclose(y_hat, want[:, 0], rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
        np.testing.assert_allclose(lv, want[:, 1], rtol=1e-10, atol=1e-12, err_msg=f"step {t}")
    assert eng.theta.dtype == np.float64
    np.testing.assert_allclose(eng.theta, np.stack([r.theta for r in refs]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(eng.s, np.stack([r.s for r in refs]), rtol=1e-10, atol=1e-12)
    if rule == "rtrl":
        np.testing.assert_allclose(eng.sens, np.stack([r.S for r in refs]), rtol=1e-9, atol=1e-12)
    assert np.abs(eng.theta - theta).max() > 1e-3  # the weights moved: the comparison is of training


# -- what runs and what is refused ------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_a_sweep_may_batch_each_cell_under_every_rule(cell):
    assert set(BATCHED_CELLS[cell]) == set(NUMPY_CELL_ENGINES) == {"tbptt", "rtrl", "uoro", "snap1"}
    for rule in BATCHED_CELLS[cell]:
        shape = batch_shape(preset("question-fixed").replace(cell=cell, rule=rule))
        assert shape.cell == cell and shape.layout.cell == cell
        eng = make_batched_engine(shape, np.zeros((2, shape.layout.size), np.float32), 1e-3, seeds=[0, 1])
        assert isinstance(eng, NUMPY_CELL_ENGINES[rule]) and eng.s.shape == (2, shape.layout.state_size)
    a = preset("question-fixed").replace(cell=cell)  # a GRU and another cell never share a batch
    assert batch_shape(a) != batch_shape(a.replace(cell="gru"))


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule", ["uoro", "snap1"])
def test_what_has_no_batched_engine_is_refused_with_one_message(cell, rule):
    """The torch engine runs tbptt and rtrl (uoro and snap1 run on the NumPy engine, as the GRU's); a cell the
    engines do not know is refused by batch_shape, never run as a GRU."""
    shape = BatchShape(rule, 4, "linear", "mse", "adam", cell=cell)
    with pytest.raises(ValueError, match=f"the torch engine runs cell {cell} under rule rtrl and tbptt, not '{rule}'"):
        make_torch_engine(shape, np.zeros((2, shape.layout.size), np.float32), 1e-3, seeds=[0, 1], device="cpu")
    with pytest.raises(ValueError, match="runs cell lstm or rnn, not 'gru'"):
        BatchedCellRTRL(BatchShape("rtrl", 4, "linear", "mse", "adam"), np.zeros((2, 100), np.float32), 1e-3)
    cfg = preset("question-fixed").replace(cell=cell, rule=rule)
    cfg.model.cell = "gru2"  # past validation
    with pytest.raises(ValueError, match=f"seed-batched engines .* run cell gru2 under rule none, not {rule}"):
        batch_shape(cfg)
