"""The RTRL coefficients d_ih, d_hh are written out again, for speed, in four engines; each copy equals
core.rules.approximate.coefficients (the original) bit for bit on random inputs."""

import numpy as np
import pytest
import torch

from core.config import preset
from core.gru.derivatives import Layout
from core.rules.approximate import coefficients
from core.rules.fidelity import ShadowRTRL
from core.seed_batched.shape import BatchShape
from core.seed_batched.table import make_batched_engine, make_torch_engine
from core.train.online import OnlineTrainer

F32 = np.float32
H, S = 5, 3


def _inputs(rng, lead=()):
    """h_prev, r, z, n, hn with the ranges a GRU step gives them (float32)."""
    shape = (*lead, H)
    u = lambda lo, hi: rng.uniform(lo, hi, shape).astype(F32)  # noqa: E731
    return u(-1, 1), u(0, 1), u(0, 1), u(-1, 1), u(-3, 3)


@pytest.mark.parametrize("seed", range(5))
def test_rtrl_engine_copy(seed):
    eng = OnlineTrainer(preset("question-fixed").replace(rule="rtrl", units=H)).engine
    args = _inputs(np.random.default_rng(seed))
    np.testing.assert_array_equal(eng._coefficients(*args), np.concatenate(coefficients(*args)))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("halves", [False, True])
def test_shadow_rtrl_copy(seed, halves):
    lay = Layout(H)
    shadow = ShadowRTRL(lay, np.zeros(lay.size, F32), "linear", "mse")
    h, r, z, n, hn = _inputs(np.random.default_rng(seed))
    if halves:  # cell_forward's r and z are the two halves of one array: the shadow's fast path
        rz = np.concatenate([r, z])
        r, z = rz[:H], rz[H:]
    np.testing.assert_array_equal(shadow._coefficients(h, r, z, n, hn), np.concatenate(coefficients(h, r, z, n, hn)))


def _shape():
    return BatchShape("rtrl", H, "linear", "mse", "adam")


@pytest.mark.parametrize("seed", range(5))
def test_batched_rtrl_copy(seed):
    eng = make_batched_engine(_shape(), np.zeros((S, _shape().layout.size), F32), 1e-3)
    args = _inputs(np.random.default_rng(seed), (S,))
    got, want = eng._coefficients(*args), coefficients(*args)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("seed", range(5))
def test_torch_rtrl_copy(seed):
    eng = make_torch_engine(_shape(), np.zeros((S, _shape().layout.size), F32), 1e-3, device="cpu")
    args = _inputs(np.random.default_rng(seed), (S,))
    got, want = eng._coefficients(*(torch.from_numpy(a) for a in args)), coefficients(*args)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w)
