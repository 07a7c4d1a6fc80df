"""Smoothing for loss and accuracy curves: a debiased exponential moving average with a window in steps.

An online run's per-step loss is mostly noise (a 0/1 target per step), so a smoothing that reads as a line
must average over hundreds of steps, whatever the plot's zoom. The window is a time constant in *steps*:
a curve decimated to points of `stride` steps each (core.history.DecimatingSeries) is smoothed with the
per-point weight w = exp(-stride / window), which decays over the same number of steps at any stride, so the
curve keeps its shape when the series halves its resolution. Like TensorBoard's, the average is debiased at
the start (divided by 1 - w**k after k points), so the first points are not pulled towards 0.

`Ema` is incremental (append chunks as they arrive, O(new points), vectorised in blocks); `smooth` is the
one-shot form (for pinned runs); `default_window(cfg)` is the window the plots open with. The GUI draws the
visible span of the smoothed array as a min/max envelope (core.history.SeriesMirror keeps it next to the raw
values). Pure numpy.
"""

from __future__ import annotations

import math

import numpy as np

from core.tasks import run_units

_MAX_WEIGHT = 1.0 - 1e-12  # w = 1 would never move


def point_weight(window_steps: float, stride: int = 1) -> float:
    """The EMA weight per point of `stride` steps for a window (time constant) of `window_steps` steps;
    0 (no smoothing) for a window of 0."""
    if not window_steps or window_steps <= 0:
        return 0.0
    return min(math.exp(-max(1, int(stride)) / float(window_steps)), _MAX_WEIGHT)


def default_window(cfg) -> int:
    """The window the plots open with: 1/40 of the configured run (online: 500 steps for the default 20,000),
    at least 50 steps online (1 minibatch in batch) and at most 2,000 (200 minibatches)."""
    total = run_units(cfg.train)
    if cfg.train.mode == "online":
        return int(min(2000, max(50, total // 40)))
    return int(min(200, max(1, total // 40)))


class Ema:
    """A debiased EMA with a fixed per-point weight, computed chunk by chunk: extend(values) returns the
    smoothed values of the new points (float32), continuing from the points before."""

    def __init__(self, weight: float):
        self.weight = float(min(max(weight, 0.0), _MAX_WEIGHT))
        self.last = 0.0  # the biased average after the points so far
        self.count = 0
        w = self.weight
        # within a block, w**-b must stay below ~1e10 so the cumulative sum keeps its precision
        self.block = 1 << 14 if w <= 0 else max(1, min(1 << 14, int(10.0 / -math.log10(w))))

    def extend(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        w = self.weight
        if w <= 0:
            self.count += len(v)
            if len(v):
                self.last = float(v[-1])
            return v.astype(np.float32)
        out = np.empty_like(v)
        for s in range(0, len(v), self.block):
            blk = v[s:s + self.block]
            i = np.arange(1, len(blk) + 1, dtype=np.float64)
            acc = np.cumsum(blk * w ** -(i - 1)) * (1 - w) * w ** (i - 1)
            raw = w ** i * self.last + acc
            out[s:s + len(blk)] = raw / -np.expm1((self.count + i) * math.log(w))  # raw / (1 - w**count)
            self.last = float(raw[-1])
            self.count += len(blk)
        return out.astype(np.float32)


def smooth(values, window_steps: float, stride: int = 1) -> np.ndarray:
    """The whole series smoothed at once: points of `stride` steps, a window of `window_steps` steps."""
    return Ema(point_weight(window_steps, stride)).extend(values)
