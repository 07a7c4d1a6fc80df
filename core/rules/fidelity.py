"""Gradient fidelity: how close an online rule's gradient g is to the exact online gradient g*, step by step.

A shadow exact RTRL (decay 1) runs on the rule's own trajectory: each step it reads the carried state and the
weights *before* the rule updates them, carries its own sensitivity S* = dh/dtheta forward and gives
g* = dL/dh S* (+ the readout's direct gradient), the gradient RTRL would take at this step of this run. It
updates nothing. `compare(g, g*)` gives cos(g, g*) and |g|/|g*| for the whole vector and per parameter group
(`GROUPS`: input W_ih, recurrent W_hh, biases b_ih and b_hh, readout w_out and b_out), one row of `FIELDS`.
cos = 1 and ratio = 1 mean the rule took the exact gradient; cos near 0 means it points elsewhere.

`train.fidelity = true` builds the rule's engine with the shadow (`FidelityMixin` put before the engine class, by
core.rules.engines.engine_class); its `engine.fidelity` is a `FidelityMeter`: `.last` is this step's row (NaN on
steps that did not train, and where a norm is 0), `.drain()` the rows since the last drain (a bounded ring),
`.as_dict(row)` names them.

Cost: less than one RTRL step (bench/online.py's "TBPTT(1) + fidelity" row and its target line). The shadow
does only RTRL's own work: it takes the rule's cell forward and readout of the step through the engines'
`_finish` hook instead of recomputing them, shares the one RTRL step (core.rules.tbptt_rtrl.sensitivity_step),
and per step records just the Gram sums that cos and ratio are made from when the rows are read.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch

from core.gru.derivatives import Layout, cell_forward, readout_loss
from core.rules.fidelity_history import FIELDS
from core.rules.flat import _FlatEngine
from core.rules.tbptt_rtrl import sensitivity_step, sensitivity_views
from core.state_checks import StateError, StateReader

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
    if X.ndim == 2:  # one run: the meter's own path (plain floats are several times faster than numpy here)
        return _row(_gram(X[0], X[1], np.empty((4, X.shape[-1])), np.empty((3, X.shape[-1])), group_bounds(layout)))
    gram = np.add.reduceat(X[..., :, None, :] * X[..., None, :, :], group_bounds(layout), axis=-1)
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


def _gram(g: np.ndarray, g_star: np.ndarray, W: np.ndarray, Y: np.ndarray, bounds: np.ndarray, out=None):
    """Per-group sums [g.g, g.g*, g*.g*] (3, groups) of two (size,) vectors in float64 (the products of float32
    numbers are exact), through the scratch W (4, size) = [g, g, g*, g*] and Y (3, size): one product of W's
    overlapping rows and one segmented sum; into `out` if given, else as lists."""
    W[0:2] = g
    W[2:4] = g_star
    np.multiply(W[:3], W[1:], out=Y)
    if out is not None:
        return np.add.reduceat(Y, bounds, axis=-1, out=out)
    return np.add.reduceat(Y, bounds, axis=-1).tolist()


def _rows(grams: np.ndarray) -> np.ndarray:
    """`_row` for many steps at once, (n, 3, groups) -> (n, len(FIELDS)): the same IEEE operations in the same
    order (the whole vector's sums added group by group from the left, as Python's sum), so the same values."""
    n, _, k = grams.shape
    s = np.empty((n, 3, k + 1))
    s[:, :, 1:] = grams
    s[:, :, 0] = grams[:, :, 0]
    for j in range(1, k):
        s[:, :, 0] += grams[:, :, j]
    aas, dots, bbs = s[:, 0], s[:, 1], s[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        na, nb = np.sqrt(aas), np.sqrt(bbs)
        both = (na > 0) & (nb > 0)
        cos = np.divide(dots, na * nb, out=np.full(dots.shape, np.nan), where=both)
        np.minimum(np.maximum(cos, -1.0, out=cos, where=both), 1.0, out=cos, where=both)
        ratio = np.divide(na, nb, out=np.where(na > 0, np.inf, np.nan), where=nb > 0)
    out = np.full((n, len(FIELDS)), np.nan)
    out[:, 0:2 * (k + 1):2] = cos
    out[:, 1:2 * (k + 1):2] = ratio
    return out


def _row(gram: list) -> np.ndarray:
    """compare()'s arithmetic for one run on floats (the same IEEE operations, so the same values), from the
    per-group sums [g.g, g.g*, g*.g*] of `_gram`; groups the layout lacks stay NaN."""
    aas, dots, bbs = gram
    out: list[float] = []
    sqrt, nan = math.sqrt, math.nan
    for d, x, y in zip([sum(dots), *dots], [sum(aas), *aas], [sum(bbs), *bbs]):
        na, nb = sqrt(x), sqrt(y)
        if nb > 0:
            out += (min(max(d / (na * nb), -1.0), 1.0) if na > 0 else nan), na / nb
        else:
            out += nan, (math.inf if na > 0 else nan)
    if len(out) < len(FIELDS):
        out += [nan] * (len(FIELDS) - len(out))
    return np.array(out)


class ShadowRTRL:
    """Exact RTRL on someone else's trajectory: it reads the state and the shared weights `theta`, carries S*
    forward and returns g*. The same arithmetic as RTRLEngine, so an RTRL run's fidelity is exactly 1.

    `follow(...)` takes the rule's own cell forward and readout of this step (the same weights and state, so the
    same numbers) and adds only RTRL's own work: the coefficients, J, one `sensitivity_step` and dL/dh S*.
    `advance(xv, y, h_prev)` computes the forward and readout itself first."""

    def __init__(self, layout: Layout, theta: np.ndarray, readout: str, loss: str):
        H, P = layout.units, layout.n_rec
        self.layout, self.readout, self.loss = layout, readout, loss
        v = layout.views(theta)
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = v["W_ih"], v["W_hh"], v["b_ih"], v["b_hh"]
        self.w_out, self.b_out = v.get("w_out"), v.get("b_out")
        self._wh3 = self.w_hh.reshape(3, H, H)
        self.S = np.zeros((H, P), F32)
        self._S2 = np.zeros((H, P), F32)
        self._diag = sensitivity_views(self.S, layout)
        self._diag2 = sensitivity_views(self._S2, layout)
        self._J = np.empty((H, H), F32)
        self._J_diag = self._J.reshape(-1)[:: H + 1]  # a view
        self._d = d = np.empty((6, H), F32)  # the coefficients d_ih, d_hh
        e = d.itemsize
        self._d_rz = np.lib.stride_tricks.as_strided(d, (2, 2, H), (3 * H * e, H * e, e), writeable=True)  # rows r, z
        self._om, self._a, self._t = np.empty((2, H), F32), np.empty((2, H), F32), np.empty(H, F32)  # scratch
        self._om1, self._a1 = self._om.reshape(-1), self._a.reshape(-1)  # the same, flat
        self.g = np.zeros(layout.size, F32)
        self._g_cell = self.g[:P]
        self._g_wout = self.g[P:P + H] if self.w_out is not None else None

    def advance(self, xv: np.ndarray, y: int, h_prev: np.ndarray) -> np.ndarray:
        r, z, n, hn, h = cell_forward(xv, h_prev, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        _, _, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        return self.follow(xv, h_prev, r, z, n, hn, h, dh, dout)

    def follow(self, xv, h_prev, r, z, n, hn, h, dh, dout) -> np.ndarray:
        """One step from this step's cell forward (r, z, n, hn, h from h_prev) and readout (dL/dh, dL/dout)."""
        d = self._coefficients(h_prev, r, z, n, hn)
        J = np.einsum("gi,gij->ij", d[3:], self._wh3, out=self._J)  # approximate.batched_state_jacobian for one run
        self._J_diag += z
        S_new = sensitivity_step(J, self.S, self._S2, self._diag2, d, xv, h_prev)
        self._S2, self.S = self.S, S_new
        self._diag2, self._diag = self._diag, self._diag2
        np.matmul(dh, S_new, out=self._g_cell)
        if self._g_wout is not None:
            np.multiply(h, dout, out=self._g_wout)
            self.g[-1] = dout
        return self.g

    def _coefficients(self, h_prev, r, z, n, hn) -> np.ndarray:
        """A copy of core.rules.approximate.coefficients for one run, kept for speed: d_ih then d_hh in one (6, H),
        the same operations on the same numbers (so the same values), in preallocated buffers, the r and z rows
        side by side in one operation. tests/core/rules/test_coefficient_copies.py holds it to the original."""
        d, om, a, t = self._d, self._om, self._a, self._t
        rz = r.base  # cell_forward's r and z are the two halves of one array
        if rz is None or z.base is not rz or rz.shape != self._om1.shape:
            rz = np.concatenate([r, z])
        np.subtract(1, rz, out=self._om1)  # 1 - r, 1 - z
        np.multiply(n, n, out=t)
        np.subtract(1, t, out=t)
        dan = np.multiply(om[1], t, out=d[2])  # (1 - z)(1 - n^2)
        np.multiply(dan, hn, out=a[0])
        np.subtract(h_prev, n, out=a[1])
        self._a1 *= rz
        np.multiply(a, om, out=self._d_rz)  # dan hn r (1 - r), (h - n) z (1 - z), into d_ih's and d_hh's rows
        np.multiply(dan, r, out=d[5])
        return d


