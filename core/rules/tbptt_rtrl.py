"""TBPTT and RTRL for the GRU, the engines behind OnlineTrainer for those rules, and the plain autograd loop.

Every engine takes one (x, y) per `step(x, y, train)` and returns (y_hat, loss, h_prev, parts, h), parts being
the current step's own quantities (the GRU's gates r, z, n; core.rules.flat).
Each engine owns its optimizer (learning rate, moments, step count)
and its carried state, and saves and checks them itself (`state()`, `take_state(reader)`), in one form for every
engine, so a checkpoint crosses engines.

`AutogradEngine` is the plain torch autograd loop (TBPTT), for every cell (the model's `step`). The fast GRU
engines (`TBPTTEngine`, `RTRLEngine` here, UORO and SnAp-1 in core.rules.approximate) are `_FlatEngine`s
(core.rules.flat: the flat parameters shared with the model) computing with the hand-derived math of
core.gru.derivatives; the LSTM's and the RNN's are in core.rules.lstm_rnn. Which engine runs which rule and cell:
core.rules.engines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import torch

from core.gru.cells import Model
from core.gru.derivatives import Layout, cell_backward, cell_forward, diagonal_views, readout_loss, state_size
from core.gru.model import loss_fn, predict
from core.gru.optimizers import get_lr, make_optimizer, set_lr, take_torch_state, torch_state
from core.rules.flat import _FlatEngine, take_window
from core.state_checks import StateError, StateReader, bits

F32 = np.float32


class AutogradEngine:
    """The plain loop: torch autograd through the last k steps, recomputed from the state k steps back with
    the current weights; torch.optim (its own) does the update. Works on any device and for every cell (the
    model's `step`; the carried state is h, or the LSTM's [h, c]). TBPTT only."""

    name = "autograd"
    rule = "tbptt"

    def __init__(self, model: Model, cfg, device):
        self.model, self.cfg, self.device = model, cfg, device
        self.opt = make_optimizer(model.parameters(), cfg.train.optimizer, cfg.train.lr, cfg.train.adam_eps)
        self.H = cfg.model.units
        self.D = state_size(cfg.model.cell, self.H)
        self.h = torch.zeros(1, self.D, device=device)  # the carried state
        self.window: deque = deque(maxlen=cfg.train.window)  # (x tensor, state before it)
        self._x_cache = {v: torch.tensor([[float(v)]], device=device) for v in (0, 1)}
        self._y_cache = {v: torch.tensor([[float(v)]], device=device) for v in (0, 1)}

    @property
    def lr(self) -> float:
        return get_lr(self.opt)

    def set_lr(self, lr: float) -> None:
        set_lr(self.opt, lr)

    def step(self, x: int, y: int, train: bool):
        c, H = self.cfg, self.H
        x_t, y_t = self._x_cache[x], self._y_cache[y]
        h_prev = self.h
        self.window.append((x_t, h_prev))
        with torch.set_grad_enabled(train):
            s = self.window[0][1]
            for xi, _ in self.window:
                s_in = s  # the state the step's own (last) cell reads
                h, s, gates = self.model.step(xi, s)
            out = self.model.head(h)
            loss = loss_fn(out, y_t, c.model.readout, c.train.loss)
        if train:
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.h = s.detach()
        y_hat = predict(out.detach(), c.model.readout, c.train.loss)
        parts = tuple(g.detach()[0].cpu().numpy() for g in gates)
        return (float(y_hat), float(loss.detach()), s_in.detach()[0, :H].cpu().numpy(), parts,
                self.h[0, :H].cpu().numpy())

    def h_tensor(self) -> torch.Tensor:
        return self.h[:, :self.H]

    # -- its state: carried state h (and the LSTM's c), window (window.i + meta window_x), optimizer ---------
    def state(self) -> tuple[dict, dict]:
        tensors, meta = torch_state(self.opt, list(self.model.parameters()))
        s = self.h.detach().cpu()
        tensors["h"] = s[:, :self.H].clone()
        if self.D > self.H:
            tensors["c"] = s[:, self.H:].clone()
        for i, (_, hb) in enumerate(self.window):
            tensors[f"window.{i}"] = hb.detach().cpu().clone()
        meta["window_x"] = [int(xv.item()) for xv, _ in self.window]
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_opt = take_torch_state(r, self.opt, list(self.model.parameters()))
        s = r.tensor("h", (1, self.H))
        if self.D > self.H:
            s = torch.cat([s, r.tensor("c", (1, self.H))], dim=1)
        window = take_window(r, self.cfg)

        def install() -> None:
            install_opt()
            self.h = s.to(self.device, torch.float32)
            self.window.clear()
            for xv, hb in window:
                self.window.append((self._x_cache[xv], hb.to(self.device, torch.float32)))
        return install


def sensitivity_views(S: np.ndarray, layout: Layout) -> tuple[np.ndarray, ...]:
    """`sensitivity_step`'s writable strided views of S (H, n_rec) where unit i meets its own gate rows: W_ih's
    (3, H, I) and W_hh's (3, H, H) (core.gru.derivatives.diagonal_views), and both biases' as one (6, H), b_ih's
    rows then b_hh's (adjacent in the flat layout, with the same strides)."""
    w_ih, w_hh, b_ih, _ = diagonal_views(S, layout)
    biases = np.lib.stride_tricks.as_strided(b_ih, shape=(6, layout.units), strides=b_ih.strides, writeable=True)
    return w_ih, w_hh, biases


