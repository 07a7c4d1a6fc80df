"""Batch training as Keras does it: N sequences of L steps, shuffled minibatches, epochs, validation from the end.

`BatchTrainer.step()` trains one minibatch; per-epoch logs (loss, accuracy, val_loss, val_accuracy) build a
Keras-like history; `probe()` runs a fixed probe sequence whose inputs, predictions and internals can be shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from core.config import Config
from core.device import resolve_device
from core.gru.cells import make_model
from core.gru.model import loss_fn, predict
from core.gru.optimizers import get_lr, make_optimizer, set_lr, take_torch_state, torch_state
from core.snapshot import CELL_PARTS
from core.state_checks import StateError, StateReader, int_in, is_number, take_model
from core.tasks import make_dataset, make_targets
from core.train.views import FINISHED_EPOCHS, AnalysisWindow, Finish, ViewWindow


@dataclass(frozen=True)
class BatchRecord:
    """One minibatch; `epoch_end` carries the epoch's Keras-style logs when this batch closed an epoch."""

    epoch: int  # 0-based epoch this batch belongs to
    batch: int
    batches_per_epoch: int
    loss: float
    accuracy: float
    epoch_end: dict | None = None

    @property
    def score(self) -> float:
        """What the whole-run accuracy curve records for this minibatch: its accuracy."""
        return self.accuracy


@dataclass(frozen=True)
class ProbeView:
    """The model on a fixed probe sequence: inputs, targets, predictions and internals, (T,) / (T, H); `parts` are
    the cell's own quantities (core.snapshot.CELL_PARTS[cell] -> (T, H))."""

    x: np.ndarray
    y: np.ndarray
    y_hat: np.ndarray
    h: np.ndarray
    parts: dict[str, np.ndarray]
    loss: float
    accuracy: float
    step_loss: np.ndarray  # (T,) each step's loss, as the configured loss counts it


