"""Online training: stateful, batch 1, one timestep per optimizer step, truncation window k.

`OnlineTrainer.step()` returns an immutable `StepRecord` of numpy values (never live tensors); the trainer's
whole position (weights, optimizer, stream, carried state) round-trips through `state_dict()`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .device import resolve_device
from .model import GRUModel, loss_fn, predict
from .optim import load_optimizer_state, make_optimizer, optimizer_state, set_lr
from .tasks import BitStream


@dataclass(frozen=True)
class StepRecord:
    """One online timestep: x, y, prediction, loss, the state before and after, and the gates."""

    t: int
    x: int
    y: int
    y_hat: float
    loss: float
    h_prev: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    h: np.ndarray
    updated: bool

    @property
    def correct(self) -> bool:
        return (self.y_hat >= 0.5) == bool(self.y)


class OnlineTrainer:
    """Stateful online training: one timestep per optimizer step, state carried between steps.

    With window k, each step's loss is backpropagated through the last k timesteps (recomputed from the
    state k steps back with the current weights); the state itself is carried forward, never reset.
    k = 1 is the question's setting: the gradient is cut at the step.
    """

    mode = "online"

    def __init__(self, cfg: Config):
        self.cfg = cfg.validate()
        self.device, self.device_warning = resolve_device(cfg.train.device)
        torch.manual_seed(cfg.train.seed)
        self.model = GRUModel(cfg.model).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), cfg.train.optimizer, cfg.train.lr)
        self.stream = BitStream(cfg.task, seed=cfg.train.seed)
        self.h = torch.zeros(1, cfg.model.units, device=self.device)
        self._window: deque = deque(maxlen=cfg.train.window)  # (x tensor, state before it)
        self._x_cache = {v: torch.tensor([[float(v)]], device=self.device) for v in (0, 1)}
        self._y_cache = {v: torch.tensor([[float(v)]], device=self.device) for v in (0, 1)}
        self.t = 0

    @property
    def n_params(self) -> int:
        return self.model.n_params()

    def set_lr(self, lr: float) -> None:
        set_lr(self.opt, lr)

    def step(self, train: bool = True) -> StepRecord:
        c = self.cfg
        x, y = self.stream.next()
        x_t, y_t = self._x_cache[x], self._y_cache[y]
        h_prev = self.h
        self._window.append((x_t, h_prev))
        with torch.set_grad_enabled(train):
            h = self._window[0][1]
            for xi, _ in self._window:
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
        rec = StepRecord(
            t=self.t, x=x, y=y, y_hat=float(y_hat), loss=float(loss.detach()),
            h_prev=h_prev[0].cpu().numpy(), r=g.r.detach()[0].cpu().numpy(), z=g.z.detach()[0].cpu().numpy(),
            n=g.n.detach()[0].cpu().numpy(), h=self.h[0].cpu().numpy(), updated=train)
        self.t += 1
        return rec

    def evaluate(self, n: int) -> dict:
        """Held-out accuracy: the next n steps of the same stream, weights frozen, state carried."""
        correct, total_loss = 0, 0.0
        for _ in range(n):
            rec = self.step(train=False)
            correct += rec.correct
            total_loss += rec.loss
        return {"accuracy": correct / max(n, 1), "loss": total_loss / max(n, 1), "steps": n}


    # -- the whole position, for sessions ------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, meta): named CPU tensors and JSON-able values that restore this exact position."""
        tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        ot, om = optimizer_state(self.opt)
        tensors.update(ot)
        tensors["h"] = self.h.detach().cpu().clone()
        for i, (_, hb) in enumerate(self._window):
            tensors[f"window.{i}"] = hb.detach().cpu().clone()
        meta = {"t": self.t, "stream": self.stream.state_dict(), "optimizer": om,
                "window_x": [int(xv.item()) for xv, _ in self._window]}
        return tensors, meta

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        msd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(msd, strict=True)
        load_optimizer_state(self.opt, tensors, meta["optimizer"])
        h = tensors["h"].to(self.device, torch.float32)
        if h.shape != (1, self.cfg.model.units):
            raise ValueError(f"carried state has shape {tuple(h.shape)}, expected (1, {self.cfg.model.units})")
        self.h = h
        self._window.clear()
        for i, xv in enumerate(meta["window_x"][-self.cfg.train.window:]):
            self._window.append((self._x_cache[int(xv)], tensors[f"window.{i}"].to(self.device, torch.float32)))
        self.stream.load_state_dict(meta["stream"])
        self.t = int(meta["t"])
