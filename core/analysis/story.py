"""The run's story: what the whole run reached and when, read from its whole-run accuracy and loss series.

A verdict judges one figure at one step; this module says what came before it. `run_story(acc, loss, stride,
window)` reads the whole-run series (core.history.DecimatingSeries: points of `stride` units, each their mean;
bounded, so the story of a million-step run costs the same as a short one's) through a moving mean over
`window` consecutive units (a whole number of points; the story names the window it used):
- best: the best windowed accuracy and the unit that window ends at (the earliest such window), with the mean
  loss over it;
- first_solved_step, last_solved_step: the ends of the first and the last window whose accuracy reached
  `solved` (0.99);
- lost_step: when the run reached `solved` and no later window did: the end of the first window that shares
  no unit with the last solved one (by then a whole window after it scored below `solved`); capped at the
  run's length. None when the run never reached `solved` or was still there at the end;
- last, last_loss: the last window's mean accuracy and loss.
`story_window(cfg)` is the window a verdict uses: the plots' default smoothing window (core.smoothing.
default_window: 1/40 of the configured run, 50 to 2,000 steps online, 1 to 200 minibatches in batch mode).
`series_story(cfg, acc_series, loss_series)` is the story of a run's two DecimatingSeries (the live engine's
and the headless runner's are the same kind, filled with the same per-unit values, so they tell the same story).
Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from core.config import Config
from core.formatting import SOLVED
from core.history import DecimatingSeries
from core.smoothing import default_window


@dataclass(frozen=True)
class Story:
    """window: units per window (a multiple of the series' stride); steps: units the series covers; best,
    best_step, best_loss: the best windowed accuracy, where its first such window ends, its mean loss (NaN, 0,
    NaN when the series is empty); first_solved_step, last_solved_step, lost_step: see the module docstring;
    last, last_loss: the last window's mean accuracy and loss."""

    window: int
    steps: int
    best: float
    best_step: int
    best_loss: float
    first_solved_step: int | None
    last_solved_step: int | None
    lost_step: int | None
    last: float
    last_loss: float
    solved: float = SOLVED

    @property
    def reached_solved(self) -> bool:
        return math.isfinite(self.best) and self.best >= self.solved

    @property
    def lost(self) -> bool:
        """The run reached `solved` over a window and its last window is below it."""
        return self.reached_solved and self.lost_step is not None

    def best_dict(self) -> dict:
        """{accuracy, step, window}: the best windowed accuracy, the unit its window ends at, the window."""
        return {"accuracy": self.best, "step": self.best_step, "window": self.window}

    def to_dict(self) -> dict:
        return asdict(self)


def story_window(cfg: Config) -> int:
    """The window (in units) a verdict reads the whole run through: the plots' default smoothing window."""
    return default_window(cfg)


def _window_means(values: np.ndarray, k: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])
    return (c[k:] - c[:-k]) / k


def run_story(acc: np.ndarray, loss: np.ndarray, stride: int, window: int, solved: float = SOLVED) -> Story:
    """The story of a whole-run accuracy series and its loss series (points of `stride` units each, oldest
    first) through a moving mean over `window` units (rounded up to whole points; the whole series when it is
    shorter)."""
    acc = np.asarray(acc, dtype=np.float64).reshape(-1)
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    stride = max(1, int(stride))
    n = min(len(acc), len(loss))
    if n == 0:
        return Story(max(1, int(window)), 0, math.nan, 0, math.nan, None, None, None, math.nan, math.nan, solved)
    k = min(n, max(1, math.ceil(int(window) / stride)))
    m_acc, m_loss = _window_means(acc[:n], k), _window_means(loss[:n], k)
    ends = (np.arange(k, n + 1, dtype=np.int64)) * stride  # the unit each window ends at (1-based)
    ranked = np.where(np.isfinite(m_acc), m_acc, -np.inf)
    ib = int(np.argmax(ranked))
    best = float(m_acc[ib]) if np.isfinite(ranked[ib]) else math.nan
    hit = np.flatnonzero(ranked >= solved)
    first, last = (int(ends[hit[0]]), int(ends[hit[-1]])) if len(hit) else (None, None)
    lost = None
    if len(hit) and hit[-1] < len(ends) - 1:
        lost = int(min(ends[hit[-1]] + k * stride, ends[-1]))
    return Story(k * stride, n * stride, best, int(ends[ib]), float(m_loss[ib]), first, last, lost,
                 float(m_acc[-1]), float(m_loss[-1]), solved)


def series_story(cfg: Config, acc_series: DecimatingSeries, loss_series: DecimatingSeries,
                 solved: float = SOLVED) -> Story:
    """The story of a run's whole-run accuracy and loss series, through `story_window(cfg)`."""
    return run_story(acc_series.values(), loss_series.values(), acc_series.stride, story_window(cfg), solved)
