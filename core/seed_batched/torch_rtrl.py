"""RTRL in the torch seed-batched engine: core.seed_batched.engine.BatchedRTRL's arithmetic on tensors on a device.

Each learner carries its sensitivity dh/dtheta (H x n_rec, columns in `unit_major_order`) in
rows 0..H-1 of an (S, H+1, n_rec) buffer; one batched product [J; dL/dh J] times S[t-1] gives the new
sensitivity (before its immediate term) and, in row H, the recurrent gradient (before dL/dh times the immediate
term). The immediate term is one contiguous block of 3H + 9 entries per row and unit, added through a strided
view of the buffer's block diagonal. RTRL's decay multiplies J, as the NumPy engine does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.gru.derivatives import Layout
from core.seed_batched.torch_engine import TorchBatchedEngine


def unit_major_order(layout: Layout) -> np.ndarray:
    """The recurrent parameters (flat indices < n_rec) regrouped unit by unit: unit i's block holds, for each gate
    g, W_ih[g,i], then W_hh[g,i,:] for each g, then b_ih[g,i], then b_hh[g,i] (3 + 3H + 3 + 3 entries), the
    only parameters whose one-step effect reaches h_i. Returns perm: column c of the regrouped order is flat
    parameter perm[c]."""
    H, sl = layout.units, layout.slices
    w_ih, w_hh, b_ih, b_hh = (sl[k].start for k in ("W_ih", "W_hh", "b_ih", "b_hh"))
    out = []
    for i in range(H):
        rows = [g * H + i for g in range(3)]
        out += [w_ih + r for r in rows]
        out += [w_hh + r * H + j for r in rows for j in range(H)]
        out += [b_ih + r for r in rows] + [b_hh + r for r in rows]
    return np.array(out, np.intp)


class TorchRTRL(TorchBatchedEngine):
    """RTRL: S[t] = J (decay S[t-1]) + immediate, per learner, on the device."""

    rule = "rtrl"

    def __init__(self, shape, theta, lr, seeds=None, device="cuda"):
        super().__init__(shape, theta, lr, seeds, device)
        N, H, P, dev = self.S, self.H, self.layout.n_rec, self.device
        self.B = 3 * H + 9
        self._inv = torch.from_numpy(np.argsort(unit_major_order(self.layout))).to(dev)
        f32: dict[str, Any] = {"dtype": torch.float32, "device": dev}
        self._buf = torch.zeros((N, H + 1, P), **f32)  # rows 0..H-1: the sensitivity; row H: the gradient's part
        self._buf2 = torch.zeros((N, H + 1, P), **f32)
        self._diag, self._diag2 = self._diag_view(self._buf), self._diag_view(self._buf2)
        self._JD = torch.empty((N, H + 1, H), **f32)
        self._wh4 = self.w_hh.view(N, 3, H, H)  # a view of theta: follows the updates
        self._eye = torch.arange(H, device=dev)
        self._d = torch.empty((N, 3, H), **f32)
        self._blk = torch.empty((N, H, self.B), **f32)  # each unit's immediate block, unit-major order
        self._decay = float(np.float32(shape.decay))

    def _diag_view(self, buf: torch.Tensor) -> torch.Tensor:
        """(N, H, B) view: row i's columns i*B .. i*B + B - 1 of each learner's sensitivity."""
        P = self.layout.n_rec
        return buf.as_strided((self.S, self.H, self.B), (buf.stride(0), P + self.B, 1), buf.storage_offset())

    def _to_flat(self, g: torch.Tensor) -> None:
        """Copy the recurrent gradient g (N, H, B), unit-major, into the flat gradient buffer."""
        N, H = self.S, self.H
        self.g_wih.view(N, 3, H).copy_(g[:, :, :3].transpose(1, 2))
        self.g_whh.view(N, 3, H, H).copy_(g[:, :, 3:3 + 3 * H].reshape(N, H, 3, H).transpose(1, 2))
        self.g_bih.view(N, 3, H).copy_(g[:, :, 3 + 3 * H:6 + 3 * H].transpose(1, 2))
        self.g_bhh.view(N, 3, H).copy_(g[:, :, 6 + 3 * H:].transpose(1, 2))

    @property
    def sens(self) -> np.ndarray:
        """(S, H, n_rec) numpy: each learner's current sensitivity dh/dtheta, columns in flat parameter order."""
        return self._buf[:, : self.H][:, :, self._inv].cpu().numpy()

    def _coefficients(self, h_prev, r, z, n, hn):
        """d_ih (into its buffer), d_hh (S, 3, H) tensors. A copy of core.rules.approximate.coefficients in torch ops
        on the device: the same operations on the same numbers; tests/core/rules/test_coefficient_copies.py holds
        it to the original."""
        omz = 1 - z
        dan = omz * (1 - n * n)
        d_ih = self._d
        d_ih[:, 2] = dan
        d_ih[:, 1] = (h_prev - n) * z * omz
        d_ih[:, 0] = dan * hn * r * (1 - r)
        d_hh = d_ih.clone()
        d_hh[:, 2] = dan * r
        return d_ih, d_hh

    def _advance(self, xv, y, train):
        H, N = self.H, self.S
        h_prev = self.h
        r, z, n, hn, h = self._cell(xv, h_prev)
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        d_ih, d_hh = self._coefficients(h_prev, r, z, n, hn)
        JD = self._JD
        J = JD[:, :H]
        J.copy_((d_hh[:, :, :, None] * self._wh4).sum(dim=1))
        J[:, self._eye, self._eye] += z
        if self._decay != 1.0:
            J *= self._decay
        torch.bmm(dh[:, None, :], J, out=JD[:, H:])
        new = self._buf2
        torch.bmm(JD, self._buf[:, :H], out=new)
        blk = self._blk
        a_ih, a_hh = d_ih.transpose(1, 2), d_hh.transpose(1, 2)  # (N, H, 3): unit i's own coefficients
        blk[:, :, :3] = a_ih * xv[:, :, None]
        blk[:, :, 3:3 + 3 * H] = (a_hh[:, :, :, None] * h_prev[:, None, None, :]).reshape(N, H, 3 * H)
        blk[:, :, 3 + 3 * H:6 + 3 * H] = a_ih
        blk[:, :, 6 + 3 * H:] = a_hh
        self._diag2 += blk
        self._buf2, self._buf = self._buf, new
        self._diag2, self._diag = self._diag, self._diag2
        if train:
            g = new[:, H].view(N, H, self.B)
            blk *= dh[:, :, None]
            g += blk
            self._to_flat(g)
            self._readout_grads(h, dout)
            self._update()
        self.h = h
        return y_hat, lv
