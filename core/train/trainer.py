"""The trainers' common front: the `Trainer` interface both modes implement, `make_trainer(cfg)` which picks
online or batch, and a steps-per-second meter.

Online lives in core/train/online.py, batch in core/train/batch.py; both are reproducible from the config seed. The
live engine (core/live/engine.py) only speaks `Trainer`: it advances one unit (a timestep or a minibatch), asks
whether the run has finished, and takes the view window and the analysis window the trainer builds for its own mode.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from core.config import Config
from core.gru.cells import Model
from core.train.batch import BatchRecord, BatchTrainer, ProbeView
from core.train.loop import Unit
from core.train.online import OnlineTrainer, StepRecord
from core.train.views import AnalysisWindow, Finish, ViewWindow

__all__ = ["BatchRecord", "BatchTrainer", "OnlineTrainer", "ProbeView", "RateMeter", "StepRecord", "Trainer",
           "Unit", "make_trainer"]


@runtime_checkable
class Trainer(Protocol):
    """What the live engine and sessions use of a trainer; OnlineTrainer and BatchTrainer both are one."""

    mode: str                      # "online" | "batch": for labels and files, never for branching
    cfg: Config
    device: torch.device
    device_warning: str | None
    model: Model

    @property
    def n_params(self) -> int: ...

    @property
    def done(self) -> bool: ...    # nothing left to train (batch: every epoch done; online: never)

    def advance(self) -> Unit: ...  # one unit: a timestep (online) or a minibatch (batch)

    def finish(self) -> Finish | None: ...  # the end the last unit reached, if any

    heldout_metric: str            # what the held-out accuracy is called: heldout_accuracy | val_accuracy

    def heldout_count(self) -> int: ...  # targets held out: eval_steps (online), validation targets (batch)

    def heldout(self, n: int | None = None) -> dict: ...  # {accuracy, loss, steps} held out; position kept

    def training_figure(self) -> dict | None: ...  # {accuracy, loss, steps} standing in without held-out data

    def view(self, window: int, refresh: bool = True) -> ViewWindow: ...

    def analysis_window(self, run_losses: np.ndarray, run_scores: np.ndarray) -> AnalysisWindow: ...

    def sensitivity_norms(self) -> dict[str, float] | None: ...  # RTRL's dh/dtheta norms; None without

    def epoch_history(self) -> dict[str, list[float]] | None: ...  # batch's per-epoch logs; None online

    def view_history(self) -> dict[str, np.ndarray]: ...  # what the view needs kept in a session

    def load_view_history(self, history: Mapping[str, np.ndarray]) -> None: ...  # ValueError when malformed

    def set_lr(self, lr: float) -> None: ...

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]: ...

    def load_state_dict(self, tensors: dict, meta: dict) -> None: ...


def make_trainer(cfg: Config) -> Trainer:
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
