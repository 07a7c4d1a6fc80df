"""Gradient fidelity: how close an online rule's gradient g is to the exact online gradient g*, step by step.

A shadow exact RTRL (decay 1) runs on the rule's own trajectory: each step it reads the carried state and the
weights *before* the rule updates them, carries its own sensitivity S* = dh/dtheta forward and gives
g* = dL/dh S* (+ the readout's direct gradient), the gradient RTRL would take at this step of this run. It
updates nothing. `compare(g, g*)` gives cos(g, g*) and |g|/|g*| for the whole vector and per parameter group
(`GROUPS`: input W_ih, recurrent W_hh, biases b_ih and b_hh, readout w_out and b_out), one row of `FIELDS`.
cos = 1 and ratio = 1 mean the rule took the exact gradient; cos near 0 means it points elsewhere.

`train.fidelity = true` builds the engine with the shadow (`engine_class`); its `engine.fidelity` is a
`FidelityMeter`: `.last` is this step's row (NaN on steps that did not train, and where a norm is 0), `.drain()`
the rows since the last drain (a bounded ring), `.as_dict(row)` names them. The cost is one RTRL step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch

from .approx_rules import FAST_ENGINES, coefficients, jacobian_h
from .fidelity_history import FIELDS
from .gru_math import Layout, cell_forward, diagonal_views, readout_loss
from .online_engines import sensitivity_step
from .state_checks import StateError, StateReader

F32 = np.float32
RING = 65536


@functools.lru_cache(maxsize=64)
def group_bounds(layout: Layout) -> np.ndarray:
    """Start offsets of input, recurrent, biases (and readout) in the flat vector; the groups are contiguous."""
    sl = layout.slices
    starts = [sl["W_ih"].start, sl["W_hh"].start, sl["b_ih"].start]
    if layout.readout:
        starts.append(sl["w_out"].start)
    out = np.array(starts, np.intp)
    out.setflags(write=False)
    return out


def compare(g, g_star, layout: Layout) -> np.ndarray:
    """(..., len(FIELDS)) float64: cos(g, g*) and |g|/|g*| for the whole vector and each group; g, g* (..., size).

    A cosine with a zero vector is NaN, a ratio over |g*| = 0 is NaN (0/0) or inf; groups the layout lacks (the
    readout under readout=raw) are NaN."""
    X = np.stack([np.asarray(g, np.float64), np.asarray(g_star, np.float64)], axis=-2)  # (..., 2, size)
    gram = np.add.reduceat(X[..., :, None, :] * X[..., None, :, :], group_bounds(layout), axis=-1)
    if gram.ndim == 3:  # one run: plain floats are several times faster than numpy on ten numbers
        return _row(gram.tolist())
    sums = np.stack([gram[..., 0, 1, :], gram[..., 0, 0, :], gram[..., 1, 1, :]], axis=-2)  # g.g*, g.g, g*.g*
    sums = np.concatenate([sums.sum(axis=-1, keepdims=True), sums], axis=-1)  # the whole vector first
    dot, na, nb = sums[..., 0, :], np.sqrt(sums[..., 1, :]), np.sqrt(sums[..., 2, :])
    den = na * nb
    cos = np.divide(dot, den, out=np.full(dot.shape, np.nan), where=den > 0)
    np.clip(cos, -1.0, 1.0, out=cos)
    ratio = np.divide(na, nb, out=np.where(na > 0, np.inf, np.nan), where=nb > 0)
    out = np.full(X.shape[:-2] + (len(FIELDS),), np.nan)
    k = cos.shape[-1]
    out[..., 0:2 * k:2] = cos
    out[..., 1:2 * k:2] = ratio
    return out


def _row(gram: list) -> np.ndarray:
    """compare()'s arithmetic for one run on floats (the same IEEE operations, so the same values), from the
    per-group Gram sums gram[i][j][group] of (g, g*)."""
    (aas, dots), (_, bbs) = gram
    out = [math.nan] * len(FIELDS)
    for k, (d, x, y) in enumerate(zip([sum(dots)] + dots, [sum(aas)] + aas, [sum(bbs)] + bbs)):
        na, nb = math.sqrt(x), math.sqrt(y)
        if na > 0 and nb > 0:
            out[2 * k] = min(max(d / (na * nb), -1.0), 1.0)
        out[2 * k + 1] = na / nb if nb > 0 else (math.inf if na > 0 else math.nan)
    return np.array(out)


class ShadowRTRL:
    """Exact RTRL on someone else's trajectory: `advance` reads the state and the shared weights `theta`, carries
    S* forward and returns g*. The same arithmetic as RTRLEngine, so an RTRL run's fidelity is exactly 1."""

    def __init__(self, layout: Layout, theta: np.ndarray, readout: str, loss: str):
        H, P = layout.units, layout.n_rec
        self.layout, self.readout, self.loss = layout, readout, loss
        v = layout.views(theta)
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = v["W_ih"], v["W_hh"], v["b_ih"], v["b_hh"]
        self.w_out, self.b_out = v.get("w_out"), v.get("b_out")
        self._wh3 = self.w_hh.reshape(3, H, H)
        self.S = np.zeros((H, P), F32)
        self._S2 = np.zeros((H, P), F32)
        self._diag = diagonal_views(self.S, layout)
        self._diag2 = diagonal_views(self._S2, layout)
        self._J = np.empty((H, H), F32)
        self.g = np.zeros(layout.size, F32)

    def advance(self, xv: np.ndarray, y: int, h_prev: np.ndarray) -> np.ndarray:
        r, z, n, hn, h = cell_forward(xv, h_prev, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        d_ih, d_hh = coefficients(h_prev, r, z, n, hn)
        J = jacobian_h(z, d_hh, self._wh3, out=self._J)
        S_new = sensitivity_step(J, self.S, self._S2, self._diag2, d_ih, d_hh, xv, h_prev)
        self._S2, self.S = self.S, S_new
        self._diag2, self._diag = self._diag, self._diag2
        _, _, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        P = self.layout.n_rec
        np.matmul(dh, S_new, out=self.g[:P])
        if self.w_out is not None:
            np.multiply(h, dout, out=self.g[P:P + self.layout.units])
            self.g[-1] = dout
        return self.g


class FidelityMeter:
    """The shadow RTRL and the rows it measured: `.last` (this step's row, or None before any step), `.drain()`."""

    def __init__(self, layout: Layout, theta: np.ndarray, readout: str, loss: str, ring: int = RING):
        self.layout = layout
        self.shadow = ShadowRTRL(layout, theta, readout, loss)
        self.last: np.ndarray | None = None
        self._ring = np.full((ring, len(FIELDS)), np.nan)
        self._written = 0
        self._read = 0
        self.dropped = 0
        self._nan = np.full(len(FIELDS), np.nan)
        self._X = np.empty((2, layout.size))
        self._Y = np.empty((2, 2, layout.size))
        self._bounds = group_bounds(layout)

    def before(self, xv: np.ndarray, y: int, h_prev: np.ndarray) -> None:
        """Advance the shadow with the state and weights the rule is about to use (before its update)."""
        self.shadow.advance(xv, y, h_prev)

    def after(self, g: np.ndarray | None) -> np.ndarray:
        """Compare the rule's gradient of this step (None: the step did not train) with g*; record the row."""
        if g is None:
            row = self._nan.copy()
        else:  # compare() for one run, in preallocated buffers
            X, Y = self._X, self._Y
            X[0] = g
            X[1] = self.shadow.g
            np.multiply(X[:, None, :], X[None, :, :], out=Y)
            row = _row(np.add.reduceat(Y, self._bounds, axis=-1).tolist())
        self._ring[self._written % len(self._ring)] = row
        self._written += 1
        self.last = row
        return row

    def drain(self) -> np.ndarray:
        """The rows recorded since the last drain, oldest first, (n, len(FIELDS)); at most the ring's length
        (older ones are dropped) and `dropped` counts them."""
        cap = len(self._ring)
        start = max(self._read, self._written - cap)
        self.dropped = start - self._read
        idx = np.arange(start, self._written) % cap
        self._read = self._written
        return self._ring[idx].copy()

    @staticmethod
    def as_dict(row: np.ndarray | None) -> dict[str, float]:
        return {} if row is None else {k: float(v) for k, v in zip(FIELDS, row)}


class FidelityMixin:
    """Put before a fast engine class (`engine_class`): each step advances the shadow RTRL first, with the state
    and weights the rule is about to use, then compares the rule's gradient buffer `grad` with g*. The shadow's
    sensitivity is part of the position (tensor `fidelity.S`)."""

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.fidelity = FidelityMeter(self.layout, self.theta, self.readout, self.loss)

    def step(self, x: int, y: int, train: bool):
        self.fidelity.before(self._xv[x], y, self.h)
        out = super().step(x, y, train)
        self.fidelity.after(self.grad if train else None)
        return out

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["fidelity.S"] = torch.from_numpy(self.fidelity.shadow.S.copy())
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """The rule's part, then the shadow's sensitivity (zero when the position was saved without it)."""
        install_rule = super().take_state(r)
        shadow = self.fidelity.shadow
        S = r.tensor("fidelity.S", shadow.S.shape).detach().cpu().numpy() if r.has("fidelity.S") else None
        if S is not None and not np.isfinite(S).all():
            raise StateError("truncated or corrupt (fidelity.S holds NaN or infinity)")

        def install() -> None:
            install_rule()
            shadow.S[:] = 0 if S is None else S
        return install


@functools.cache
def engine_class(rule: str, fidelity: bool = False) -> type:
    """The fast engine class for a rule (tbptt, rtrl, uoro, snap1), with the shadow RTRL when `fidelity`."""
    if rule not in FAST_ENGINES:
        raise ValueError(f"unknown online rule {rule!r}; choose {', '.join(FAST_ENGINES)}")
    base = FAST_ENGINES[rule]
    if not fidelity:
        return base
    return type(f"{base.__name__}WithFidelity", (FidelityMixin, base), {"__doc__": base.__doc__})
