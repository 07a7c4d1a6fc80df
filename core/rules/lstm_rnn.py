"""TBPTT(k) and exact RTRL for the LSTM and the simple RNN, as fast NumPy engines (`_FlatEngine`s).

They carry the state s (h for the RNN, [h, c] for the LSTM) and use the hand-derived one-step math of
core.gru.cell_math: TBPTT backpropagates through the last k steps (recomputed from the state k steps back with the
current weights, as the GRU's TBPTTEngine and the autograd loop), RTRL carries S = ds/dtheta (state size x n_rec),

    S[t] = J[t] (decay * S[t-1]) + M[t],     dL[t]/dtheta = dL[t]/dh[t] S[t][:H]  (+ the readout's own),

so the LSTM's sensitivity holds both dh/dtheta and dc/dtheta. Each step returns the cell's own quantities
(core.snapshot.CELL_PARTS: the LSTM's i, f, g, o, c[t-1], c[t]; the RNN's pre-activation a).
Saved state: h (and the LSTM's c), the optimizer, and TBPTT's window (states of the carried size) or RTRL's
rtrl.S (state size x n_rec).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import torch

from core.gru import cell_math
from core.gru.derivatives import readout_loss
from core.rules.flat import F32, _FlatEngine, take_window
from core.state_checks import StateError, StateReader, bits


def window_backward(cell: str, caches: list, ds: np.ndarray, w_hh, g_wih, g_whh, g_b) -> None:
    """TBPTT's backward through a window's steps (their `cell_math.forward` caches, oldest first) from dL/ds at the
    last state: the gradient of the cell's parameters written into g_wih, g_whh, g_b (overwritten)."""
    H = w_hh.shape[1]
    g_wih[:] = 0
    g_whh[:] = 0
    g_b[:] = 0
    for cache in reversed(caches):
        xv, s_in = cache[0], cache[1]
        C, Dm = cell_math.coefficients(cell, cache)
        da, ds = cell_math.backward(ds, C, Dm, w_hh)
        g_wih += da[:, None] * xv
        g_whh += da[:, None] * s_in[:H]
        g_b += da


def rtrl_step(cell: str, S: np.ndarray, xv, s_prev, w_ih, w_hh, b, layout, decay: float = 1.0):
    """One RTRL step: (s[t], S[t] = J[t] (decay S[t-1]) + M[t]) from s[t-1] and S[t-1] (a fresh S[t])."""
    s, cache = cell_math.forward(cell, xv, s_prev, w_ih, w_hh, b)
    return s, sensitivity_update(cell, S, cache, xv, s_prev, w_hh, layout, decay)


def sensitivity_update(cell: str, S: np.ndarray, cache, xv, s_prev, w_hh, layout, decay: float = 1.0):
    """S[t] = J[t] (decay S[t-1]) + M[t] (a fresh array) from the step's `cell_math.forward` cache."""
    C, Dm = cell_math.coefficients(cell, cache)
    S_new = cell_math.state_jacobian(C, Dm, w_hh) @ S
    if decay != 1.0:
        S_new *= decay
    cell_math.add_immediate(S_new, C, xv, s_prev[:layout.units], layout)
    return S_new


class _CellEngine(_FlatEngine):
    """The carried state s of the LSTM or RNN (self.h is its first H entries) and its saved form."""

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.cell = cfg.model.cell
        if self.cell not in ("lstm", "rnn"):
            raise ValueError(f"{type(self).__name__} runs cell lstm or rnn, not {self.cell!r}")
        self.D = self.layout.state_size
        self.s = np.zeros(self.D, F32)
        self.h = self.s[:self.H]

    def _carry(self, s: np.ndarray) -> None:
        self.s = s
        self.h = s[:self.H]

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        if self.D > self.H:
            tensors["c"] = torch.from_numpy(self.s[self.H:].copy()).reshape(1, -1)
        return tensors, meta

    def _take_cell(self, r: StateReader) -> Callable[[], None]:
        install_common = self._take_common(r)
        c = r.tensor("c", (1, self.H)).detach().cpu().numpy().reshape(-1) if self.D > self.H else None

        def install() -> None:
            install_common()  # sets self.h
            s = self.h.astype(F32) if c is None else np.concatenate([self.h, c]).astype(F32)
            self._carry(s)
        return install


