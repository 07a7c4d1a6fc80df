"""Seed-batched online engines: S independent GRU learners advanced together as one batched NumPy computation.

Learner s owns row s of every array: its weights theta[s] (the flat layout of core.gru.derivatives.Layout), its
optimizer moments, its carried state h[s], its TBPTT window or RTRL sensitivity, and its learning rate lr[s].
What the learners must share is the `BatchShape` (rule, units, readout, loss, optimizer, window / RTRL decay);
the task (lag, kind, p), the learning rate and the seed may differ per learner (they only change the inputs,
targets and the per-row step size).

The arithmetic is that of the single fast engines (core/rules/tbptt_rtrl.py), in float32, with three
regroupings for speed that change only the rounding: Adam is torch's fused kernel on the same memory
(core.seed_batched.adam), the large broadcast products run in torch on views of the NumPy buffers, and RTRL's
gradient comes out of the sensitivity product itself. Learner s therefore reproduces the single run of its
config to float32 rounding (the tests hold its losses and verdict to it). A rule's engine subclasses
`BatchedEngine` and implements `_advance(xv, y, train)`. Here: tbptt and rtrl; core/seed_batched/approximate.py
has uoro and snap1, core/seed_batched/cells.py tbptt and rtrl for the LSTM and the RNN (the shared parts here take
any cell's layout), and core/seed_batched/table.py says which engine runs each rule and cell (`make_batched_engine`).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from core.seed_batched.adam import FusedBatchedAdam
from core.seed_batched.shape import BatchShape

F32 = np.float32


# -- optimizers on (S, P), torch.optim's single-tensor arithmetic row by row (as core.gru.derivatives's Flat*) -------
class BatchedSGD:
    def __init__(self, shape: tuple[int, int]):
        self.t = 0

    def update(self, theta: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        self.t += 1
        theta -= grad * lr.astype(theta.dtype)[:, None]  # torch: param.add_(grad, alpha=-lr), lr in theta's dtype


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class BatchedEngine:
    """Shared parts: weights, gradient buffer, optimizer, forward cell, readout and loss, all over S rows.

    step(x, y, train) takes x, y as (S,) 0/1 ints and returns (y_hat, loss), each (S,) float64, the values the
    single engine returns for each learner."""

    rule = "?"

    def __init__(self, shape: BatchShape, theta: np.ndarray, lr, seeds=None, dtype=F32):
        """dtype: float32 (every engine, and the only one the GRU's run); the LSTM's and the RNN's engines
        (core/seed_batched/cells.py) also run in float64, for tests against the single engine's math."""
        self.dtype = dt = np.dtype(dtype)
        theta = np.ascontiguousarray(theta, dtype=dt)
        lay = shape.layout
        if theta.ndim != 2 or theta.shape[1] != lay.size:
            raise ValueError(f"theta must be (S, {lay.size}) for {shape}, got {theta.shape}")
        S, H = theta.shape[0], shape.units
        self.shape, self.layout, self.S, self.H = shape, lay, S, H
        self.theta = theta.copy()
        self.lr = np.broadcast_to(np.asarray(lr, np.float64), (S,)).copy()
        self.seeds = None if seeds is None else [int(v) for v in seeds]
        if self.seeds is not None and len(self.seeds) != S:
            raise ValueError(f"{len(self.seeds)} seeds for {S} learners")
        self.grad = np.zeros_like(self.theta)
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
        self.opt = (FusedBatchedAdam(self.theta.shape, eps=shape.adam_eps, dtype=dt) if shape.optimizer == "adam"
                    else BatchedSGD(self.theta.shape))
        self.h = np.zeros((S, H), dt)
        self._xv = (np.zeros((S, 1), dt), np.ones((S, 1), dt))
        self._t_gwhh = torch.from_numpy(self.g_whh)  # the same memory: torch's broadcast kernels are faster here

    def _views(self, flat: np.ndarray) -> dict[str, Any]:
        S, lay = flat.shape[0], self.layout
        return {k: flat[:, sl].reshape((S,) + lay.shapes[k]) for k, sl in lay.slices.items()}

    def step(self, x: np.ndarray, y: np.ndarray, train: bool = True):
        xv = np.asarray(x, self.dtype).reshape(-1, 1)
        return self._advance(xv, np.asarray(y), train)

    def step_many(self, xs: np.ndarray, ys: np.ndarray, train: bool = True):
        """n steps from (S, n) inputs and targets -> (y_hat, loss), each (n, S) float64 (the torch engine's
        contract: one call per block of steps)."""
        n = xs.shape[1]
        y_hat, loss = np.empty((n, self.S)), np.empty((n, self.S))
        for i in range(n):
            y_hat[i], loss[i] = self.step(xs[:, i], ys[:, i], train)
        return y_hat, loss

    def _advance(self, xv: np.ndarray, y: np.ndarray, train: bool):
        raise NotImplementedError

    # -- pieces ----------------------------------------------------------------------------------------------
    def _cell(self, xv, h):
        """core.gru.derivatives.cell_forward row by row: (r, z, n, hn, h_new), each (S, H)."""
        H = self.H
        gi = self.w_ih * xv
        gi += self.b_ih
        gh = np.matmul(self.w_hh, h[:, :, None])[:, :, 0]
        gh += self.b_hh
        rz = np.add(gi[:, : 2 * H], gh[:, : 2 * H])
        np.negative(rz, out=rz)  # 1 / (1 + exp(-a)) in place
        np.exp(rz, out=rz)
        rz += 1.0
        np.divide(1.0, rz, out=rz)
        r, z = rz[:, :H], rz[:, H:]
        hn = gh[:, 2 * H:]
        n = r * hn
        n += gi[:, 2 * H:]
        np.tanh(n, out=n)
        h_new = 1 - z
        h_new *= n
        h_new += z * h
        return r, z, n, hn, h_new

    def _readout_loss(self, h, y):
        """core.gru.derivatives.readout_loss row by row: (y_hat (S,) f64, loss (S,) f64, dL/dh (S, H) f32, dout)."""
        yf = y.astype(np.float64)
        if self.shape.readout == "linear":
            o = np.matmul(self.w_out, h[:, :, None])[:, 0, 0].astype(np.float64) + self.b_out[:, 0].astype(np.float64)
            if self.shape.loss == "bce":
                s = np.where(o >= 0, 1.0 / (1.0 + np.exp(-np.abs(o))), np.exp(-np.abs(o)) / (1.0 + np.exp(-np.abs(o))))
                lv = np.maximum(o, 0.0) - o * yf + np.log1p(np.exp(-np.abs(o)))
                dout, y_hat = s - yf, s
            else:
                d = o - yf
                lv, dout, y_hat = d * d, 2.0 * d, o
            return y_hat, lv, dout.astype(self.dtype)[:, None] * self.w_out[:, 0, :], dout
        H = self.H
        m = h.mean(axis=1).astype(np.float64)
        dt = self.dtype.type
        y32 = y.astype(dt)[:, None]
        if self.shape.loss == "bce":
            lv = np.mean(np.logaddexp(dt(0), h) - h * y32, axis=1).astype(np.float64)
            dout = (_sigmoid(h) - y32) * dt(1.0 / H)
            y_hat = np.where(m >= 0, 1.0 / (1.0 + np.exp(-np.abs(m))), np.exp(-np.abs(m)) / (1.0 + np.exp(-np.abs(m))))
        else:
            d = h - y32
            lv = np.mean(d * d, axis=1).astype(np.float64)
            dout = d * dt(2.0 / H)
            y_hat = m
        return y_hat, lv, dout, dout

    def _readout_grads(self, h, dout) -> None:
        if self.w_out is not None:
            d32 = dout.astype(self.dtype)
            np.multiply(h, d32[:, None], out=self.g_wout[:, 0, :])
            self.g_bout[:, 0] = d32

    def _update(self) -> None:
        self.opt.update(self.theta, self.grad, self.lr)


class BatchedTBPTT(BatchedEngine):
    """Truncated BPTT over the last k steps, recomputed from the state k steps back with the current weights."""

    rule = "tbptt"

    def __init__(self, shape, theta, lr, seeds=None):
        super().__init__(shape, theta, lr, seeds)
        self.k = shape.window
        self.window: deque = deque(maxlen=self.k)  # (xv (S, 1), state before it (S, H))

    def _advance(self, xv, y, train):
        H = self.H
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
            g_wih, g_bih, g_bhh, t_gwhh = self.g_wih, self.g_bih, self.g_bhh, self._t_gwhh
            last = len(cache) - 1
            for s in range(last, -1, -1):
                xs, hs, rs, zs, ns, hns = cache[s]
                omz = 1 - zs
                dho = dh * omz
                if s == last:  # write the gradient buffer directly, no zeroing needed
                    dar, daz, dan = g_bih[:, :H], g_bih[:, H:2 * H], g_bih[:, 2 * H:]
                else:
                    dar, daz, dan = (np.empty_like(dh) for _ in range(3))
                t = ns * ns
                np.subtract(1, t, out=t)
                np.multiply(dho, t, out=dan)
                np.subtract(hs, ns, out=t)
                t *= dh
                t *= zs
                np.multiply(t, omz, out=daz)
                np.multiply(dan, hns, out=t)
                t *= rs
                np.multiply(t, 1 - rs, out=dar)
                dhn = dan * rs
                if s == last:
                    g_bhh[:, :2 * H] = g_bih[:, :2 * H]
                    g_bhh[:, 2 * H:] = dhn
                    np.multiply(g_bih, xs, out=g_wih)
                    torch.mul(torch.from_numpy(g_bhh)[:, :, None], torch.from_numpy(hs)[:, None, :], out=t_gwhh)
                    dgh = g_bhh
                else:
                    dgi = np.concatenate([dar, daz, dan], axis=1)
                    dgh = np.concatenate([dar, daz, dhn], axis=1)
                    g_bih += dgi
                    g_bhh += dgh
                    g_wih += dgi * xs
                    t_gwhh.addcmul_(torch.from_numpy(dgh)[:, :, None], torch.from_numpy(hs)[:, None, :])
                if s:
                    dh = dh * zs + np.matmul(dgh[:, None, :], self.w_hh)[:, 0, :]
            self._update()
        self.h = h
        return y_hat, lv


class BatchedRTRL(BatchedEngine):
    """RTRL: each learner's sensitivity dh/dtheta (H x n_rec, flat parameter order) carried forward,
    S[t] = J (decay S[t-1]) + immediate.

    One batched product per step does both jobs: [J; dL/dh J] (H+1 x H) times S[t-1] gives J S[t-1] in rows
    0..H-1 (the new sensitivity, before its immediate term) and dL/dh J S[t-1] in row H (the recurrent
    gradient, before dL/dh times the immediate term). The single engine's dL/dh S[t] would read S[t] a second
    time; the sums are the same up to float32 rounding. The immediate term (nonzero only where unit i meets its
    own gate rows) is added through strided views onto those entries (core.gru.derivatives.diagonal_views, with the
    learner axis in front); dL/dh times it is the window-1 gradient, written straight into the flat gradient."""

    rule = "rtrl"

    def __init__(self, shape, theta, lr, seeds=None):
        super().__init__(shape, theta, lr, seeds)
        N, H, P = self.S, self.H, self.layout.n_rec
        self._buf = np.zeros((N, H + 1, P), F32)  # rows 0..H-1: the sensitivity; row H: the gradient's part
        self._buf2 = np.zeros((N, H + 1, P), F32)
        self._diag = self._diag_views(self._buf)
        self._diag2 = self._diag_views(self._buf2)
        self._JD = np.empty((N, H + 1, H), F32)
        self._wh4 = self.w_hh.reshape(N, 3, H, H)
        self._eye = np.arange(H)
        self._d = np.empty((N, 3, H), F32)
        self._e = np.empty((N, 3, H), F32)
        self._g_rec = self.grad[:, :P]

    def _diag_views(self, buf):
        """Writable views onto each learner's own-unit entries of the sensitivity in `buf`: numpy (N, 3, H) views
        for W_ih, b_ih, b_hh and a torch (N, 3, H, H) view for W_hh (torch's broadcast kernels are faster)."""
        N, H, P, e = self.S, self.H, self.layout.n_rec, buf.itemsize
        sl, st, n0 = self.layout.slices, np.lib.stride_tricks.as_strided, buf.strides[0]
        w_ih = st(buf[:, 0, sl["W_ih"].start:], shape=(N, 3, H), strides=(n0, H * e, (P + 1) * e), writeable=True)
        b_ih = st(buf[:, 0, sl["b_ih"].start:], shape=(N, 3, H), strides=(n0, H * e, (P + 1) * e), writeable=True)
        b_hh = st(buf[:, 0, sl["b_hh"].start:], shape=(N, 3, H), strides=(n0, H * e, (P + 1) * e), writeable=True)
        w_hh = torch.as_strided(torch.from_numpy(buf), (N, 3, H, H), (n0 // e, H * H, P + H, 1), sl["W_hh"].start)
        return w_ih, w_hh, b_ih, b_hh

    @property
    def sens(self) -> np.ndarray:
        """(S, H, n_rec): each learner's current sensitivity dh/dtheta, columns in flat parameter order."""
        return self._buf[:, : self.H]

    def _coefficients(self, h_prev, r, z, n, hn):
        """d_ih (into its buffer), d_hh (S, 3, H). A copy of core.rules.approximate.coefficients, kept for speed
        (d_ih preallocated): the same operations on the same numbers; tests/core/rules/test_coefficient_copies.py
        holds it to the original."""
        omz = 1 - z
        dan = omz * (1 - n * n)
        d_ih = self._d
        d_ih[:, 2] = dan
        d_ih[:, 1] = (h_prev - n) * z * omz
        d_ih[:, 0] = dan * hn * r * (1 - r)
        d_hh = d_ih.copy()
        d_hh[:, 2] = dan * r
        return d_ih, d_hh

    def _advance(self, xv, y, train):
        H = self.H
        h_prev = self.h
        r, z, n, hn, h = self._cell(xv, h_prev)
        y_hat, lv, dh, dout = self._readout_loss(h, y)
        d_ih, d_hh = self._coefficients(h_prev, r, z, n, hn)
        JD = self._JD
        J = JD[:, :H]
        np.einsum("sgi,sgij->sij", d_hh, self._wh4, out=J)
        J[:, self._eye, self._eye] += z
        if self.shape.decay != 1.0:
            J *= F32(self.shape.decay)
        np.matmul(dh[:, None, :], J, out=JD[:, H:])
        new = self._buf2
        np.matmul(JD, self._buf[:, :H], out=new)
        dw_ih, dw_hh, db_ih, db_hh = self._diag2
        dw_ih += d_ih * xv[:, :, None]
        dw_hh.addcmul_(torch.from_numpy(d_hh)[:, :, :, None], torch.from_numpy(h_prev)[:, None, None, :])
        db_ih += d_ih
        db_hh += d_hh
        self._buf2, self._buf = self._buf, new
        self._diag2, self._diag = self._diag, self._diag2
        if train:  # the window-1 gradient dL/dh x immediate, then + dL/dh J S[t-1]
            N = self.S
            g_bih, g_bhh = self.g_bih.reshape(N, 3, H), self.g_bhh.reshape(N, 3, H)
            np.multiply(d_ih, dh[:, None, :], out=g_bih)
            np.multiply(d_hh, dh[:, None, :], out=g_bhh)
            np.multiply(self.g_bih, xv, out=self.g_wih)
            torch.mul(torch.from_numpy(self.g_bhh)[:, :, None], torch.from_numpy(h_prev)[:, None, :],
                      out=self._t_gwhh)
            self._g_rec += new[:, H]
            self._readout_grads(h, dout)
            self._update()
        self.h = h
        return y_hat, lv

