"""Trainers: online (stateful, batch 1, truncation window k) and batch (Keras-style epochs of minibatches).

Both build their model, optimizer and data from a validated `Config`, are reproducible from its seed, and
advance with `step()`, which returns an immutable record of numpy values (never live tensors).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import Config
from .device import resolve_device
from .model import GRUModel, loss_fn, predict
from .tasks import BitStream, make_dataset, make_targets


def make_optimizer(params, name: str, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    return torch.optim.Adam(params, lr=lr)  # Keras's defaults: lr 1e-3, betas (0.9, 0.999)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


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


@dataclass(frozen=True)
class BatchRecord:
    """One minibatch; `epoch_end` carries the epoch's Keras-style logs when this batch closed an epoch."""

    epoch: int  # 0-based epoch this batch belongs to
    batch: int
    batches_per_epoch: int
    loss: float
    accuracy: float
    epoch_end: dict | None = None


@dataclass(frozen=True)
class ProbeView:
    """The model on a fixed probe sequence: inputs, targets, predictions and internals, (T,) / (T, H)."""

    x: np.ndarray
    y: np.ndarray
    y_hat: np.ndarray
    h: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    loss: float
    accuracy: float


class BatchTrainer:
    """Keras-style batch training: N sequences of L steps, minibatches, epochs, validation from the end."""

    mode = "batch"

    def __init__(self, cfg: Config, probe_len: int = 200):
        self.cfg = cfg.validate()
        t = cfg.train
        self.device, self.device_warning = resolve_device(t.device)
        torch.manual_seed(t.seed)
        self.model = GRUModel(cfg.model).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), t.optimizer, t.lr)
        data = make_dataset(cfg.task, t.n_sequences, t.seq_len, t.validation_split, seed=t.seed)

        def as_t(a):
            return torch.as_tensor(a, dtype=torch.float32, device=self.device).unsqueeze(-1)

        self.x_train, self.y_train = as_t(data.x_train), as_t(data.y_train)
        self.x_val, self.y_val = as_t(data.x_val), as_t(data.y_val)
        self.n_train = len(data.x_train)
        self.batches_per_epoch = math.ceil(self.n_train / t.batch_size)
        self._gen = torch.Generator().manual_seed(t.seed)
        self._perm = self._new_perm()
        self.epoch = 0
        self.batch = 0
        self._sum_loss = 0.0
        self._sum_correct = 0.0
        self._sum_n = 0
        self.history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        prng = np.random.default_rng(t.seed + 7919)  # the probe stream is its own, fixed for the run
        self.probe_x = (prng.random(probe_len) < cfg.task.p).astype(np.int64)
        self.probe_y = make_targets(self.probe_x, cfg.task.kind, cfg.task.lag)

    @property
    def n_params(self) -> int:
        return self.model.n_params()

    @property
    def done(self) -> bool:
        return self.epoch >= self.cfg.train.epochs

    def set_lr(self, lr: float) -> None:
        set_lr(self.opt, lr)

    def _new_perm(self) -> torch.Tensor:
        if self.cfg.train.shuffle:
            return torch.randperm(self.n_train, generator=self._gen)
        return torch.arange(self.n_train)

    def _metrics(self, out, y):
        c = self.cfg
        loss = loss_fn(out, y, c.model.readout, c.train.loss)
        pred = predict(out.detach(), c.model.readout, c.train.loss)
        correct = ((pred >= 0.5).float() == y).float().mean()
        return loss, float(correct)

    def step(self) -> BatchRecord:
        """Train one minibatch; at the end of an epoch, evaluate validation and append to history."""
        bs = self.cfg.train.batch_size
        idx = self._perm[self.batch * bs:(self.batch + 1) * bs].to(self.device)
        xb, yb = self.x_train[idx], self.y_train[idx]
        self.model.train()
        out, _ = self.model(xb)
        loss, acc = self._metrics(out, yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        lv = float(loss.detach())
        nb = len(idx)
        self._sum_loss += lv * nb
        self._sum_correct += acc * nb
        self._sum_n += nb
        epoch, batch = self.epoch, self.batch
        self.batch += 1
        logs = None
        if self.batch >= self.batches_per_epoch:
            logs = {"epoch": epoch + 1, "loss": self._sum_loss / self._sum_n,
                    "accuracy": self._sum_correct / self._sum_n}
            logs.update(self.validate())
            for k in self.history:
                self.history[k].append(logs.get(k, float("nan")))
            self.epoch += 1
            self.batch = 0
            self._sum_loss = self._sum_correct = 0.0
            self._sum_n = 0
            self._perm = self._new_perm()
        return BatchRecord(epoch, batch, self.batches_per_epoch, lv, acc, logs)

    @torch.no_grad()
    def validate(self) -> dict:
        if len(self.x_val) == 0:
            return {"val_loss": float("nan"), "val_accuracy": float("nan")}
        out, _ = self.model(self.x_val)
        loss, acc = self._metrics(out, self.y_val)
        return {"val_loss": float(loss), "val_accuracy": acc}

    def run_epoch(self) -> dict:
        while True:
            rec = self.step()
            if rec.epoch_end is not None:
                return rec.epoch_end

    @torch.no_grad()
    def probe(self) -> ProbeView:
        """The model run over the probe sequence from a zero state, one cell step at a time."""
        c = self.cfg
        T, H = len(self.probe_x), c.model.units
        hs, rs, zs, ns = (np.zeros((T, H), dtype=np.float32) for _ in range(4))
        h = torch.zeros(1, H, device=self.device)
        xs = torch.as_tensor(self.probe_x, dtype=torch.float32, device=self.device).reshape(T, 1, 1)
        outs = []
        for i in range(T):
            g = self.model.cell(xs[i], h)
            h = g.h
            hs[i], rs[i], zs[i], ns[i] = (v[0].cpu().numpy() for v in (g.h, g.r, g.z, g.n))
            outs.append(self.model.head(h))
        out = torch.cat(outs).unsqueeze(0)  # (1, T, 1|H)
        y = torch.as_tensor(self.probe_y, dtype=torch.float32, device=self.device).reshape(1, T, 1)
        loss, acc = self._metrics(out, y)
        y_hat = predict(out, c.model.readout, c.train.loss)[0, :, 0].cpu().numpy()
        return ProbeView(self.probe_x.copy(), self.probe_y.copy(), y_hat, hs, rs, zs, ns, float(loss), acc)


def make_trainer(cfg: Config):
    return BatchTrainer(cfg) if cfg.train.mode == "batch" else OnlineTrainer(cfg)


@dataclass
class RateMeter:
    """Steps per second over a sliding window of recent (time, count) marks."""

    horizon: float = 2.0
    _marks: deque = field(default_factory=lambda: deque(maxlen=256))

    def mark(self, count: int, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        self._marks.append((now, count))
        while len(self._marks) > 2 and now - self._marks[0][0] > self.horizon:
            self._marks.popleft()
        (t0, c0), (t1, c1) = self._marks[0], self._marks[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
