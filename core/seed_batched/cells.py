"""Seed-batched TBPTT(k) and exact RTRL for the LSTM and the simple RNN: S learners of one cell as one NumPy
computation, learner s doing what the single fast engine of core/rules/lstm_rnn.py does for its config.

The math is core.gru.cell_math's, with the learner axis in front. Learner s owns row s of every array: its weights
(core.gru.derivatives.Layout for the cell: W_ih, W_hh, Keras's one bias b, the readout), its optimizer moments, its
carried state s[s] (h for the RNN, [h, c] for the LSTM: `self.s`, whose first H columns are `self.h`), its TBPTT
window or RTRL sensitivity (state size x n_rec) and its learning rate. C = ds'/da is zero except where unit u's
rows meet its own gate rows, so it is kept as two (S, G, H) arrays of those entries (`c_h`: rows h, `c_c`: the
LSTM's rows c) and the LSTM's D = ds'/ds at fixed a as its two diagonals (dh'/dc = k f, dc'/dc = f).

Float32 in sweeps, as every engine; float64 too (`dtype`), where learner s equals the single engine's math in
float64 to rounding (tests/core/seed_batched/test_batched_cells.py). The regroupings that change only the rounding:
Adam is torch's fused kernel (core.seed_batched.adam), J = D + C [W_hh | 0] is summed per unit rather than as a
dense product with C's zeros.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from core.gru.derivatives import CELL_GATES
from core.seed_batched.engine import F32, BatchedEngine


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class BatchedCellEngine(BatchedEngine):
    """The LSTM's or the RNN's forward step and its coefficients over S learners; the state is `self.s`."""

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        if shape.cell not in ("lstm", "rnn"):
            raise ValueError(f"{type(self).__name__} runs cell lstm or rnn, not {shape.cell!r}")
        super().__init__(shape, theta, lr, seeds, dtype)
        S, H = self.S, self.H
        self.cell, self.G, self.D = shape.cell, CELL_GATES[shape.cell], self.layout.state_size
        self._wh4 = self.w_hh.reshape(S, self.G, H, H)  # a view of theta: follows the updates
        self._J = np.zeros((S, self.D, self.D), self.dtype)  # the LSTM's zero entries of D stay zero
        self._carry(np.zeros((S, self.D), self.dtype))

    def _carry(self, s: np.ndarray) -> None:
        self.s = s
        self.h = s[:, :self.H]

    def _forward(self, xv, s):
        """core.gru.cell_math.forward row by row: (s' (S, D), the step's cache for `_coefficients`)."""
        H = self.H
        a = self.w_ih * xv
        a += np.matmul(self.w_hh, s[:, :H, None])[:, :, 0]
        a += self.b
        if self.cell == "rnn":
            h_new = np.tanh(a)
            return h_new, (xv, s, h_new)
        i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
        g = np.tanh(a[:, 2 * H:3 * H])
        c_new = f * s[:, H:] + i * g
        tc = np.tanh(c_new)
        return np.concatenate([o * tc, c_new], axis=1), (xv, s, i, f, g, o, tc)

    def _coefficients(self, cache):
        """core.gru.cell_math.coefficients row by row: (c_h, c_c, d_hc, d_cc): C's own-unit entries in rows h and
        (LSTM) c, each (S, G, H), and D's diagonals dh'/dc, dc'/dc (S, H) (None for the RNN)."""
        if self.cell == "rnn":
            h_new = cache[2]
            return (1 - h_new * h_new)[:, None, :], None, None, None
        _, s, i, f, g, o, tc = cache
        c = s[:, self.H:]
        dc = np.stack([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), np.zeros_like(i)], axis=1)
        k = o * (1 - tc * tc)
        dh = dc * k[:, None, :]
        dh[:, 3] = tc * o * (1 - o)
        return dh, dc, k * f, f

    def _jacobian(self, c_h, c_c, d_hc, d_cc) -> np.ndarray:
        """J = D + C [W_hh | 0] (S, D, D) from `_coefficients`, into a buffer of its own (overwritten each step)."""
        H, J = self.H, self._J
        J[:, :H, :H] = np.einsum("sku,skuj->suj", c_h, self._wh4)
        if c_c is not None:
            u = np.arange(H)
            J[:, H:, :H] = np.einsum("sku,skuj->suj", c_c, self._wh4)
            J[:, u, H + u] = d_hc
            J[:, H + u, H + u] = d_cc
        return J


