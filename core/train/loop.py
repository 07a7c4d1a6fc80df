"""The one run loop's step: `train_unit(trainer, done)` advances any trainer by one unit (a timestep online, a
minibatch in batch mode) for the window's live engine (core/live/engine.py) and the headless runner
(core/runs/headless.py) alike, with their one stopping rule and their one update-ratio probe:
- stopping: a run diverged when the unit's loss is not finite, or (checked at the first unit and every
  WEIGHT_CHECK_EVERY units) a weight is not finite, or, at the unit that reaches the run's end (the trainer's
  `finish()`), any weight, optimizer or rule state (the trainer's `state_dict()`) or the epoch's logged losses
  are not finite: a result is judged after the last update, never before it. `Trained.diverged` then says
  where and what (`Diverged`);
- the probe: every UPDATE_RATIO_EVERY units (at the middle unit of each span) the relative update
  |theta' - theta| / |theta| of that one unit is measured (core.analysis.hints.relative_update).
The caller records the unit, stops on a divergence and asks the trainer whether the run reached its end.
Importing this module loads no torch (the window's process imports the headless runner, which imports this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.analysis.hints import param_snapshot, relative_update
from core.config import Config

if TYPE_CHECKING:  # annotations only: importing this module loads no torch
    import torch

UPDATE_RATIO_EVERY = 200  # units between two measurements of the relative update
WEIGHT_CHECK_EVERY = 50   # units between two checks of the weights (the loss is checked at every unit)


class Diverged(FloatingPointError):
    """Training diverged: `step` (1-based) is the first unit whose loss or weights were not finite; `what` says
    which ("the loss became nan", "the weights hold inf (cell.weight_hh)"); `message` adds what to change."""

    def __init__(self, cfg: Config, step: int, what: str):
        self.step, self.what = int(step), what
        self.message = f"diverged at step {self.step:,}: {what} ({advice(cfg)})"
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"step": self.step, "what": self.what, "message": self.message}


def advice(cfg: Config) -> str:
    """What to change after a divergence: 'lr 10 is likely too high for sgd; try 0.01'."""
    lr = cfg.train.lr
    try_lr = min(0.01, 10 ** math.floor(math.log10(lr)) / 10) if lr > 0 else 0.001
    return f"lr {lr:g} is likely too high for {cfg.train.optimizer}; try {try_lr:g}"


def first_bad_tensor(tensors: dict) -> str | None:
    """'the optimizer state holds nan (optim.v)' for the first floating tensor with a NaN or infinity, else None."""
    import torch  # here: importing this module loads no torch

    for name, t in tensors.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            kind = "nan" if bool(torch.isnan(t).any()) else "inf"
            what = "the weights hold" if name.startswith("model.") else "the optimizer or rule state holds"
            return f"{what} {kind} ({name})"
    return None


def first_bad_state(trainer: Advancing) -> str | None:
    """Why the trainer's whole position is not sound (a weight, the optimizer's moments, a rule's carried
    sensitivity not finite), or None: the end-of-run check."""
    bad = first_bad_weight(trainer.model)
    return bad if bad is not None else first_bad_tensor(trainer.state_dict()[0])


def bad_epoch_logs(trainer: Advancing, unit: Unit) -> str | None:
    """Batch: 'the epoch's val_loss became inf' when the logs of the epoch this unit closed are not finite
    (val_loss NaN counts only where there is validation data), else None. Online records carry no logs."""
    logs = getattr(unit, "epoch_end", None)
    if not isinstance(logs, dict):
        return None
    for key in ("loss", "val_loss"):
        v = logs.get(key)
        if isinstance(v, float) and not math.isfinite(v):
            if math.isnan(v) and key == "val_loss" and trainer.heldout_count() == 0:
                continue  # no validation split: nothing was measured
            return f"the epoch's {key} became {v}"
    return None


def first_bad_weight(model: torch.nn.Module) -> str | None:
    """'the weights hold nan (cell.weight_hh)' for the first parameter with a NaN or infinity, else None."""
    import torch  # here: importing this module loads no torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                kind = "nan" if bool(torch.isnan(p).any()) else "inf"
                return f"the weights hold {kind} ({name})"
    return None


class Unit(Protocol):
    """One unit of training as the live engine records it (a StepRecord or a BatchRecord)."""

    @property
    def loss(self) -> float: ...

    @property
    def score(self) -> float: ...  # the accuracy curve's value: online 1/0 (correct), batch the accuracy


@dataclass(frozen=True)
class Trained:
    """One unit trained: the trainer's record (a `Unit`), the relative update measured around it
    (None: not measured at this unit) and the divergence it revealed (None: the run is sound)."""

    unit: Unit
    update_ratio: float | None
    diverged: Diverged | None


class Advancing(Protocol):
    """What train_unit asks of a trainer (core.train.trainer.Trainer is one)."""

    @property
    def cfg(self) -> Config: ...

    @property
    def model(self) -> torch.nn.Module: ...

    def advance(self) -> Unit: ...

    def finish(self) -> object | None: ...  # the end the last unit reached (None: not at the end)

    def state_dict(self) -> tuple[dict, dict]: ...  # the whole position: weights, optimizer, rule state

    def heldout_count(self) -> int: ...  # targets held out (batch: 0 without a validation split)


def train_unit(trainer: Advancing, done: int) -> Trained:
    """Train one unit of `trainer` (core.train.trainer.Trainer), `done` units having been trained before it: the
    one place the window and the headless runner advance a trainer (see the module docstring)."""
    measure = done % UPDATE_RATIO_EVERY == UPDATE_RATIO_EVERY // 2
    before = param_snapshot(trainer.model) if measure else None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported, not warned about
        unit = trainer.advance()
    ratio = relative_update(before, param_snapshot(trainer.model)) if before is not None else None
    step = done + 1
    bad = f"the loss became {unit.loss}" if not math.isfinite(unit.loss) else bad_epoch_logs(trainer, unit)
    if bad is None and trainer.finish() is not None:  # the last update: judged on everything it left
        bad = first_bad_state(trainer)
    elif bad is None and (step % WEIGHT_CHECK_EVERY == 0 or step == 1):
        bad = first_bad_weight(trainer.model)
    return Trained(unit, ratio, Diverged(trainer.cfg, step, bad) if bad is not None else None)
