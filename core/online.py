"""Online training: stateful, batch 1, one timestep per optimizer step; rule tbptt (window k) or rtrl.

`OnlineTrainer.step()` returns an immutable `StepRecord` of numpy values (never live tensors); the trainer's
whole position (weights, optimizer, stream, carried state, RTRL's sensitivity) round-trips through
`state_dict()`. The per-step work is done by an engine (core/online_engines.py): `engine="fast"` (the
default: hand-written NumPy TBPTT or RTRL on the CPU) or `engine="autograd"` (the plain torch loop, tbptt only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .device import resolve_device
from .model import GRUModel
from .online_engines import make_engine
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

    Rule tbptt: each step's loss is backpropagated through the last k = window timesteps (recomputed from the
    state k steps back with the current weights); the state itself is carried forward, never reset. k = 1 is
    the question's setting: the gradient is cut at the step. Rule rtrl: the exact gradient through the whole
    past, carried forward as the sensitivity dh/dtheta (optionally decayed by rtrl_decay each step).

    engine: "fast" (default) runs the hand-written NumPy engines on the CPU, sharing memory with `model`'s
    parameters (so `model` always holds the current weights); "autograd" is the plain torch loop (tbptt
    only, any device), kept as the reference and the benchmark's baseline.
    """

    mode = "online"

    def __init__(self, cfg: Config, engine: str = "fast"):
        self.cfg = cfg.validate()
        if engine not in ("fast", "autograd"):
            raise ValueError(f"unknown online engine {engine!r}; choose fast or autograd")
        self.device, self.device_warning = resolve_device(cfg.train.device)
        if engine == "fast" and self.device.type != "cpu":
            self.device = torch.device("cpu")
            self.device_warning = ((self.device_warning + " ") if self.device_warning else "") + (
                "The fast online engines run on the CPU (at batch 1 it is faster than a GPU); "
                "use engine='autograd' to train on CUDA.")
        torch.manual_seed(cfg.train.seed)
        self.model = GRUModel(cfg.model).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), cfg.train.optimizer, cfg.train.lr, cfg.train.adam_eps)
        self.stream = BitStream(cfg.task, seed=cfg.train.seed)
        self.engine = make_engine(engine, self.model, self.opt, self.cfg, self.device)
        self.t = 0

    @property
    def n_params(self) -> int:
        return self.model.n_params()

    @property
    def h(self) -> torch.Tensor:
        """The carried state, (1, units)."""
        return self.engine.h_tensor()

    def sync_model(self) -> None:
        """Make `model` and the engine agree. The fast engines share memory with the model's parameters, so
        this only matters after a parameter's storage was replaced (the engine then adopts the model's values,
        as it also does by itself at its next step); a no-op for the autograd engine."""
        f = getattr(self.engine, "check_shared", None)
        if f is not None:
            f()

    def set_lr(self, lr: float) -> None:
        set_lr(self.opt, lr)

    def step(self, train: bool = True) -> StepRecord:
        x, y = self.stream.next()
        y_hat, lv, h_prev, r, z, n, h = self.engine.step(x, y, train, self.opt.param_groups[0]["lr"])  # the live lr
        rec = StepRecord(t=self.t, x=x, y=y, y_hat=y_hat, loss=lv, h_prev=h_prev, r=r, z=z, n=n, h=h, updated=train)
        self.t += 1
        return rec

    def evaluate(self, n: int) -> dict:
        """Held-out accuracy: the next n steps of the same stream, weights frozen, state carried."""
        correct, total_loss = 0, 0.0
        for _ in range(n):
            rec = self.step(train=False)
            correct += rec.correct
            total_loss += rec.loss
        if n <= 0:  # no held-out steps: nothing was measured
            return {"accuracy": float("nan"), "loss": float("nan"), "steps": 0}
        return {"accuracy": correct / n, "loss": total_loss / n, "steps": n}

    def sensitivity_norms(self) -> dict[str, float]:
        """RTRL: Frobenius norm of dh/dtheta per parameter group (W_ir, W_iz, W_in, W_hr, W_hz, W_hn, b_ih,
        b_hh); the readout does not move h and is not listed. Empty under tbptt."""
        f = getattr(self.engine, "sensitivity_norms", None)
        return f() if f is not None else {}

    # -- the whole position, for sessions ------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, meta): named CPU tensors and JSON-able values that restore this exact position.

        The same keys for every engine (model.*, opt.* in torch.optim's format, h, window.i; meta t, stream,
        optimizer, window_x), plus the tensor rtrl.S (units x cell parameters) under rtrl, so a tbptt checkpoint
        loads into either engine. A checkpoint without rtrl.S loaded under rtrl starts the sensitivity at 0."""
        tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        self.engine.sync_optimizer_to_torch()
        ot, om = optimizer_state(self.opt)
        tensors.update(ot)
        et, em = self.engine.state()
        tensors.update(et)
        meta = {"t": self.t, "stream": self.stream.state_dict(), "optimizer": om, **em}
        return tensors, meta

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        msd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        h = tensors["h"]
        if tuple(h.shape) != (1, self.cfg.model.units):
            raise ValueError(f"carried state has shape {tuple(h.shape)}, expected (1, {self.cfg.model.units})")
        self.model.load_state_dict(msd, strict=True)  # in place: the fast engines share this memory
        load_optimizer_state(self.opt, tensors, meta["optimizer"])
        self.engine.sync_optimizer_from_torch()
        self.engine.load_state(tensors, meta)
        self.stream.load_state_dict(meta["stream"])
        self.t = int(meta["t"])