class BatchedCellTBPTT(BatchedCellEngine):
    """Truncated BPTT over the last k steps, recomputed from the state k steps back with the current weights
    (core.rules.lstm_rnn.CellTBPTTEngine and window_backward, row by row)."""

    rule = "tbptt"

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        super().__init__(shape, theta, lr, seeds, dtype)
        self.window: deque = deque(maxlen=shape.window)  # (xv (S, 1), state before it (S, D)); never written

    def _advance(self, xv, y, train):
        S, H = self.S, self.H
        self.window.append((xv, self.s))
        caches = []
        s = self.window[0][1]
        for xi, _ in self.window:
            s, cache = self._forward(xi, s)
            caches.append(cache)
        h = s[:, :H]
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            self._readout_grads(h, dout)
            self.g_wih[:] = 0
            self.g_whh[:] = 0
            self.g_b[:] = 0
            ds_c: Any = np.zeros_like(dh) if self.cell == "lstm" else None
            for cache in reversed(caches):
                xs, s_in = cache[0], cache[1]
                c_h, c_c, d_hc, d_cc = self._coefficients(cache)
                da = c_h * dh[:, None, :]
                if c_c is not None:
                    da = da + c_c * ds_c[:, None, :]
                    ds_c = d_hc * dh + d_cc * ds_c
                da = da.reshape(S, -1)
                self.g_wih += da * xs
                self.g_whh += da[:, :, None] * s_in[:, None, :H]
                self.g_b += da
                dh = np.matmul(da[:, None, :], self.w_hh)[:, 0, :]
            self._update()
        self._carry(s)
        return y_hat, lv


class BatchedCellRTRL(BatchedCellEngine):
    """RTRL: each learner's sensitivity ds/dtheta (state size x n_rec, flat parameter order) carried forward,
    S[t] = J (decay S[t-1]) + M (core.rules.lstm_rnn.CellRTRLEngine row by row); the LSTM's holds dh/dtheta and
    dc/dtheta. M's nonzero entries (unit u's rows meet unit u's gate rows) are added through index arrays."""

    rule = "rtrl"

    def __init__(self, shape, theta, lr, seeds=None, dtype=F32):
        super().__init__(shape, theta, lr, seeds, dtype)
        S, H, G, D, lay = self.S, self.H, self.G, self.D, self.layout
        self.sens = np.zeros((S, D, lay.n_rec), self.dtype)
        self._decay = self.dtype.type(shape.decay)
        sl, units, gates = lay.slices, np.arange(H), np.arange(G)[:, None]
        rows = np.stack([units + H * r for r in range(D // H)])[:, None, :]  # (R, 1, H): h_u (and c_u)
        own = gates * H + units  # (G, H): unit u's row of gate k in W_ih, W_hh and b
        self._at_ih = (rows, sl["W_ih"].start + own)
        self._at_hh = (rows[..., None], sl["W_hh"].start + own[..., None] * H + units)
        self._at_b = (rows, sl["b"].start + own)

    def _advance(self, xv, y, train):
        H, P = self.H, self.layout.n_rec
        s_prev = self.s
        s, cache = self._forward(xv, s_prev)
        c_h, c_c, d_hc, d_cc = self._coefficients(cache)
        new = np.matmul(self._jacobian(c_h, c_c, d_hc, d_cc), self.sens)
        if self._decay != 1:
            new *= self._decay
        coef = c_h[:, None] if c_c is None else np.stack([c_h, c_c], axis=1)  # (S, R, G, H)
        new[(slice(None),) + self._at_ih] += coef * xv[:, :, None, None]
        new[(slice(None),) + self._at_hh] += coef[..., None] * s_prev[:, None, None, None, :H]
        new[(slice(None),) + self._at_b] += coef
        self.sens = new
        h = s[:, :H]
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            self.grad[:, :P] = np.matmul(dh[:, None, :], new[:, :H])[:, 0, :]
            self._readout_grads(h, dout)
            self._update()
        self._carry(s)
        return y_hat, lv
