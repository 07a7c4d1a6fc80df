"""The torch seed-batched engine for the LSTM and the simple RNN: learner s equals learner s of the NumPy engine
(hence the single run of seed s, tests/core/seed_batched/test_batched_cells.py), on torch's CPU device here and on
CUDA where a GPU is present."""

import functools

import numpy as np
import pytest
import torch

from core.config import preset
from core.seed_batched.learners import BatchedLearners
from core.seed_batched.shape import BatchShape
from core.seed_batched.table import TORCH_CELL_ENGINES, make_batched_engine, make_torch_engine

# The GRU's torch tolerance (tests/core/seed_batched/test_batched_torch.py): the same float32 arithmetic summed in
# another order (torch's bmm and einsum vs NumPy's), amplified a little by training.
RTOL, ATOL = 1e-4, 1e-5
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]
LAGS = (1, 2, 1, 3, 0, 2)
LRS = {"lstm": (1e-2, 1e-3, 3e-3, 1e-2, 1e-3, 5e-3), "rnn": (5e-3, 1e-3, 3e-3, 5e-3, 1e-3, 2e-3)}  # as there


def _run(cfgs, steps, factory=None):
    bl = BatchedLearners(cfgs, **({} if factory is None else {"engine_factory": factory}))
    xs, ys = bl.streams.block(steps)
    y_hat, loss = bl.engine.step_many(xs, ys, True)
    theta = bl.engine.theta_numpy if hasattr(bl.engine, "theta_numpy") else bl.engine.theta.copy()
    for _ in bl.evaluate():
        pass
    return bl, y_hat, loss, theta


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule,window,readout,loss,opt,decay", [
    ("tbptt", 1, "linear", "mse", "adam", 1.0), ("tbptt", 3, "raw", "bce", "sgd", 1.0),
    ("rtrl", 1, "linear", "mse", "adam", 1.0), ("rtrl", 1, "linear", "bce", "sgd", 0.9)])
def test_learner_s_equals_the_numpy_engines_learner_s(device, cell, rule, window, readout, loss, opt, decay):
    """Mixed lags and rates: predictions and losses at every step, final weights and held-out accuracy."""
    steps = 500
    base = preset("question-fixed").replace(cell=cell, rule=rule, window=window, readout=readout, loss=loss,
                                            optimizer=opt, rtrl_decay=decay, steps=steps, eval_steps=200)
    cfgs = [base.replace(seed=10 + i, lag=lag, lr=lr) for i, (lag, lr) in enumerate(zip(LAGS, LRS[cell]))]
    ref, ref_y, ref_loss, ref_theta = _run(cfgs, steps)
    bl, y_hat, lv, theta = _run(cfgs, steps, functools.partial(make_torch_engine, device=device))
    assert isinstance(bl.engine, TORCH_CELL_ENGINES[rule]) and bl.engine.device.type == device
    np.testing.assert_allclose(y_hat, ref_y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(lv, ref_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(theta, ref_theta, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(bl.heldout_acc, ref.heldout_acc)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_rtrl_sensitivity_and_state_match_the_numpy_engine(device, cell):
    """The LSTM's sensitivity holds dh/dtheta and dc/dtheta: both, and the carried [h, c], as the NumPy engine's."""
    shape = BatchShape("rtrl", 4, "linear", "mse", "adam", cell=cell)
    rng = np.random.default_rng(1)
    theta = (rng.standard_normal((3, shape.layout.size)) * 0.4).astype(np.float32)
    ref = make_batched_engine(shape, theta, [1e-2, 1e-3, 3e-3])
    eng = make_torch_engine(shape, theta, [1e-2, 1e-3, 3e-3], device=device)
    for _ in range(20):
        x, y = rng.integers(0, 2, 3), rng.integers(0, 2, 3)
        ref.step(x, y)
        eng.step(x, y)
    assert eng.sens.shape == (3, shape.layout.state_size, shape.layout.n_rec)
    np.testing.assert_allclose(eng.sens, ref.sens, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(eng.s.cpu().numpy(), ref.s, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(eng.theta_numpy, ref.theta, rtol=1e-4, atol=1e-6)
