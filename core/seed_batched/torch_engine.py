"""The seed-batched engine in torch: S learners' weights, gradients, Adam moments and states as tensors on a device.

The same learners and the same arithmetic as core.seed_batched.engine (float32; held-out and loss figures in
float64), written in torch ops so that it runs on any torch device: "cuda" for large S on a GPU, "cpu" for the
tests (the NumPy engine stays the default on the CPU). Here: the shared parts and tbptt (any window); rtrl (decay
too) is core/seed_batched/torch_rtrl.py; the LSTM's and the RNN's tbptt and rtrl are core/seed_batched/torch_cells.py.
core/seed_batched/table.py says which rules the torch engine runs and
builds it (`make_torch_engine`, make_batched_engine's signature plus the device); uoro and snap1 stay on the
NumPy engine.

step(x, y, train) returns numpy float64 (S,) arrays (y_hat, loss), as BatchedEngine.step: one device->host copy
per step. step_many(xs, ys, train) advances n steps from (S, n) blocks with one upload and one download, for a
caller that does not need each step's outputs before the next step (the GPU then runs ahead of the host).
Adam is torch._fused_adam_ on the device, one call per distinct learning rate over that rate's row ranges (the
kernel's tensor-lr overload takes one 0-d rate, not one per row).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from core.gru.derivatives import BETAS
from core.seed_batched.adam import lr_runs
from core.seed_batched.shape import BatchShape


class TorchAdam:
    """torch.optim.Adam(fused=True) row by row over (S, P) tensors, each row with its own rate: one fused kernel call
    per distinct rate, over the row ranges that have it."""

    def __init__(self, theta: torch.Tensor, grad: torch.Tensor, lr: np.ndarray, eps: float, betas=BETAS):
        self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)
        self.t = 0
        self.b1, self.b2 = betas
        self.eps = eps
        self._step = torch.zeros((), dtype=torch.float32, device=theta.device)
        self._calls = []
        for rate, runs in lr_runs(lr):
            self._calls.append((rate, [theta[a:b] for a, b in runs], [grad[a:b] for a, b in runs],
                                [self.m[a:b] for a, b in runs], [self.v[a:b] for a, b in runs],
                                [self._step] * len(runs)))

    def update(self) -> None:
        self.t += 1
        self._step.fill_(self.t)
        for rate, p, g, m, v, steps in self._calls:
            torch._fused_adam_(p, g, m, v, [], steps, lr=rate, beta1=self.b1, beta2=self.b2, weight_decay=0.0,
                               eps=self.eps, amsgrad=False, maximize=False)


class TorchSGD:
    """theta -= grad * lr row by row, lr rounded to float32 (as core.seed_batched.engine.BatchedSGD)."""

    def __init__(self, theta: torch.Tensor, grad: torch.Tensor, lr: np.ndarray):
        self.theta, self.grad, self.t = theta, grad, 0
        self.lr = torch.from_numpy(lr.astype(np.float32)[:, None]).to(theta.device)

    def update(self) -> None:
        self.t += 1
        self.theta.sub_(self.grad * self.lr)


class TorchBatchedEngine:
    """Shared parts on the device: weights, gradient buffer, optimizer, forward cell, readout and loss, S rows."""

    rule = "?"

    def __init__(self, shape: BatchShape, theta: np.ndarray, lr, seeds=None, device="cuda"):
        theta = np.ascontiguousarray(theta, dtype=np.float32)
        lay = shape.layout
        if theta.ndim != 2 or theta.shape[1] != lay.size:
            raise ValueError(f"theta must be (S, {lay.size}) for {shape}, got {theta.shape}")
        self.device = dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA is not available on this machine")
        S, H = theta.shape[0], shape.units
        self.shape, self.layout, self.S, self.H = shape, lay, S, H
        self.lr = np.broadcast_to(np.asarray(lr, np.float64), (S,)).copy()
        self.seeds = None if seeds is None else [int(v) for v in seeds]
        self.theta = torch.from_numpy(theta.copy()).to(dev)
        self.grad = torch.zeros_like(self.theta)
        v, g = self._views(self.theta), self._views(self.grad)
        self.w_ih, self.w_hh, self.g_wih, self.g_whh = v["W_ih"][:, :, 0], v["W_hh"], g["W_ih"][:, :, 0], g["W_hh"]
        self.w_out: Any = v.get("w_out")  # None with the raw readout
        self.b_out: Any = v.get("b_out")
        self.g_wout: Any = g.get("w_out")
        self.g_bout: Any = g.get("b_out")
        if lay.cell == "gru":  # two biases
            self.b_ih, self.b_hh, self.g_bih, self.g_bhh = v["b_ih"], v["b_hh"], g["b_ih"], g["b_hh"]
        else:  # Keras's one bias (core.gru.cells)
            self.b, self.g_b = v["b"], g["b"]
        self.opt = (TorchAdam(self.theta, self.grad, self.lr, shape.adam_eps) if shape.optimizer == "adam"
                    else TorchSGD(self.theta, self.grad, self.lr))
        self.h = torch.zeros((S, H), dtype=torch.float32, device=dev)
        self._inv_h = float(np.float32(1.0 / H))  # Python floats (scalars on any device), float32 values
        self._two_h = float(np.float32(2.0 / H))

    def _views(self, flat: torch.Tensor) -> dict[str, Any]:
        S, lay = flat.shape[0], self.layout
        return {k: flat[:, sl].view((S,) + lay.shapes[k]) for k, sl in lay.slices.items()}

    @property
    def theta_numpy(self) -> np.ndarray:
        """(S, P) float32 copy of the learners' weights on the host."""
        return self.theta.cpu().numpy()

    # -- stepping --------------------------------------------------------------------------------------------
    def _upload(self, xs: np.ndarray, ys: np.ndarray) -> torch.Tensor:
        """(S, n) 0/1 inputs and targets -> (n, 2, S) float32 on the device, one copy."""
        xy = np.stack([np.asarray(xs, np.float32), np.asarray(ys, np.float32)]).transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(xy)).to(self.device)

    def step(self, x: np.ndarray, y: np.ndarray, train: bool = True):
        """One step of every learner: x, y (S,) 0/1 ints -> (y_hat, loss), each (S,) float64 numpy."""
        xy = self._upload(np.asarray(x).reshape(-1, 1), np.asarray(y).reshape(-1, 1))[0]
        y_hat, lv = self._advance(xy[0][:, None], xy[1], train)
        out = torch.stack([y_hat, lv]).cpu().numpy()
        return out[0], out[1]

    def step_many(self, xs: np.ndarray, ys: np.ndarray, train: bool = True):
        """n steps of every learner from (S, n) inputs and targets -> (y_hat, loss), each (n, S) float64 numpy."""
        xy = self._upload(xs, ys)
        n = xy.shape[0]
        out = torch.empty((2, n, self.S), dtype=torch.float64, device=self.device)
        for i in range(n):
            out[0, i], out[1, i] = self._advance(xy[i, 0][:, None], xy[i, 1], train)
        host = out.cpu().numpy()
        return host[0], host[1]

    def _advance(self, xv: torch.Tensor, y: torch.Tensor, train: bool):
        """xv (S, 1) float32, y (S,) float32 0/1 on the device -> (y_hat, loss) (S,) float64 on the device."""
        raise NotImplementedError

    # -- pieces (core.seed_batched.engine's, op for op) -------------------------------------------------------------
    def _cell(self, xv, h):
        """core.gru.derivatives.cell_forward row by row: (r, z, n, hn, h_new), each (S, H)."""
        H = self.H
        gi = self.w_ih * xv
        gi += self.b_ih
        gh = torch.bmm(self.w_hh, h[:, :, None])[:, :, 0]
        gh += self.b_hh
        rz = gi[:, : 2 * H] + gh[:, : 2 * H]
        rz.neg_().exp_().add_(1.0).reciprocal_()
        r, z = rz[:, :H], rz[:, H:]
        hn = gh[:, 2 * H:]
        n = r * hn
        n += gi[:, 2 * H:]
        n.tanh_()
        h_new = 1 - z
        h_new *= n
        h_new += z * h
        return r, z, n, hn, h_new

    def _readout_loss(self, h, y):
        """core.gru.derivatives.readout_loss row by row: (y_hat (S,) f64, loss (S,) f64, dL/dh (S, H) f32, dout)."""
        yf = y.double()
        if self.shape.readout == "linear":
            o = torch.bmm(self.w_out, h[:, :, None])[:, 0, 0].double() + self.b_out[:, 0].double()
            if self.shape.loss == "bce":
                e = torch.exp(-o.abs())
                s = torch.where(o >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
                lv = o.clamp(min=0.0) - o * yf + torch.log1p(e)
                dout, y_hat = s - yf, s
            else:
                d = o - yf
                lv, dout, y_hat = d * d, 2.0 * d, o
            return y_hat, lv, dout.float()[:, None] * self.w_out[:, 0, :], dout
        m = h.mean(dim=1).double()
        y32 = y[:, None]
        if self.shape.loss == "bce":
            lv = (torch.logaddexp(torch.zeros_like(h), h) - h * y32).mean(dim=1).double()
            dout = (torch.sigmoid(h) - y32) * self._inv_h
            e = torch.exp(-m.abs())
            y_hat = torch.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        else:
            d = h - y32
            lv = (d * d).mean(dim=1).double()
            dout = d * self._two_h
            y_hat = m
        return y_hat, lv, dout, dout

    def _readout_grads(self, h, dout) -> None:
        if self.w_out is not None:
            d32 = dout.float()
            self.g_wout[:, 0, :].copy_(h * d32[:, None])
            self.g_bout[:, 0].copy_(d32)

    def _update(self) -> None:
        self.opt.update()


class TorchTBPTT(TorchBatchedEngine):
    """Truncated BPTT over the last k steps, recomputed from the state k steps back with the current weights."""

    rule = "tbptt"

    def __init__(self, shape, theta, lr, seeds=None, device="cuda"):
        super().__init__(shape, theta, lr, seeds, device)
        self.k = shape.window
        self.window: deque = deque(maxlen=self.k)  # (xv (S, 1), state before it (S, H)); never written in place

    def _advance(self, xv, y, train):
        self.window.append((xv, self.h))
        cache = []
        h = self.window[0][1]
        for xi, _ in self.window:
            r, z, n, hn, h_new = self._cell(xi, h)
            cache.append((xi, h, r, z, n, hn))
            h = h_new
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        if train:
            self._readout_grads(h, dout)
            last = len(cache) - 1
            for s in range(last, -1, -1):
                xs, hs, rs, zs, ns, hns = cache[s]
                omz = 1 - zs
                dho = dh * omz
                dan = dho * (1 - ns * ns)
                t = hs - ns
                t *= dh
                t *= zs
                daz = t * omz
                t = dan * hns
                t *= rs
                dar = t * (1 - rs)
                dhn = dan * rs
                dgi = torch.cat([dar, daz, dan], dim=1)
                dgh = torch.cat([dar, daz, dhn], dim=1)
                if s == last:  # overwrite the gradient buffer: no zeroing needed
                    self.g_bih.copy_(dgi)
                    self.g_bhh.copy_(dgh)
                    self.g_wih.copy_(dgi * xs)
                    self.g_whh.copy_(dgh[:, :, None] * hs[:, None, :])
                else:
                    self.g_bih.add_(dgi)
                    self.g_bhh.add_(dgh)
                    self.g_wih.add_(dgi * xs)
                    self.g_whh.addcmul_(dgh[:, :, None], hs[:, None, :])
                if s:
                    dh = dh * zs + torch.bmm(dgh[:, None, :], self.w_hh)[:, 0, :]
            self._update()
        self.h = h
        return y_hat, lv

