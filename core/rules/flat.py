"""The parts every fast online engine shares: the flat parameter vector shared with the model, its gradient
buffer and flat optimizer, the carried state and its saved form (`_FlatEngine`), and the saved TBPTT window.

Every engine takes one (x, y) per `step(x, y, train)` and returns (y_hat, loss, h_prev, parts, h), `parts` being
the cell's own quantities of the current step in core.snapshot.CELL_PARTS's order (the GRU's r, z, n; the LSTM's
i, f, g, o, c[t-1], c[t]; the RNN's pre-activation a), each (H,); numpy arrays returned are never written again.
The fast engines compute in NumPy float32 on one flat parameter vector `theta`
(core.gru.derivatives.Layout, for the config's cell) and update it with a flat optimizer; they have no torch
optimizer. The model's parameters are made views of that same memory once, at construction (`share_flat`), so
`trainer.model` always holds the current weights with no copying, and in-place writes to the model's parameters
(`model.load_state_dict`, `p.copy_`) reach the engine. Nothing may replace a parameter's storage (`p.data = ...`,
`model.to(...)`): the model is the engine's view, and `state()` refuses to save one that is not. The fast engines
therefore always run on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from core.gru.cells import Model
from core.gru.derivatives import FlatAdam, FlatSGD, Layout, state_size
from core.gru.optimizers import flat_state, take_flat_state
from core.state_checks import StateError, StateReader, bits

F32 = np.float32


def share_flat(model: Model, layout: Layout) -> np.ndarray:
    """Copy the model's parameters into a new flat float32 vector and make the parameters views of it."""
    params = list(model.parameters())
    if len(params) != len(layout.slices):
        raise ValueError("model parameters do not match the flat layout")
    theta = np.empty(layout.size, F32)
    flat_t = torch.from_numpy(theta)
    with torch.no_grad():
        for p, sl in zip(params, layout.slices.values()):
            theta[sl] = p.detach().cpu().numpy().ravel()
            p.data = flat_t[sl].view(p.shape)
    return theta


def take_window(r: StateReader, cfg) -> list[tuple[int, torch.Tensor]]:
    """The TBPTT window: its inputs (meta `window_x`) and the state before each (`window.i`, (1, state size):
    h, or the LSTM's [h, c])."""
    wx = bits(r.value("window_x"), "the window's inputs")
    if len(wx) > cfg.train.window:
        raise StateError(f"truncated or corrupt (the window holds {len(wx)} steps; window is {cfg.train.window})")
    have = r.tensors_named("window.")
    if have != sorted(f"window.{i}" for i in range(len(wx))):
        raise StateError("truncated or corrupt (the window's saved states do not match its inputs)")
    size = state_size(cfg.model.cell, cfg.model.units)
    return [(xv, r.tensor(f"window.{i}", (1, size))) for i, xv in enumerate(wx)]




class _FlatEngine:
    """Shared parts of the fast engines: the flat parameters shared with the model, gradient buffer, optimizer."""

    def __init__(self, model: Model, cfg):
        self.model, self.cfg = model, cfg
        H = cfg.model.units
        self.H = H
        self.readout, self.loss = cfg.model.readout, cfg.train.loss
        self.layout = Layout(H, 1, cfg.model.readout == "linear", cfg.model.cell)
        self.theta = share_flat(model, self.layout)
        self._params = list(model.parameters())
        v = self.layout.views(self.theta)
        self.w_ih, self.w_hh = v["W_ih"], v["W_hh"]
        self.w_out, self.b_out = v.get("w_out"), v.get("b_out")
        self.grad = np.zeros(self.layout.size, F32)
        g = self.layout.views(self.grad)
        self.g_wih, self.g_whh = g["W_ih"], g["W_hh"]
        self.g_wout, self.g_bout = g.get("w_out"), g.get("b_out")
        if self.layout.cell == "gru":  # two biases
            self.b_ih, self.b_hh, self.g_bih, self.g_bhh = v["b_ih"], v["b_hh"], g["b_ih"], g["b_hh"]
        else:  # Keras's one bias (core.gru.cells)
            self.b, self.g_b = v["b"], g["b"]
        self.opt = (FlatAdam(self.layout.size, F32, eps=cfg.train.adam_eps) if cfg.train.optimizer == "adam"
                    else FlatSGD(self.layout.size, F32))
        self.lr = float(cfg.train.lr)
        self.h = np.zeros(H, F32)
        self._xv = {0: np.zeros(1, F32), 1: np.ones(1, F32)}

    def set_lr(self, lr: float) -> None:
        self.lr = float(lr)

    def h_tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.h.copy()).reshape(1, -1)

    def _finish(self, train: bool, y: int, fwd: tuple) -> None:
        """A step's end, before the carried state moves on: the update when training. `fwd` is the step's own
        cell forward and readout (xv, h_prev, r, z, n, hn, h, dL/dh, dL/dout) at the weights before the update;
        a measuring subclass (core.rules.fidelity's FidelityMixin) reads it here instead of recomputing it."""
        if train:
            self.opt.update(self.theta, self.grad, self.lr)

    def _readout_grads(self, h, dout) -> None:
        if self.g_wout is not None and self.g_bout is not None:  # set with w_out (the same layout)
            np.multiply(h, dout, out=self.g_wout[0])
            self.g_bout[0] = dout

    # -- its state: carried state h, optimizer, and what each engine adds -----------------------------------
    def _shared(self) -> bool:
        theta = self.theta.ctypes.data
        return all(p.device.type == "cpu" and p.data_ptr() == theta + sl.start * 4
                   for p, sl in zip(self._params, self.layout.slices.values()))

    def state(self) -> tuple[dict, dict]:
        if not self._shared():
            raise RuntimeError("the model's parameters no longer share the fast engine's memory (a parameter's "
                               "storage was replaced); the engine's weights are the trainer's")
        opt = self.opt
        if isinstance(opt, FlatAdam):
            tensors, meta = flat_state(opt.name, opt.t, opt.m, opt.v)
        else:
            tensors, meta = flat_state(opt.name, 0, None, None)
        tensors["h"] = torch.from_numpy(self.h.copy()).reshape(1, -1)
        return tensors, meta

    def _take_common(self, r: StateReader) -> Callable[[], None]:
        got = take_flat_state(r, self.opt.name, self.layout.size)
        h = r.tensor("h", (1, self.H)).detach().cpu().numpy().reshape(-1).copy()

        def install() -> None:
            if got is not None:  # saved Adam state: only taken when self.opt is Adam
                opt = self.opt
                assert isinstance(opt, FlatAdam)
                opt.t, opt.m[:], opt.v[:] = got
            self.h = h
        return install

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Check a saved position and return what installs it; each engine takes its own (with _take_common)."""
        raise NotImplementedError


