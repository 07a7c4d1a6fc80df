"""TBPTT(k) and exact RTRL for the LSTM and the simple RNN in the torch seed-batched engine: the arithmetic of
core/seed_batched/cells.py, op for op, on tensors on any device (float32).

The carried state is `self.s` (S, D): h for the RNN, [h, c] for the LSTM, `self.h` its first H columns. C = ds'/da
is kept as its own-unit entries (c_h, and the LSTM's c_c, each (S, G, H)) and the LSTM's D as its two diagonals;
RTRL's sensitivity (S, D, n_rec) in flat parameter order takes its immediate term through index tensors.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from core.gru.derivatives import CELL_GATES
from core.seed_batched.torch_engine import TorchBatchedEngine


class TorchCellEngine(TorchBatchedEngine):
    """The LSTM's or the RNN's forward step and its coefficients over S learners on the device."""

    def __init__(self, shape, theta, lr, seeds=None, device="cuda"):
        if shape.cell not in ("lstm", "rnn"):
            raise ValueError(f"{type(self).__name__} runs cell lstm or rnn, not {shape.cell!r}")
        super().__init__(shape, theta, lr, seeds, device)
        S, H = self.S, self.H
        self.cell, self.G, self.D = shape.cell, CELL_GATES[shape.cell], self.layout.state_size
        self._wh4 = self.w_hh.view(S, self.G, H, H)  # a view of theta: follows the updates
        self._carry(torch.zeros((S, self.D), dtype=torch.float32, device=self.device))

    def _carry(self, s: torch.Tensor) -> None:
        self.s = s
        self.h = s[:, :self.H]

    def _forward(self, xv, s):
        """core.seed_batched.cells.BatchedCellEngine._forward: (s' (S, D), the step's cache)."""
        H = self.H
        a = self.w_ih * xv
        a += torch.bmm(self.w_hh, s[:, :H, None])[:, :, 0]
        a += self.b
        if self.cell == "rnn":
            h_new = torch.tanh(a)
            return h_new, (xv, s, h_new)
        i, f, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.sigmoid(a[:, 3 * H:])
        g = torch.tanh(a[:, 2 * H:3 * H])
        c_new = f * s[:, H:] + i * g
        tc = torch.tanh(c_new)
        return torch.cat([o * tc, c_new], dim=1), (xv, s, i, f, g, o, tc)

    def _coefficients(self, cache):
        """(c_h, c_c, d_hc, d_cc) as core.seed_batched.cells.BatchedCellEngine._coefficients."""
        if self.cell == "rnn":
            h_new = cache[2]
            return (1 - h_new * h_new)[:, None, :], None, None, None
        _, s, i, f, g, o, tc = cache
        c = s[:, self.H:]
        dc = torch.stack([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), torch.zeros_like(i)], dim=1)
        k = o * (1 - tc * tc)
        dh = dc * k[:, None, :]
        dh[:, 3] = tc * o * (1 - o)
        return dh, dc, k * f, f


class TorchCellTBPTT(TorchCellEngine):
    """Truncated BPTT over the last k steps, recomputed from the state k steps back with the current weights."""

    rule = "tbptt"

    def __init__(self, shape, theta, lr, seeds=None, device="cuda"):
        super().__init__(shape, theta, lr, seeds, device)
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
            self.g_wih.zero_()
            self.g_whh.zero_()
            self.g_b.zero_()
            ds_c: Any = torch.zeros_like(dh) if self.cell == "lstm" else None
            for cache in reversed(caches):
                xs, s_in = cache[0], cache[1]
                c_h, c_c, d_hc, d_cc = self._coefficients(cache)
                da = c_h * dh[:, None, :]
                if c_c is not None:
                    da = da + c_c * ds_c[:, None, :]
                    ds_c = d_hc * dh + d_cc * ds_c
                da = da.reshape(S, -1)
                self.g_wih.add_(da * xs)
                self.g_whh.addcmul_(da[:, :, None], s_in[:, None, :H])
                self.g_b.add_(da)
                dh = torch.bmm(da[:, None, :], self.w_hh)[:, 0, :]
            self._update()
        self._carry(s)
        return y_hat, lv


class TorchCellRTRL(TorchCellEngine):
    """RTRL: S[t] = J (decay S[t-1]) + M per learner on the device (core.seed_batched.cells.BatchedCellRTRL)."""

    rule = "rtrl"

    def __init__(self, shape, theta, lr, seeds=None, device="cuda"):
        super().__init__(shape, theta, lr, seeds, device)
        S, H, G, D, lay, dev = self.S, self.H, self.G, self.D, self.layout, self.device
        self._sens = torch.zeros((S, D, lay.n_rec), dtype=torch.float32, device=dev)
        self._decay = float(np.float32(shape.decay))  # a float32 value, as the NumPy engine's
        sl, units = lay.slices, torch.arange(H, device=dev)
        rows = torch.stack([units + H * r for r in range(D // H)])[:, None, :]  # (R, 1, H): h_u (and c_u)
        own = torch.arange(G, device=dev)[:, None] * H + units  # (G, H)
        self._at_ih = (rows, sl["W_ih"].start + own)
        self._at_hh = (rows[..., None], sl["W_hh"].start + own[..., None] * H + units)
        self._at_b = (rows, sl["b"].start + own)
        self._J = torch.zeros((S, D, D), dtype=torch.float32, device=dev)
        self._eye = units

    @property
    def sens(self):
        """(S, D, n_rec) numpy: each learner's sensitivity ds/dtheta, columns in flat parameter order."""
        return self._sens.cpu().numpy()

    def _advance(self, xv, y, train):
        H, P = self.H, self.layout.n_rec
        s_prev = self.s
        s, cache = self._forward(xv, s_prev)
        c_h, c_c, d_hc, d_cc = self._coefficients(cache)
        J, u = self._J, self._eye
        J[:, :H, :H] = torch.einsum("sku,skuj->suj", c_h, self._wh4)
        if c_c is not None:
            J[:, H:, :H] = torch.einsum("sku,skuj->suj", c_c, self._wh4)
            J[:, u, H + u] = d_hc
            J[:, H + u, H + u] = d_cc
        new = torch.bmm(J, self._sens)
        if self._decay != 1.0:
            new *= self._decay
        coef = c_h[:, None] if c_c is None else torch.stack([c_h, c_c], dim=1)  # (S, R, G, H)
        all_ = slice(None)
        new[(all_,) + self._at_ih] += coef * xv[:, :, None, None]
        new[(all_,) + self._at_hh] += coef[..., None] * s_prev[:, None, None, None, :H]
        new[(all_,) + self._at_b] += coef
        self._sens = new
        h = s[:, :H]
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            self.grad[:, :P] = torch.bmm(dh[:, None, :], new[:, :H])[:, 0, :]
            self._readout_grads(h, dout)
            self._update()
        self._carry(s)
        return y_hat, lv
