"""Online engines behind OnlineTrainer: the plain autograd loop, a fast truncated-BPTT engine and RTRL.

Every engine takes one (x, y) per `step(x, y, train, lr)` and returns (y_hat, loss, h_prev, r, z, n, h), the
last three gates being the current step's; numpy arrays returned are fresh and never written again.

The fast engines (`TBPTTEngine`, `RTRLEngine`) compute in NumPy float32 with the hand-derived math of
core.gru_math, on one flat parameter vector `theta`. The GRUModel's parameters are re-pointed at views of that
same memory (`share_flat`), so `trainer.model` always holds the current weights with no copying, and in-place
writes to the model's parameters (e.g. `model.load_state_dict`) are seen by the engine. Should something
replace a parameter's storage (e.g. `model.to(...)`), the engine notices at its next step and adopts the
model's values (`adopt`). The fast engines therefore always run on the CPU.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from .gru_math import FlatAdam, FlatSGD, Layout, cell_forward, diagonal_views, readout_loss
from .model import GRUModel, loss_fn, predict

F32 = np.float32


def share_flat(model: GRUModel, layout: Layout, theta: np.ndarray | None = None) -> np.ndarray:
    """Copy the model's parameters into a flat float32 vector and make the parameters views of it."""
    params = list(model.parameters())
    if len(params) != len(layout.slices):
        raise ValueError("model parameters do not match the flat layout")
    if theta is None:
        theta = np.empty(layout.size, F32)
    flat_t = torch.from_numpy(theta)
    with torch.no_grad():
        for p, sl in zip(params, layout.slices.values()):
            theta[sl] = p.detach().cpu().numpy().ravel()
            p.data = flat_t[sl].view(p.shape)
    return theta


class AutogradEngine:
    """The plain loop: torch autograd through the last k steps, recomputed from the state k steps back with
    the current weights; torch.optim does the update. Works on any device. TBPTT only."""

    name = "autograd"
    rule = "tbptt"

    def __init__(self, model: GRUModel, opt: torch.optim.Optimizer, cfg, device):
        self.model, self.opt, self.cfg, self.device = model, opt, cfg, device
        self.h = torch.zeros(1, cfg.model.units, device=device)
        self.window: deque = deque(maxlen=cfg.train.window)  # (x tensor, state before it)
        self._x_cache = {v: torch.tensor([[float(v)]], device=device) for v in (0, 1)}
        self._y_cache = {v: torch.tensor([[float(v)]], device=device) for v in (0, 1)}

    def step(self, x: int, y: int, train: bool, lr: float):
        c = self.cfg
        x_t, y_t = self._x_cache[x], self._y_cache[y]
        h_prev = self.h
        self.window.append((x_t, h_prev))
        with torch.set_grad_enabled(train):
            h = self.window[0][1]
            for xi, _ in self.window:
                h_in = h  # the state the step's own (last) cell reads
                g = self.model.cell(xi, h)
                h = g.h
            out = self.model.head(h)
            loss = loss_fn(out, y_t, c.model.readout, c.train.loss)
        if train:
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.h = h.detach()
        y_hat = predict(out.detach(), c.model.readout, c.train.loss)
        return (float(y_hat), float(loss.detach()), h_in.detach()[0].cpu().numpy(), g.r.detach()[0].cpu().numpy(),
                g.z.detach()[0].cpu().numpy(), g.n.detach()[0].cpu().numpy(), self.h[0].cpu().numpy())

    def h_tensor(self) -> torch.Tensor:
        return self.h

    def state(self) -> tuple[dict, dict]:
        tensors = {"h": self.h.detach().cpu().clone()}
        for i, (_, hb) in enumerate(self.window):
            tensors[f"window.{i}"] = hb.detach().cpu().clone()
        return tensors, {"window_x": [int(xv.item()) for xv, _ in self.window]}

    def load_state(self, tensors: dict, meta: dict) -> None:
        self.h = tensors["h"].to(self.device, torch.float32)
        self.window.clear()
        for i, xv in enumerate(meta.get("window_x", [])[-self.cfg.train.window:]):
            self.window.append((self._x_cache[int(xv)], tensors[f"window.{i}"].to(self.device, torch.float32)))

    def sync_optimizer_to_torch(self) -> None:  # torch.optim already holds the state
        pass

    def sync_optimizer_from_torch(self) -> None:
        pass