class BatchTrainer:
    """Keras-style batch training: N sequences of L steps, minibatches, epochs, validation from the end."""

    mode = "batch"
    heldout_metric = "val_accuracy"  # what heldout()'s accuracy is called in verdicts and reports
    _probe_cache: tuple | None = None  # ((epoch, batch), ProbeView): the probe at that position

    def __init__(self, cfg: Config, probe_len: int = 200):
        self.cfg = cfg.replace()  # the trainer's own copy: configs are values, never shared and changed
        t = cfg.train
        self.device, self.device_warning = resolve_device(t.device)
        torch.manual_seed(t.seed)
        self.model = make_model(cfg.model).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), t.optimizer, t.lr, t.adam_eps)
        data = make_dataset(cfg.task, t.n_sequences, t.seq_len, t.validation_split, seed=t.seed)

        def as_t(a: np.ndarray) -> torch.Tensor:
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

    @property
    def lr(self) -> float:
        """The learning rate the optimizer uses now (also `cfg.train.lr`)."""
        return get_lr(self.opt)

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live; `cfg` becomes a new config with it (the old object is not changed)."""
        self.cfg = self.cfg.replace(lr=float(lr))
        set_lr(self.opt, self.cfg.train.lr)

    def _new_perm(self) -> torch.Tensor:
        if self.cfg.train.shuffle:
            return torch.randperm(self.n_train, generator=self._gen)
        return torch.arange(self.n_train)

    def _metrics(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
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

    def heldout_count(self) -> int:
        """Targets the held-out figure is measured over: the validation sequences, the last of the split
        (core.tasks.keras_split_at), times their length."""
        return int(self.y_val.numel())

    def heldout(self, n: int | None = None) -> dict:
        """The held-out figures {accuracy, loss, steps} at this position: the validation split (n is ignored;
        steps = validation targets)."""
        v = self.validate()
        return {"accuracy": v["val_accuracy"], "loss": v["val_loss"], "steps": self.heldout_count()}

    def training_figure(self) -> dict | None:
        """What stands in for the held-out figures without a validation split: the last epoch's training
        accuracy and loss over the training targets {accuracy, loss, steps}, as Keras logs them (None before the
        first epoch)."""
        if not self.history["accuracy"]:
            return None
        return {"accuracy": self.history["accuracy"][-1], "loss": self.history["loss"][-1],
                "steps": int(self.y_train.numel())}

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
        names = CELL_PARTS[c.model.cell]
        hs = np.zeros((T, H), dtype=np.float32)
        parts = {k: np.zeros((T, H), dtype=np.float32) for k in names}
        s = self.model.zero_state(1)  # h, or the LSTM's [h, c]
        xs = torch.as_tensor(self.probe_x, dtype=torch.float32, device=self.device).reshape(T, 1, 1)
        outs = []
        for i in range(T):
            h, s, step_parts = self.model.step(xs[i], s)
            hs[i] = h[0].cpu().numpy()
            for k, v in zip(names, step_parts, strict=True):
                parts[k][i] = v[0].cpu().numpy()
            outs.append(self.model.head(h))
        out = torch.cat(outs).unsqueeze(0)  # (1, T, 1|H)
        y = torch.as_tensor(self.probe_y, dtype=torch.float32, device=self.device).reshape(1, T, 1)
        loss, acc = self._metrics(out, y)
        y_hat = predict(out, c.model.readout, c.train.loss)[0, :, 0].cpu().numpy()
        step_loss = loss_fn(out, y, c.model.readout, c.train.loss, reduction="step")[0].cpu().numpy()
        return ProbeView(self.probe_x.copy(), self.probe_y.copy(), y_hat, hs, parts, float(loss), acc,
                         step_loss.astype(np.float32))

    # -- the whole position, for sessions ------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, meta): model.*, the optimizer (core/gru/optimizers.py's saved form), the shuffle order `perm`
        and its `generator`; meta epoch, batch, the epoch's running sums and the epoch history."""
        tensors, meta = torch_state(self.opt, list(self.model.parameters()))
        tensors.update({f"model.{k}": v.detach().cpu().clone() for k, v in self.model.state_dict().items()})
        tensors["perm"] = self._perm.cpu().contiguous()
        tensors["generator"] = self._gen.get_state().clone()
        meta.update({"epoch": self.epoch, "batch": self.batch, "sum_loss": self._sum_loss,
                     "sum_correct": self._sum_correct, "sum_n": self._sum_n, "history": self.history})
        return tensors, meta

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        """Take a position saved by `state_dict` (for this config); StateError (nothing changed) if it does not fit."""
        r = StateReader(tensors, meta)
        model = take_model(r, self.model, self.cfg)
        install_opt = take_torch_state(r, self.opt, list(self.model.parameters()))
        perm = r.tensor("perm", (self.n_train,), torch.int64,
                        f"this config has {self.n_train} training sequences, so it needs")
        if not torch.equal(torch.sort(perm).values, torch.arange(self.n_train)):
            raise StateError("truncated or corrupt (the shuffle order is not a permutation of the sequences)")
        gen = r.tensor("generator", tuple(self._gen.get_state().shape), torch.uint8)
        epoch = int_in(r.value("epoch"), 0, self.cfg.train.epochs, "the batch position's epoch")
        batch = int_in(r.value("batch"), 0, max(self.batches_per_epoch - 1, 0), "the batch position's batch")
        sum_n = int_in(r.value("sum_n"), 0, self.n_train, "the batch position's sum_n")
        sums = [r.value(k) for k in ("sum_loss", "sum_correct")]
        for key, v in zip(("sum_loss", "sum_correct"), sums):
            if not is_number(v):
                raise StateError(f"truncated or corrupt (the batch position's {key} is not a number)")
        hist = r.value("history")
        if (not isinstance(hist, dict) or set(hist) != set(self.history)
                or not all(isinstance(v, list) and len(v) == epoch and all(is_number(x) for x in v)
                           for v in hist.values())):
            raise StateError("truncated or corrupt (the epoch history is malformed)")
        r.finish()
        self._gen.set_state(gen.clone())  # may still refuse a malformed generator state: before any change
        self.model.load_state_dict(model, strict=True)
        install_opt()
        self._perm = perm.clone().to(self._perm.device)
        self.epoch, self.batch, self._sum_n = epoch, batch, sum_n
        self._sum_loss, self._sum_correct = float(sums[0]), float(sums[1])
        self.history = {k: [float(v) for v in hist[k]] for k in self.history}

    # -- the live engine's interface (core.train.trainer.Trainer) -----------------------------------------------
    def advance(self) -> BatchRecord:
        """One unit of training for the live engine: one minibatch."""
        return self.step()

    def finish(self) -> Finish | None:
        """The end reached, if any: every configured epoch done (nothing is left to train)."""
        if not self.done:
            return None
        last = ""
        if self.history["loss"]:
            vl = self.history["val_loss"][-1]
            last = f" (val_loss {vl:.4f})" if math.isfinite(vl) else f" (loss {self.history['loss'][-1]:.4f})"
        return Finish(FINISHED_EPOCHS, f"Training finished: {self.epoch} epochs{last}.",
                      f"Training finished: all {self.epoch} epochs are done; Reset to train again.")

    def _current_probe(self, refresh: bool) -> ProbeView:
        """The probe view, recomputed when the weights moved since the last one and `refresh` allows it."""
        pos = (self.epoch, self.batch)
        if self._probe_cache is None or (refresh and self._probe_cache[0] != pos):
            self._probe_cache = (pos, self.probe())
        return self._probe_cache[1]

    def view(self, window: int, refresh: bool = True) -> ViewWindow:
        """The probe sequence (its length, not `window`); recomputed only when `refresh` (the live engine
        throttles it while running) and the weights moved."""
        p = self._current_probe(refresh)
        H = self.cfg.model.units
        h_prev = np.vstack([np.zeros((1, H), np.float32), p.h[:-1]]) if len(p.h) else np.zeros((0, H), np.float32)
        hist = self.history
        logs = tuple({k: hist[k][i] for k in hist} | {"epoch": i + 1} for i in range(len(hist["loss"])))
        acc, label = p.accuracy, "probe acc"  # before the first epoch: the probe sequence's
        if hist["val_accuracy"] and math.isfinite(hist["val_accuracy"][-1]):
            acc, label = hist["val_accuracy"][-1], "val acc"
        elif hist["accuracy"]:
            acc, label = hist["accuracy"][-1], "train acc"  # no validation split
        f32 = np.float32
        return ViewWindow(0, p.x.astype(f32), p.y.astype(f32), p.y_hat.astype(f32), p.h, h_prev, p.step_loss, acc,
                          label, self.epoch, self.batches_per_epoch, logs, self.cfg.model.cell, p.parts)

    def analysis_window(self, run_losses: np.ndarray, run_scores: np.ndarray) -> AnalysisWindow:
        """The probe sequence's states, with the run's recent minibatch losses and accuracies."""
        p = self._current_probe(False)
        return AnalysisWindow(p.x, p.h, 0, run_losses, run_scores, float("nan"), p.parts.get("c"))

    def sensitivity_norms(self) -> None:
        """Batch training carries no sensitivity."""
        return None

    def epoch_history(self) -> dict[str, list[float]]:
        """Per-epoch logs: loss, accuracy, val_loss, val_accuracy."""
        return self.history

    def view_history(self) -> dict[str, np.ndarray]:
        """The view is the probe, recomputed from the weights: nothing to keep."""
        return {}

    def load_view_history(self, history: Mapping[str, np.ndarray]) -> None:
        return None