class FidelityMeter:
    """The shadow RTRL and the rows it measured: `.last` (this step's row, or None before any step), `.drain()`.

    Each step records only the per-group sums g.g, g.g*, g*.g* (the Gram sums, 3 x groups numbers, NaN on a step
    that did not train) in a bounded ring; a row's cos and ratio are made from them when read (`.last` for one
    step, `.drain()` for many at once, both with `_row`'s arithmetic, so the same values as `compare`)."""

    def __init__(self, layout: Layout, theta: np.ndarray, readout: str, loss: str, ring: int = RING):
        self.layout = layout
        self.shadow = ShadowRTRL(layout, theta, readout, loss)
        self._bounds = group_bounds(layout)
        self._ring = np.full((ring, 3, len(self._bounds)), np.nan)  # each step's Gram sums
        self._written = 0
        self._read = 0
        self.dropped = 0
        self._W, self._Y = np.empty((4, layout.size)), np.empty((3, layout.size))  # scratch
        self._last: np.ndarray | None = None
        self._last_at = 0

    @property
    def last(self) -> np.ndarray | None:
        """This step's row (len(FIELDS),), or None before any step."""
        if self._written == 0:
            return None
        if self._last_at != self._written:
            self._last = _row(self._ring[(self._written - 1) % len(self._ring)].tolist())
            self._last_at = self._written
        return self._last

    def before(self, xv: np.ndarray, y: int, h_prev: np.ndarray) -> None:
        """Advance the shadow with the state and weights the rule is about to use (before its update)."""
        self.shadow.advance(xv, y, h_prev)

    def follow(self, fwd: tuple) -> None:
        """`before` from the rule's own forward and readout of this step, fwd = (xv, h_prev, r, z, n, hn, h, dL/dh,
        dL/dout), computed with the same weights and state (so the shadow does not recompute them)."""
        self.shadow.follow(*fwd)

    def after(self, g: np.ndarray | None) -> None:
        """Compare the rule's gradient of this step (None: the step did not train) with g*: record its Gram sums."""
        slot = self._ring[self._written % len(self._ring)]
        if g is None:
            slot[...] = np.nan
        else:
            _gram(g, self.shadow.g, self._W, self._Y, self._bounds, out=slot)
        self._written += 1

    def drain(self) -> np.ndarray:
        """The rows recorded since the last drain, oldest first, (n, len(FIELDS)); at most the ring's length
        (older ones are dropped) and `dropped` counts them."""
        cap = len(self._ring)
        start = max(self._read, self._written - cap)
        self.dropped = start - self._read
        idx = np.arange(start, self._written) % cap
        self._read = self._written
        return _rows(self._ring[idx])

    @staticmethod
    def as_dict(row: np.ndarray | None) -> dict[str, float]:
        return {} if row is None else {k: float(v) for k, v in zip(FIELDS, row)}


class FidelityMixin(_FlatEngine):
    """Put before a fast engine class (core.rules.engines.engine_class): at each step's end, before the rule's update
    (the engine's `_finish` hook), the shadow RTRL advances with the state and weights the rule used, taking the
    rule's own cell forward and readout, then the rule's gradient buffer `grad` is compared with g*. The shadow's
    sensitivity is part of the position (tensor `fidelity.S`)."""

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.fidelity = FidelityMeter(self.layout, self.theta, self.readout, self.loss)

    def _finish(self, train: bool, y: int, fwd: tuple) -> None:
        """Before the rule's update: the shadow follows the rule's own forward of this step, then g vs g*."""
        m = self.fidelity
        if fwd[1] is self.h:  # the step's cell read the carried state: its forward is the shadow's
            m.shadow.follow(*fwd)
        else:  # TBPTT(k > 1) recomputes the window; the shadow follows the carried state, as before
            m.before(fwd[0], y, self.h)
        m.after(self.grad if train else None)
        super()._finish(train, y, fwd)

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