class _FlatEngine:
    """Shared parts of the fast engines: the flat parameters shared with the model, gradient buffer, optimizer."""

    def __init__(self, model: GRUModel, opt: torch.optim.Optimizer, cfg):
        self.model, self.torch_opt, self.cfg = model, opt, cfg
        H = cfg.model.units
        self.H = H
        self.readout, self.loss = cfg.model.readout, cfg.train.loss
        self.layout = Layout(H, 1, cfg.model.readout == "linear")
        self.theta = share_flat(model, self.layout)
        self._params = list(model.parameters())
        self._ptrs = [p.data_ptr() for p in self._params]
        v = self.layout.views(self.theta)
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = v["W_ih"], v["W_hh"], v["b_ih"], v["b_hh"]
        self.w_out, self.b_out = v.get("w_out"), v.get("b_out")
        self.grad = np.zeros(self.layout.size, F32)
        g = self.layout.views(self.grad)
        self.g_wih, self.g_whh, self.g_bih, self.g_bhh = g["W_ih"], g["W_hh"], g["b_ih"], g["b_hh"]
        self.g_wout, self.g_bout = g.get("w_out"), g.get("b_out")
        self.opt = (FlatAdam(self.layout.size, F32, eps=cfg.train.adam_eps) if cfg.train.optimizer == "adam"
                    else FlatSGD(self.layout.size, F32))
        self.h = np.zeros(H, F32)
        self._xv = {0: np.zeros(1, F32), 1: np.ones(1, F32)}

    # -- the parameters shared with the model ------------------------------------------------------------
    def check_shared(self) -> None:
        """Re-share when something replaced a parameter's storage; cheap enough to call every step."""
        if [p.data_ptr() for p in self._params] != self._ptrs:
            self.adopt()

    def adopt(self) -> None:
        """Take the model's current parameter values (wherever they live) and share memory with them again."""
        if any(p.device.type != "cpu" for p in self._params):
            self.model.to("cpu")
        share_flat(self.model, self.layout, self.theta)
        self._ptrs = [p.data_ptr() for p in self._params]

    def h_tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.h.copy()).reshape(1, -1)

    def _readout_grads(self, h, dout) -> None:
        if self.w_out is not None:
            np.multiply(h, dout, out=self.g_wout[0])
            self.g_bout[0] = dout

    # -- optimizer state in torch.optim's own format, so checkpoints load into any engine ----------------
    def sync_optimizer_to_torch(self) -> None:
        opt = self.opt
        self.torch_opt.state.clear()
        if not isinstance(opt, FlatAdam) or opt.t == 0:
            return
        for p, sl in zip(self._params, self.layout.slices.values()):
            self.torch_opt.state[p] = {
                "step": torch.tensor(float(opt.t)),
                "exp_avg": torch.from_numpy(opt.m[sl].copy()).view(p.shape),
                "exp_avg_sq": torch.from_numpy(opt.v[sl].copy()).view(p.shape)}

    def sync_optimizer_from_torch(self) -> None:
        opt = self.opt
        if not isinstance(opt, FlatAdam):
            return
        opt.m[:] = 0
        opt.v[:] = 0
        opt.t = 0
        for p, sl in zip(self._params, self.layout.slices.values()):
            st = self.torch_opt.state.get(p)
            if not st:
                continue
            opt.m[sl] = st["exp_avg"].detach().cpu().numpy().ravel()
            opt.v[sl] = st["exp_avg_sq"].detach().cpu().numpy().ravel()
            opt.t = int(float(st["step"]))


class TBPTTEngine(_FlatEngine):
    """Truncated BPTT over the last k steps (the autograd loop's semantics), backward and update by hand."""

    name = "fast"
    rule = "tbptt"

    def __init__(self, model, opt, cfg):
        super().__init__(model, opt, cfg)
        self.k = cfg.train.window
        self.window: deque = deque(maxlen=self.k)  # (x, state before it)

    def step(self, x: int, y: int, train: bool, lr: float):
        self.check_shared()
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
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            self._readout_grads(h, dout)
            H = self.H
            g_wih, g_whh, g_bih, g_bhh = self.g_wih, self.g_whh, self.g_bih, self.g_bhh
            last = len(cache) - 1
            for s in range(last, -1, -1):
                xv, hs, rs, zs, ns, hns = cache[s]
                omz = 1 - zs
                dan = dh * omz * (1 - ns * ns)
                daz = dh * (hs - ns) * zs * omz
                dar = dan * hns * rs * (1 - rs)
                dhn = dan * rs
                if s == last:  # write the gradient buffer directly, no zeroing needed
                    g_bih[:H] = dar
                    g_bih[H:2 * H] = daz
                    g_bih[2 * H:] = dan
                    g_bhh[:2 * H] = g_bih[:2 * H]
                    g_bhh[2 * H:] = dhn
                    np.multiply(g_bih[:, None], xv, out=g_wih)
                    np.multiply(g_bhh[:, None], hs, out=g_whh)
                    dgh = g_bhh
                else:
                    dgi = np.concatenate([dar, daz, dan])
                    dgh = np.concatenate([dar, daz, dhn])
                    g_bih += dgi
                    g_bhh += dgh
                    g_wih += dgi[:, None] * xv
                    g_whh += dgh[:, None] * hs
                if s:
                    dh = dh * zs + dgh @ w_hh
            self.opt.update(self.theta, self.grad, lr)
        self.h = h
        # h_prev: the state the step's own (last) cell read. With k > 1 it is recomputed from k steps back with
        # the current weights, so h = (1 - z) n + z h_prev holds exactly (it can differ slightly from the carried one)
        return y_hat, lv, cache[-1][1], r, z, n, h

    def state(self) -> tuple[dict, dict]:
        tensors = {"h": torch.from_numpy(self.h.copy()).reshape(1, -1)}
        for i, (_, hb) in enumerate(self.window):
            tensors[f"window.{i}"] = torch.from_numpy(hb.copy()).reshape(1, -1)
        return tensors, {"window_x": [int(xv) for xv, _ in self.window]}

    def load_state(self, tensors: dict, meta: dict) -> None:
        self.h = tensors["h"].detach().cpu().to(torch.float32).numpy().reshape(-1).copy()
        self.window.clear()
        for i, xv in enumerate(meta.get("window_x", [])[-self.k:]):
            hb = tensors[f"window.{i}"].detach().cpu().to(torch.float32).numpy().reshape(-1).copy()
            self.window.append((int(xv), hb))