def sensitivity_step(J, S, S_new, views_new, d, xv, h_prev, decay: float = 1.0) -> np.ndarray:
    """RTRL's S[t] = J_h[t] (decay * S[t-1]) + the immediate term, written into `S_new` (whose
    `sensitivity_views` are `views_new`); d (6, H) holds the coefficients d_ih then d_hh (core.gru.derivatives's
    docstring). Returns S_new. RTRLEngine and fidelity's shadow RTRL share it: the one place the recursion lives."""
    np.matmul(J, S, out=S_new)
    if decay != 1.0:
        S_new *= decay
    dw_ih, dw_hh, db = views_new
    dw_ih += d[:3, :, None] * xv
    dw_hh += d[3:, :, None] * h_prev
    db += d
    return S_new


class TBPTTEngine(_FlatEngine):
    """Truncated BPTT over the last k steps (the autograd loop's semantics), backward and update by hand."""

    name = "fast"
    rule = "tbptt"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.k = cfg.train.window
        self.window: deque = deque(maxlen=self.k)  # (x, state before it)
        self._dg = (np.empty(3 * self.H, F32), np.empty(3 * self.H, F32))  # an earlier step's dL/d(gi), dL/d(gh)

    def step(self, x: int, y: int, train: bool):
        w_ih, w_hh, b_ih, b_hh = self.w_ih, self.w_hh, self.b_ih, self.b_hh
        h_prev = self.h
        win = self.window
        win.append((x, h_prev))
        cache = []
        h = win[0][1]
        for xi, _ in win:  # recompute the window from the state k steps back, with the current weights
            xv = self._xv[xi]
            r, z, n, hn, h_new = cell_forward(xv, h, w_ih, w_hh, b_ih, b_hh)
            cache.append((xv, h, r, z, n, hn))
            h = h_new
        y_hat, lv, dh_out, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            self._readout_grads(h, dout)
            g_wih, g_whh, g_bih, g_bhh = self.g_wih, self.g_whh, self.g_bih, self.g_bhh
            dh = dh_out
            last = len(cache) - 1
            for s in range(last, -1, -1):
                xv, hs, rs, zs, ns, hns = cache[s]
                if s == last:  # the bias gradients written in place: no zeroing, no copies
                    dgi, dgh, dh = cell_backward(dh, hs, rs, zs, ns, hns, w_hh, (g_bih, g_bhh), s > 0)
                    np.multiply(dgi[:, None], xv, out=g_wih)
                    np.multiply(dgh[:, None], hs, out=g_whh)
                else:
                    dgi, dgh, dh = cell_backward(dh, hs, rs, zs, ns, hns, w_hh, self._dg, s > 0)
                    g_bih += dgi
                    g_bhh += dgh
                    g_wih += dgi[:, None] * xv
                    g_whh += dgh[:, None] * hs
        xv, h_prev = cache[-1][0], cache[-1][1]
        self._finish(train, y, (xv, h_prev, r, z, n, hn, h, dh_out, dout))
        self.h = h
        # h_prev: the state the step's own (last) cell read. With k > 1 it is recomputed from k steps back with
        # the current weights, so h = (1 - z) n + z h_prev holds exactly (it can differ slightly from the carried one)
        return y_hat, lv, h_prev, (r, z, n), h

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        for i, (_, hb) in enumerate(self.window):
            tensors[f"window.{i}"] = torch.from_numpy(hb.copy()).reshape(1, -1)
        meta["window_x"] = [int(xv) for xv, _ in self.window]
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_common = self._take_common(r)
        window = [(xv, hb.detach().cpu().numpy().reshape(-1).copy()) for xv, hb in take_window(r, self.cfg)]

        def install() -> None:
            install_common()
            self.window.clear()
            self.window.extend(window)
        return install


