"""Batch training as Keras does it: N sequences of L steps, shuffled minibatches, epochs, validation from the end.

`BatchTrainer.step()` trains one minibatch; per-epoch logs (loss, accuracy, val_loss, val_accuracy) build a
Keras-like history; `probe()` runs a fixed probe sequence whose inputs, predictions and internals can be shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .device import resolve_device
from .model import GRUModel, loss_fn, predict
from .optim import load_optimizer_state, make_optimizer, optimizer_state, set_lr
from .tasks import make_dataset, make_targets


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
    step_loss: np.ndarray  # (T,) each step's loss, as the configured loss counts it


class BatchTrainer:
    """Keras-style batch training: N sequences of L steps, minibatches, epochs, validation from the end."""

    mode = "batch"

    def __init__(self, cfg: Config, probe_len: int = 200):
        self.cfg = cfg.validate()
        t = cfg.train
        self.device, self.device_warning = resolve_device(t.device)
        torch.manual_seed(t.seed)
        self.model = GRUModel(cfg.model).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), t.optimizer, t.lr, t.adam_eps)
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
        step_loss = loss_fn(out, y, c.model.readout, c.train.loss, reduction="step")[0].cpu().numpy()
        return ProbeView(self.probe_x.copy(), self.probe_y.copy(), y_hat, hs, rs, zs, ns, float(loss), acc,
                         step_loss.astype(np.float32))


    # -- the whole position, for sessions ------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        ot, om = optimizer_state(self.opt)
        tensors.update(ot)
        tensors["perm"] = self._perm.cpu().contiguous()
        tensors["generator"] = self._gen.get_state().clone()
        meta = {"epoch": self.epoch, "batch": self.batch, "sum_loss": self._sum_loss,
                "sum_correct": self._sum_correct, "sum_n": self._sum_n, "history": self.history,
                "optimizer": om}
        return tensors, meta

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        msd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(msd, strict=True)
        load_optimizer_state(self.opt, tensors, meta["optimizer"])
        perm = tensors["perm"].to(torch.int64)
        if perm.shape != (self.n_train,):
            raise ValueError(f"shuffle order has {perm.numel()} entries, expected {self.n_train}")
        self._perm = perm
        self._gen.set_state(tensors["generator"].to(torch.uint8))
        self.epoch, self.batch = int(meta["epoch"]), int(meta["batch"])
        self._sum_loss, self._sum_correct = float(meta["sum_loss"]), float(meta["sum_correct"])
        self._sum_n = int(meta["sum_n"])
        self.history = {k: [float(v) for v in meta["history"][k]] for k in self.history}
