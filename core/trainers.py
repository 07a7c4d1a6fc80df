"""The trainers' common front: `make_trainer(cfg)` picks online or batch; a steps-per-second meter.

Online lives in core/online.py, batch in core/batch.py; both are reproducible from the config's seed and
advance with `step()`, which returns an immutable record of numpy values (never live tensors).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from .batch import BatchRecord, BatchTrainer, ProbeView
from .config import Config
from .online import OnlineTrainer, StepRecord
from .optim import make_optimizer, set_lr

__all__ = ["BatchRecord", "BatchTrainer", "OnlineTrainer", "ProbeView", "RateMeter", "StepRecord",
           "make_optimizer", "make_trainer", "set_lr"]


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
