"""Bit-stream tasks: inputs with P(x=1) = p and a target over the past (NOT, COPY or XOR of x[t-lag]).

Before the stream is `lag` steps old, missing inputs count as 0 (so NOT with lag 1 starts with y0 = 1, as in
the question). Online training reads an endless `BitStream`; batch training reads `make_dataset`, whose
validation split is `keras_split_at`, the one place the split is computed (the batch trainer, the verdict, the
reports and the recording's run length all count held-out sequences through it); `run_units` is a configured
run's length in the units the window counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.config import TaskConfig


def target(kind: str, x_now, x_past):
    """The target for current input(s) x_now and the input(s) `lag` steps back x_past (0/1 arrays or ints)."""
    if kind == "not":
        return 1 - x_past
    if kind == "copy":
        return x_past
    if kind == "xor":
        return x_now ^ x_past
    raise ValueError(f"unknown task kind {kind!r}")


def make_targets(x: np.ndarray, kind: str, lag: int) -> np.ndarray:
    """Targets for input sequences x (..., T) of 0/1 ints; inputs before the start count as 0."""
    x = np.asarray(x, dtype=np.int64)
    past = np.zeros_like(x)
    if lag == 0:
        past = x
    elif lag < x.shape[-1]:
        past[..., lag:] = x[..., :-lag]
    return target(kind, x, past).astype(np.int64)


def target_rate(cfg: TaskConfig) -> float:
    """P(y = 1): the fraction of targets that are 1 in the long run (the mean target)."""
    p = cfg.p
    if cfg.kind == "not":
        return 1 - p
    if cfg.kind == "copy":
        return p
    return 0.0 if cfg.lag == 0 else 2 * p * (1 - p)  # xor: 1 when the two bits differ (lag 0: always 0)


def base_rate(cfg: TaskConfig) -> float:
    """Accuracy of always predicting the majority target class (the 'learned nothing' line)."""
    p1 = target_rate(cfg)
    return max(p1, 1 - p1)


class BitStream:
    """An endless, seeded bit stream and its targets, produced in chunks for speed."""

    def __init__(self, cfg: TaskConfig, seed: int, chunk: int = 4096):
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.chunk = chunk
        self._past = np.zeros(cfg.lag, dtype=np.int64)  # the last `lag` inputs, oldest first
        self._x = np.empty(0, dtype=np.int64)
        self._y = np.empty(0, dtype=np.int64)
        self._i = 0
        self.t = 0  # index of the next step

    def _refill(self) -> None:
        x = (self.rng.random(self.chunk) < self.cfg.p).astype(np.int64)
        lag = self.cfg.lag
        full = np.concatenate([self._past, x])
        past = full[: len(x)] if lag > 0 else x
        self._y = target(self.cfg.kind, x, past).astype(np.int64)
        self._x = x
        if lag > 0:
            self._past = full[-lag:]
        self._i = 0

    def next(self) -> tuple[int, int]:
        if self._i >= len(self._x):
            self._refill()
        x, y = int(self._x[self._i]), int(self._y[self._i])
        self._i += 1
        self.t += 1
        return x, y

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        xs = np.empty(n, dtype=np.int64)
        ys = np.empty(n, dtype=np.int64)
        for i in range(n):
            xs[i], ys[i] = self.next()
        return xs, ys

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "past": self._past.tolist(), "x": self._x.tolist(),
                "y": self._y.tolist(), "i": self._i, "t": self.t}

    def load_state_dict(self, s: dict) -> None:
        self.rng.bit_generator.state = s["rng"]
        self._past = np.asarray(s["past"], dtype=np.int64)
        self._x = np.asarray(s["x"], dtype=np.int64)
        self._y = np.asarray(s["y"], dtype=np.int64)
        self._i = int(s["i"])
        self.t = int(s["t"])


@dataclass
class Dataset:
    """Batch data: x and y of shape (N, L), int 0/1; the validation split is the last n_val sequences."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def keras_split_at(n: int, validation_split: float) -> int:
    """How many of n samples Keras's fit(validation_split=...) trains on: the first floor(n * (1 - split));
    the last n - keras_split_at(n, split) are held out (1,005 at 0.1: 904 train, 101 held out)."""
    return int(math.floor(n * (1.0 - validation_split)))


def run_units(train) -> int:
    """A configured run's length (`train`: a TrainConfig) in the units the window counts: steps online,
    minibatches in batch mode (epochs x batches of the training part of the split)."""
    if train.mode == "online":
        return train.steps
    n_train = keras_split_at(train.n_sequences, train.validation_split)
    return train.epochs * max(1, math.ceil(n_train / train.batch_size))


def make_dataset(cfg: TaskConfig, n: int, length: int, validation_split: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    x = (rng.random((n, length)) < cfg.p).astype(np.int64)
    y = make_targets(x, cfg.kind, cfg.lag)
    split = keras_split_at(n, validation_split)  # Keras: the last fraction, before any shuffling
    return Dataset(x[:split], y[:split], x[split:], y[split:])
