"""UORO and SnAp-1 for the LSTM and the simple RNN in the seed-batched NumPy engine: core/rules/approximate_cells.py
(its definitions: the estimate over the whole state, h and the LSTM's c) with the learner axis in front.

Learner s reproduces the single fast engine of its config (`CellSnAp1Engine`, `CellUOROEngine`) to float32
rounding; UORO's signs are learner s's own generator, seeded as the single engine's, len(s) draws a step, drawn
ahead in blocks of `SIGN_BLOCK` steps (the generator gives the same numbers whatever the block size).
"""

from __future__ import annotations

import numpy as np

from core.rules.approximate import UOROEngine, uoro_grad, uoro_update
from core.rules.approximate_cells import own_rows
from core.seed_batched.approximate import SIGN_BLOCK
from core.seed_batched.cells import F32, BatchedCellEngine


class _BatchedCellSensitivity(BatchedCellEngine):
    """The step both rules share: s', J (S, D, D) and m (S, R, n_rec), the immediate term on each parameter's own
    unit's rows (core.rules.approximate_cells.own_immediate row by row)."""

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        super().__init__(shape, theta, lr, seeds, dtype)
        self.owner, self.row = own_rows(self.layout)
        self.R = self.D // self.H
        self.idx = np.arange(self.R)[:, None] * self.H + self.owner  # (R, n_rec): the own rows of s
        self._g_rec = self.grad[:, : self.layout.n_rec]

    def _step(self, xv):
        S, GH = self.S, self.G * self.H
        s_prev = self.s
        s, cache = self._forward(xv, s_prev)
        c_h, c_c, d_hc, d_cc = self._coefficients(cache)
        J = self._jacobian(c_h, c_c, d_hc, d_cc)
        coef = (c_h[:, None] if c_c is None else np.stack([c_h, c_c], axis=1)).reshape(S, self.R, GH)
        v = np.concatenate([np.repeat(xv, GH, axis=1), np.tile(s_prev[:, :self.H], GH),
                            np.ones((S, GH), self.dtype)], axis=1)  # what each parameter multiplies
        m = coef[:, :, self.row] * v[:, None, :]
        return s, J, m

    def _end(self, s, y, train, grad_fn):
        h = s[:, :self.H]
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            self._g_rec[:] = grad_fn(dh)
            self._readout_grads(h, dout)
            self._update()
        self._carry(s)
        return y_hat, lv


class BatchedCellSnAp1(_BatchedCellSensitivity):
    """SnAp-1: each learner's sensitivity on its parameters' own rows, sp (S, R, n_rec), with J's per-unit blocks."""

    rule = "snap1"

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        super().__init__(shape, theta, lr, seeds, dtype)
        self.sp = np.zeros((self.S, self.R, self.layout.n_rec), self.dtype)

    def _advance(self, xv, y, train):
        s, J, m = self._step(xv)
        idx, new = self.idx, m
        for a in range(self.R):  # core.rules.approximate_cells.snap1_cell_update, in its order
            for b in range(self.R):
                new[:, a] += J[:, idx[a], idx[b]] * self.sp[:, b]
        self.sp = new
        return self._end(s, y, train, lambda dh: dh[:, self.owner] * new[:, 0])


class BatchedCellUORO(_BatchedCellSensitivity):
    """UORO: each learner's rank-one estimate s~ (S, D) theta~^T (S, n_rec), with its own sign generator."""

    rule = "uoro"

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        super().__init__(shape, theta, lr, seeds, dtype)
        if self.seeds is None:
            raise ValueError("the batched UORO engine needs the learners' seeds (its random signs are seeded by them)")
        self.s_t = np.zeros((self.S, self.D), self.dtype)
        self.th_t = np.zeros((self.S, self.layout.n_rec), self.dtype)
        self.rngs = [np.random.default_rng([s, UOROEngine.RNG_SALT]) for s in self.seeds]
        self._signs = np.empty((self.S, SIGN_BLOCK, self.D), F32)
        self._next = SIGN_BLOCK

    def signs(self) -> np.ndarray:
        """This step's nu (S, D): learner s's next len(s) signs, as CellUOROEngine.signs() draws them."""
        if self._next == SIGN_BLOCK:
            for s, rng in enumerate(self.rngs):
                u = rng.random(SIGN_BLOCK * self.D, dtype=F32).reshape(SIGN_BLOCK, self.D)
                np.copysign(F32(1), u - F32(0.5), out=self._signs[s])
            self._next = 0
        nu = self._signs[:, self._next].astype(self.dtype)
        self._next += 1
        return nu

    def _advance(self, xv, y, train):
        s, J, m = self._step(xv)
        nu = self.signs()
        nu_m = (nu[:, self.idx] * m).sum(axis=1)  # nu^T M: M is nonzero only on the own rows
        self.s_t, self.th_t = uoro_update(self.s_t, self.th_t, J, nu, nu_m)
        return self._end(s, y, train, lambda dh: uoro_grad(self.s_t[:, :self.H], self.th_t, dh))