class RTRLEngine(_FlatEngine):
    """Real-time recurrent learning: the sensitivity S = dh[t]/dtheta (H x n_rec) carried forward,

        S[t] = J_h[t] (decay * S[t-1]) + dh[t]/dtheta|immediate,   dL[t]/dtheta = dL[t]/dh[t] S[t],

    the exact gradient of the current loss through the whole past (for weights held fixed; decay 1). The
    immediate term is nonzero only where unit i meets its own gate rows, written through strided views.
    S is carried during evaluation too, so it always matches the carried state."""

    name = "fast"
    rule = "rtrl"

    def __init__(self, model, opt, cfg):
        super().__init__(model, opt, cfg)
        self.decay = float(cfg.train.rtrl_decay)
        H, P = self.H, self.layout.n_rec
        self.S = np.zeros((H, P), F32)
        self._S2 = np.zeros((H, P), F32)
        self._diag = diagonal_views(self.S, self.layout)
        self._diag2 = diagonal_views(self._S2, self.layout)
        self._J = np.empty((H, H), F32)
        self._wh3 = self.w_hh.reshape(3, H, H)

    def step(self, x: int, y: int, train: bool, lr: float):
        self.check_shared()
        H = self.H
        xv = self._xv[x]
        h_prev = self.h
        r, z, n, hn, h = cell_forward(xv, h_prev, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        # coefficients d_ih, d_hh (dh'/d pre-activations), in (3, H)
        omz = 1 - z
        dan = omz * (1 - n * n)
        d_ih = np.empty((3, H), F32)
        d_ih[2] = dan
        d_ih[1] = (h_prev - n) * z * omz
        d_ih[0] = dan * hn * r * (1 - r)
        d_hh = d_ih.copy()
        d_hh[2] = dan * r
        # J = diag(z) + sum_g diag(d_hh[g]) W_hh[g]
        J = self._J
        np.einsum("gi,gij->ij", d_hh, self._wh3, out=J)
        J.ravel()[:: H + 1] += z
        S_new = self._S2
        np.matmul(J, self.S, out=S_new)
        if self.decay != 1.0:
            S_new *= self.decay
        dw_ih, dw_hh, db_ih, db_hh = self._diag2
        dw_ih += d_ih[:, :, None] * xv
        dw_hh += d_hh[:, :, None] * h_prev
        db_ih += d_ih
        db_hh += d_hh
        self._S2, self.S = self.S, S_new
        self._diag2, self._diag = self._diag, self._diag2
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            np.matmul(dh, S_new, out=self.grad[: self.layout.n_rec])
            self._readout_grads(h, dout)
            self.opt.update(self.theta, self.grad, lr)
        self.h = h
        return y_hat, lv, h_prev, r, z, n, h

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
        return ({"h": torch.from_numpy(self.h.copy()).reshape(1, -1), "rtrl.S": torch.from_numpy(self.S.copy())},
                {"window_x": []})

    def load_state(self, tensors: dict, meta: dict) -> None:
        self.h = tensors["h"].detach().cpu().to(torch.float32).numpy().reshape(-1).copy()
        S = tensors.get("rtrl.S")
        if S is None:  # a checkpoint from a tbptt run: the sensitivity starts again from zero
            self.S[:] = 0
        else:
            if tuple(S.shape) != self.S.shape:
                raise ValueError(f"RTRL sensitivity has shape {tuple(S.shape)}, expected {self.S.shape}")
            self.S[:] = S.detach().cpu().to(torch.float32).numpy()


def make_engine(name: str, model: GRUModel, opt, cfg, device):
    rule = cfg.train.rule
    if name == "autograd":
        if rule != "tbptt":
            raise ValueError(f"the autograd engine implements rule tbptt only, not {rule!r}; use engine='fast'")
        return AutogradEngine(model, opt, cfg, device)
    if name != "fast":
        raise ValueError(f"unknown online engine {name!r}; choose fast or autograd")
    return RTRLEngine(model, opt, cfg) if rule == "rtrl" else TBPTTEngine(model, opt, cfg)