class RTRLEngine(_FlatEngine):
    """Real-time recurrent learning: the sensitivity S = dh[t]/dtheta (H x n_rec) carried forward,

        S[t] = J_h[t] (decay * S[t-1]) + dh[t]/dtheta|immediate,   dL[t]/dtheta = dL[t]/dh[t] S[t],

    the exact gradient of the current loss through the whole past (for weights held fixed; decay 1). The
    immediate term is nonzero only where unit i meets its own gate rows, written through strided views.
    S is carried during evaluation too, so it always matches the carried state."""

    name = "fast"
    rule = "rtrl"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.decay = float(cfg.train.rtrl_decay)
        H, P = self.H, self.layout.n_rec
        self.S = np.zeros((H, P), F32)
        self._S2 = np.zeros((H, P), F32)
        self._diag = sensitivity_views(self.S, self.layout)
        self._diag2 = sensitivity_views(self._S2, self.layout)
        self._J = np.empty((H, H), F32)
        self._wh3 = self.w_hh.reshape(3, H, H)
        self._d = np.empty((6, H), F32)  # the coefficients d_ih, d_hh

    def step(self, x: int, y: int, train: bool):
        H = self.H
        xv = self._xv[x]
        h_prev = self.h
        r, z, n, hn, h = cell_forward(xv, h_prev, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        d = self._coefficients(h_prev, r, z, n, hn)
        d_hh = d[3:]
        # J = diag(z) + sum_g diag(d_hh[g]) W_hh[g]
        J = self._J
        np.einsum("gi,gij->ij", d_hh, self._wh3, out=J)
        J.ravel()[:: H + 1] += z
        S_new = sensitivity_step(J, self.S, self._S2, self._diag2, d, xv, h_prev, self.decay)
        self._S2, self.S = self.S, S_new
        self._diag2, self._diag = self._diag, self._diag2
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            np.matmul(dh, S_new, out=self.grad[: self.layout.n_rec])
            self._readout_grads(h, dout)
        self._finish(train, y, (xv, h_prev, r, z, n, hn, h, dh, dout))
        self.h = h
        return y_hat, lv, h_prev, (r, z, n), h

    def _coefficients(self, h_prev, r, z, n, hn) -> np.ndarray:
        """The coefficients d_ih, d_hh (dh'/d pre-activations, (3, H) each) as the two halves of one (6, H).
        A copy of core.rules.approximate.coefficients, kept for speed (preallocated, no dispatch over batch
        dimensions): the same operations on the same numbers; tests/core/rules/test_coefficient_copies.py holds
        it to the original."""
        omz = 1 - z
        dan = omz * (1 - n * n)
        d = self._d
        d_ih, d_hh = d[:3], d[3:]
        d_ih[2] = dan
        d_ih[1] = (h_prev - n) * z * omz
        d_ih[0] = dan * hn * r * (1 - r)
        d_hh[:] = d_ih
        d_hh[2] = dan * r
        return d

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of dh/dtheta per parameter group (the readout does not move h: not listed)."""
        sq = np.einsum("ip,ip->p", self.S, self.S, dtype=np.float64)
        sl = self.layout.slices
        w_ih = sq[sl["W_ih"]].reshape(3, -1).sum(axis=1)
        w_hh = sq[sl["W_hh"]].reshape(3, -1).sum(axis=1)
        out = {f"W_i{g}": float(np.sqrt(v)) for g, v in zip("rzn", w_ih)}
        out.update({f"W_h{g}": float(np.sqrt(v)) for g, v in zip("rzn", w_hh)})
        out["b_ih"] = float(np.sqrt(sq[sl["b_ih"]].sum()))
        out["b_hh"] = float(np.sqrt(sq[sl["b_hh"]].sum()))
        return out

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["rtrl.S"] = torch.from_numpy(self.S.copy())
        meta["window_x"] = []  # RTRL keeps no window; the key is every online engine's
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_common = self._take_common(r)
        if bits(r.value("window_x"), "the window's inputs"):
            raise StateError("truncated or corrupt (an RTRL run keeps no window, but the position has one)")
        S = r.tensor("rtrl.S", self.S.shape).detach().cpu().numpy()

        def install() -> None:
            install_common()
            self.S[:] = S
        return install
