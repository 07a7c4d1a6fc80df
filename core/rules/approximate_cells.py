"""UORO and SnAp-1 for the LSTM and the simple RNN, as fast NumPy engines (core/rules/approximate.py has the GRU's
and the definitions; this is their carry-over to a cell whose state s may be longer than h).

The state s is h (H,) for the RNN and [h, c] (2H,) for the LSTM; RTRL carries S = ds/dtheta (len(s) x n_rec,
core.rules.lstm_rnn), S[t] = J S[t-1] + M, with J, M from core.gru.cell_math. A cell parameter p sits in one row
of W_ih, W_hh or b, the row of one gate of one unit, owner(p); M[:, p] is nonzero only in that unit's rows of s:
h_u (RNN), h_u and c_u (LSTM). Call those R = len(s) / H rows of s unit u's own rows, idx[a] = a H + owner(p).

SnAp-1 (Menick et al. 2021, n = 1) keeps S only on the pattern of M, each parameter's own unit's entries:
s[a, p] = S[idx[a], p], a (R, n_rec) array (the RNN's one row is the GRU's case; the LSTM keeps both h and c).
(J S)[idx[a], p] then reads only J's entries among unit u's own rows, a per-unit R x R block:

    s[a, p] <- sum_b J[idx[a], idx[b]] s[b, p] + M[idx[a], p],        g[p] = dL/dh[owner(p)] s[0, p]

so with one unit nothing is dropped and SnAp-1 is RTRL. UORO (Tallec & Ollivier 2017) carries s~ (len(s),) and
theta~ (n_rec,) with J and nu^T M, nu now len(s) random signs (the LSTM draws 2H a step), and g = (dL/dh . s~[:H])
theta~; core.rules.approximate.uoro_update is the step for any state length.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from core.gru import cell_math
from core.gru.derivatives import Layout, readout_loss
from core.rules.approximate import UOROEngine, _finite, _no_window, _pcg64_state, uoro_grad, uoro_update
from core.rules.flat import F32
from core.rules.lstm_rnn import _CellEngine
from core.state_checks import StateError, StateReader


# -- the math, pure functions (any float dtype) ------------------------------------------------------------------
def own_rows(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(owner (n_rec,), row (n_rec,)): the unit each cell parameter belongs to and its row of W_ih, W_hh or b."""
    sl, H = layout.slices, layout.units
    n_ih, n_hh, n_b = (sl[k].stop - sl[k].start for k in ("W_ih", "W_hh", "b"))
    row = np.concatenate([np.arange(n_ih) // layout.inputs, np.arange(n_hh) // H, np.arange(n_b)])
    return row % H, row


def own_immediate(C, x, h_prev, owner, row, layout: Layout) -> np.ndarray:
    """m (R, n_rec): M[idx[a], p], the one-step ds'/dtheta on each parameter's own unit's rows, from C = ds'/da."""
    GH, H, R = C.shape[1], layout.units, C.shape[0] // layout.units
    v = np.concatenate([np.tile(x, GH), np.tile(h_prev, GH), np.ones(GH, C.dtype)])  # what each parameter multiplies
    idx = np.arange(R)[:, None] * H + owner
    return C[idx, row] * v


def snap1_cell_update(s, J, m, owner, H: int) -> np.ndarray:
    """SnAp-1's step (module docstring): a fresh (R, n_rec) from s (R, n_rec), the dense J and m (R, n_rec)."""
    R = s.shape[0]
    idx = np.arange(R)[:, None] * H + owner  # (R, n_rec)
    out = m.copy()
    for a in range(R):
        for b in range(R):
            out[a] += J[idx[a], idx[b]] * s[b]
    return out


def _cell_group_norms(sq, layout: Layout) -> dict[str, float]:
    """CellRTRLEngine.sensitivity_norms's groups from per-column squared norms sq (n_rec,)."""
    sl, out = layout.slices, {}
    for key in ("W_ih", "W_hh"):
        if layout.cell == "lstm":
            per = sq[sl[key]].reshape(4, -1).sum(axis=1)
            out.update({f"{key[:3]}{g}": float(np.sqrt(v)) for g, v in zip("ifgo", per)})
        else:
            out[key] = float(np.sqrt(sq[sl[key]].sum()))
    out["b"] = float(np.sqrt(sq[sl["b"]].sum()))
    return out


# -- the engines -------------------------------------------------------------------------------------------------
class _CellSensitivityEngine(_CellEngine):
    """The forward step both rules share: s', its dense J and the immediate term on each parameter's own rows."""

    name = "fast"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.owner, self.row = own_rows(self.layout)

    def _forward(self, x: int):
        xv, s_prev = self._xv[x], self.s
        s, cache = cell_math.forward(self.cell, xv, s_prev, self.w_ih, self.w_hh, self.b)
        C, Dm = cell_math.coefficients(self.cell, cache)
        J = cell_math.state_jacobian(C, Dm, self.w_hh)
        m = own_immediate(C, xv, s_prev[:self.H], self.owner, self.row, self.layout)
        return xv, s_prev, s, cache, J, m

    def _end(self, train, y, s_prev, s, cache, grad_fn):
        H = self.H
        h = s[:H]
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            self.grad[: self.layout.n_rec] = grad_fn(dh)
            self._readout_grads(h, dout)
        self._finish(train, y, ())
        self._carry(s)
        return y_hat, lv, s_prev[:H], cell_math.step_parts(self.cell, cache, s), h


class CellSnAp1Engine(_CellSensitivityEngine):
    """SnAp-1 for the LSTM or the RNN: RTRL's sensitivity kept on each parameter's own unit's rows of the state
    (`s`, (R, n_rec): the RNN's h; the LSTM's h and c), with the per-unit blocks of J. Equal to RTRL with one unit."""

    rule = "snap1"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.sp = np.zeros((self.D // self.H, self.layout.n_rec), F32)

    def step(self, x: int, y: int, train: bool):
        xv, s_prev, s, cache, J, m = self._forward(x)
        self.sp = snap1_cell_update(self.sp, J, m, self.owner, self.H)
        return self._end(train, y, s_prev, s, cache, lambda dh: dh[self.owner] * self.sp[0])

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of SnAp-1's (sparse) dh/dtheta per parameter group, CellRTRLEngine's keys."""
        return _cell_group_norms(self.sp[0].astype(np.float64) ** 2, self.layout)

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["snap1.s"] = torch.from_numpy(self.sp.copy())
        meta["window_x"] = []  # no window; the key is every online engine's
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_cell = self._take_cell(r)
        _no_window(r)
        sp = _finite(r.tensor("snap1.s", self.sp.shape), "snap1.s")

        def install() -> None:
            install_cell()
            self.sp[:] = sp
        return install


class CellUOROEngine(_CellSensitivityEngine):
    """UORO for the LSTM or the RNN: the rank-one estimate s~ theta~^T of ds/dtheta, s~ as long as the state, with
    random signs from its own generator, seeded as the GRU's UOROEngine (its state is part of the position)."""

    rule = "uoro"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.s_t = np.zeros(self.D, F32)  # s~
        self.th_t = np.zeros(self.layout.n_rec, F32)  # theta~
        self.rng = np.random.default_rng([int(cfg.train.seed), UOROEngine.RNG_SALT])

    def signs(self) -> np.ndarray:
        """The next nu: len(s) independent random signs (float32 +-1), drawn as UOROEngine draws them."""
        return np.copysign(F32(1), self.rng.random(self.D, dtype=F32) - F32(0.5))

    def step(self, x: int, y: int, train: bool):
        xv, s_prev, s, cache, J, m = self._forward(x)
        nu = self.signs()
        idx = np.arange(m.shape[0])[:, None] * self.H + self.owner
        nu_m = (nu[idx] * m).sum(axis=0)  # nu^T M: M is nonzero only on the own rows
        self.s_t, self.th_t = uoro_update(self.s_t, self.th_t, J, nu, nu_m)
        return self._end(train, y, s_prev, s, cache, lambda dh: uoro_grad(self.s_t[:self.H], self.th_t, dh))

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of the rank-one estimate of dh/dtheta per parameter group, CellRTRLEngine's keys."""
        sh = self.s_t[:self.H].astype(np.float64)
        return _cell_group_norms(float(sh @ sh) * self.th_t.astype(np.float64) ** 2, self.layout)

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["uoro.s"] = torch.from_numpy(self.s_t.copy())
        tensors["uoro.theta"] = torch.from_numpy(self.th_t.copy())
        meta["window_x"] = []
        meta["uoro_rng"] = self.rng.bit_generator.state
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_cell = self._take_cell(r)
        _no_window(r)
        s = _finite(r.tensor("uoro.s", self.s_t.shape), "uoro.s")
        th = _finite(r.tensor("uoro.theta", self.th_t.shape), "uoro.theta")
        try:
            st = _pcg64_state(r.value("uoro_rng"))
        except ValueError as e:
            raise StateError(f"truncated or corrupt ({e})") from None

        def install() -> None:
            install_cell()
            self.s_t, self.th_t = s, th
            self.rng.bit_generator.state = st
        return install
