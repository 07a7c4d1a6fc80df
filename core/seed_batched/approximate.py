"""The approximate online rules in the seed-batched engine: UORO and SnAp-1 over S learners at once.

The math is core.rules.approximate's pure functions (coefficients, immediate, state_jacobian_diag, snap1_update/grad,
uoro_update/grad), which take a leading batch dimension; only UORO's whole J is written out here, because each
learner has its own W_hh (batched_state_jacobian shares one). Learner s reproduces the single fast engine
(`SnAp1Engine`, `UOROEngine`) of its config to float32 rounding.

UORO's random signs: learner s draws from its own generator, seeded exactly as the single engine's
(`np.random.default_rng([seed, UOROEngine.RNG_SALT])`), H float32 draws per step, training and held-out alike, so
its sign stream is the single run's. The signs are drawn ahead in blocks of `SIGN_BLOCK` steps per learner (one
draw of n * H numbers gives the same numbers as n draws of H: the generator's state, its spare 32-bit half
included, carries over between calls).
"""

from __future__ import annotations

import numpy as np

from core.rules.approximate import (
    UOROEngine,
    coefficients,
    immediate,
    owner_index,
    snap1_grad,
    snap1_update,
    split,
    state_jacobian_diag,
    uoro_grad,
    uoro_update,
)
from core.seed_batched.engine import BatchedEngine

F32 = np.float32
SIGN_BLOCK = 256


class _BatchedSensitivity(BatchedEngine):
    """What both rules share: the forward step with its coefficients, and the immediate term's buffer (S, n_rec)."""

    def __init__(self, shape, theta, lr, seeds=None):
        super().__init__(shape, theta, lr, seeds)
        S, H, lay = self.S, self.H, self.layout
        self.owner = owner_index(lay)
        self._wh4 = self.w_hh.reshape(S, 3, H, H)  # a view of theta: follows the updates
        self._m = np.zeros((S, lay.n_rec), F32)
        self._m_blocks = split(self._m, lay)
        self._g_rec = self.grad[:, : lay.n_rec]

    def _forward(self, xv):
        h_prev = self.h
        r, z, n, hn, h = self._cell(xv, h_prev)
        d_ih, d_hh = coefficients(h_prev, r, z, n, hn)
        return h_prev, z, h, d_ih, d_hh


class BatchedSnAp1(_BatchedSensitivity):
    """SnAp-1: one sensitivity number per cell parameter and learner, s (S, n_rec), carried with J's diagonal."""

    rule = "snap1"

    def __init__(self, shape, theta, lr, seeds=None):
        super().__init__(shape, theta, lr, seeds)
        self.s = np.zeros((self.S, self.layout.n_rec), F32)
        self._wh_diag = np.diagonal(self._wh4, axis1=2, axis2=3)  # (S, 3, H), a view

    def _advance(self, xv, y, train):
        h_prev, z, h, d_ih, d_hh = self._forward(xv)
        immediate(xv, h_prev, d_ih, d_hh, self._m_blocks)
        snap1_update(self.s, state_jacobian_diag(z, d_hh, self._wh_diag), self._m, self.owner)
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            snap1_grad(self.s, dh, self.owner, out=self._g_rec)
            self._readout_grads(h, dout)
            self._update()
        self.h = h
        return y_hat, lv


class BatchedUORO(_BatchedSensitivity):
    """UORO: each learner's rank-one estimate s~ (S, H) theta~^T (S, n_rec), with its own sign generator."""

    rule = "uoro"

    def __init__(self, shape, theta, lr, seeds=None):
        super().__init__(shape, theta, lr, seeds)
        if self.seeds is None:
            raise ValueError("the batched UORO engine needs the learners' seeds (its random signs are seeded by them)")
        S, H = self.S, self.H
        self.s_t = np.zeros((S, H), F32)
        self.th_t = np.zeros((S, self.layout.n_rec), F32)
        self._J = np.empty((S, H, H), F32)
        self.rngs = [np.random.default_rng([s, UOROEngine.RNG_SALT]) for s in self.seeds]
        self._signs = np.empty((S, SIGN_BLOCK, H), F32)
        self._next = SIGN_BLOCK

    def signs(self) -> np.ndarray:
        """This step's nu (S, H): learner s's next H signs, as UOROEngine.signs() draws them."""
        if self._next == SIGN_BLOCK:
            for s, rng in enumerate(self.rngs):
                u = rng.random(SIGN_BLOCK * self.H, dtype=F32).reshape(SIGN_BLOCK, self.H)
                np.copysign(F32(1), u - F32(0.5), out=self._signs[s])
            self._next = 0
        nu = self._signs[:, self._next]
        self._next += 1
        return nu

    def _advance(self, xv, y, train):
        h_prev, z, h, d_ih, d_hh = self._forward(xv)
        J = self._J
        np.einsum("sgi,sgij->sij", d_hh, self._wh4, out=J)
        J.reshape(self.S, -1)[:, :: self.H + 1] += z
        nu = self.signs()
        d_ih *= nu[:, None, :]
        d_hh *= nu[:, None, :]
        immediate(xv, h_prev, d_ih, d_hh, self._m_blocks)  # nu^T M
        self.s_t, self.th_t = uoro_update(self.s_t, self.th_t, J, nu, self._m)
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            uoro_grad(self.s_t, self.th_t, dh, out=self._g_rec)
            self._readout_grads(h, dout)
            self._update()
        self.h = h
        return y_hat, lv