class CellTBPTTEngine(_CellEngine):
    """Truncated BPTT over the last k steps for the LSTM or the RNN, backward and update by hand."""

    name = "fast"
    rule = "tbptt"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.window: deque = deque(maxlen=cfg.train.window)  # (x, state before it)

    def step(self, x: int, y: int, train: bool):
        w_ih, w_hh, b, cell, H = self.w_ih, self.w_hh, self.b, self.cell, self.H
        win = self.window
        win.append((x, self.s))
        caches = []
        s = win[0][1]
        for xi, _ in win:  # recompute the window from the state k steps back, with the current weights
            s, cache = cell_math.forward(cell, self._xv[xi], s, w_ih, w_hh, b)
            caches.append(cache)
        h = s[:H]
        y_hat, lv, dh_out, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            self._readout_grads(h, dout)
            ds = np.zeros(self.D, F32)
            ds[:H] = dh_out
            window_backward(cell, caches, ds, w_hh, self.g_wih, self.g_whh, self.g_b)
        h_prev = caches[-1][1][:H]  # the state the step's own (last) cell read
        self._finish(train, y, ())
        self._carry(s)
        return y_hat, lv, h_prev, cell_math.step_parts(cell, caches[-1], s), h

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        for i, (_, sb) in enumerate(self.window):
            tensors[f"window.{i}"] = torch.from_numpy(sb.copy()).reshape(1, -1)
        meta["window_x"] = [int(xv) for xv, _ in self.window]
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_cell = self._take_cell(r)
        window = [(xv, sb.detach().cpu().numpy().reshape(-1).astype(F32)) for xv, sb in take_window(r, self.cfg)]

        def install() -> None:
            install_cell()
            self.window.clear()
            self.window.extend(window)
        return install


class CellRTRLEngine(_CellEngine):
    """Real-time recurrent learning for the LSTM or the RNN: S = ds[t]/dtheta carried forward (module docstring);
    carried during evaluation too, so it always matches the carried state."""

    name = "fast"
    rule = "rtrl"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.decay = float(cfg.train.rtrl_decay)
        self.S = np.zeros((self.D, self.layout.n_rec), F32)

    def step(self, x: int, y: int, train: bool):
        H = self.H
        xv, s_prev = self._xv[x], self.s
        s, cache = cell_math.forward(self.cell, xv, s_prev, self.w_ih, self.w_hh, self.b)
        S_new = sensitivity_update(self.cell, self.S, cache, xv, s_prev, self.w_hh, self.layout, self.decay)
        self.S = S_new
        h = s[:H]
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            np.matmul(dh, S_new[:H], out=self.grad[: self.layout.n_rec])
            self._readout_grads(h, dout)
        self._finish(train, y, ())
        self._carry(s)
        return y_hat, lv, s_prev[:H], cell_math.step_parts(self.cell, cache, s), h

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of dh/dtheta per parameter group: W_ih, W_hh per gate block (LSTM i, f, g, o), b."""
        sq = np.einsum("ip,ip->p", self.S[:self.H], self.S[:self.H], dtype=np.float64)
        sl = self.layout.slices
        out: dict[str, float] = {}
        for key in ("W_ih", "W_hh"):
            if self.cell == "lstm":  # W_ii, W_if, W_ig, W_io, W_hi, ...
                per = sq[sl[key]].reshape(4, -1).sum(axis=1)
                out.update({f"{key[:3]}{g}": float(np.sqrt(v)) for g, v in zip("ifgo", per)})
            else:
                out[key] = float(np.sqrt(sq[sl[key]].sum()))
        out["b"] = float(np.sqrt(sq[sl["b"]].sum()))
        return out

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["rtrl.S"] = torch.from_numpy(self.S.copy())
        meta["window_x"] = []  # RTRL keeps no window; the key is every online engine's
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_cell = self._take_cell(r)
        if bits(r.value("window_x"), "the window's inputs"):
            raise StateError("truncated or corrupt (an RTRL run keeps no window, but the position has one)")
        S = r.tensor("rtrl.S", self.S.shape).detach().cpu().numpy()

        def install() -> None:
            install_cell()
            self.S[:] = S
        return install
