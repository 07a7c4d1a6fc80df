"""Bounded histories for long sessions: a ring buffer of recent steps and a decimating whole-run series.

Neither grows without bound: `Ring` keeps the last `capacity` rows; `DecimatingSeries` keeps at most
`capacity` points over the whole run by averaging neighbouring pairs and doubling its stride when full;
`SeriesMirror` is its receiving side in the window, with the smoothed curve kept next to the raw one.
"""

from __future__ import annotations

import numpy as np

from core.smoothing import Ema, point_weight

MAX_CAPACITY = 1 << 22  # the most points a series or rows a ring may hold (16 MiB of float32 per column)


def _bounded(capacity, what: str) -> int:
    """capacity as an int in [2, MAX_CAPACITY] (1 for a Ring), else ValueError: a file cannot reserve gigabytes."""
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or not 1 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"{what} capacity must be an integer in [1, {MAX_CAPACITY:,}], got {str(capacity)[:40]}")
    return int(capacity)


class Ring:
    """The last `capacity` rows of a fixed-width float32 signal, oldest first on read."""

    def __init__(self, capacity: int, width: int = 1):
        self.capacity = _bounded(capacity, "a ring's")
        self.width = int(width)
        self._buf = np.zeros((self.capacity, self.width), dtype=np.float32)
        self._n = 0  # rows ever written

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    def append(self, row) -> None:
        self._buf[self._n % self.capacity] = row
        self._n += 1

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.width)
        for r in rows[-self.capacity:]:  # rows are few per call; keeps the index arithmetic obvious
            self.append(r)

    def last(self, n: int | None = None) -> np.ndarray:
        """A copy of the last n rows (all kept rows if None), oldest first, shape (n, width)."""
        k = len(self) if n is None else min(int(n), len(self))
        if k == 0:
            return np.zeros((0, self.width), dtype=np.float32)
        end = self._n % self.capacity
        idx = (np.arange(end - k, end) % self.capacity)
        return self._buf[idx].copy()

    def clear(self) -> None:
        self._n = 0


class DecimatingSeries:
    """A whole-run series (e.g. loss per step) in at most `capacity` points.

    Point i covers steps [i*stride, (i+1)*stride) and holds their mean. When full, pairs are averaged and the
    stride doubles, so memory stays fixed and the curve keeps its shape over millions of steps.
    """

    def __init__(self, capacity: int = 1 << 20):
        capacity = _bounded(capacity, "a series'")
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self._vals = np.zeros(capacity, dtype=np.float32)
        self._n = 0  # complete points
        self.stride = 1
        self._acc = 0.0
        self._acc_n = 0
        self.count = 0  # raw values seen

    def __len__(self) -> int:
        return self._n

    def append(self, v: float) -> None:
        self.count += 1
        self._acc += v
        self._acc_n += 1
        if self._acc_n < self.stride:
            return
        if self._n == self.capacity:
            half = self.capacity // 2
            self._vals[:half] = 0.5 * (self._vals[0::2] + self._vals[1::2])
            self._n = half
            self.stride *= 2
            if self._acc_n < self.stride:
                return
        self._vals[self._n] = self._acc / self._acc_n
        self._n += 1
        self._acc = 0.0
        self._acc_n = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(step at each point's centre, value) copies."""
        n = self._n
        x = (np.arange(n, dtype=np.float64) + 0.5) * self.stride
        return x, self.values()

    def values(self, start: int = 0) -> np.ndarray:
        """A copy of the complete points from index `start` on (negative: that many from the end)."""
        return self._vals[: self._n][start:].copy()

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "values": self._vals[: self._n].copy(), "stride": self.stride,
                "acc": self._acc, "acc_n": self._acc_n, "count": self.count}

    def load_state_dict(self, s: dict) -> None:
        vals = np.asarray(s["values"], dtype=np.float32)
        if len(vals) > self.capacity:
            raise ValueError("series longer than its capacity")
        self._vals[: len(vals)] = vals
        self._n = len(vals)
        self.stride = int(s["stride"])
        self._acc = float(s["acc"])
        self._acc_n = int(s["acc_n"])
        self.count = int(s["count"])


class SeriesMirror:
    """The receiving side of a DecimatingSeries sent in chunks (see core.live.engine.SeriesChunk), plus its smoothing.

    Holds at most `capacity` points in a preallocated array and their smoothed values next to them, updated
    as chunks arrive (O(new points)); `resync` chunks replace, others append. The smoothing is either a window
    in steps (`set_smoothing_window`, the same at any stride, see core.smoothing) or a fixed per-point weight
    (`set_smoothing`, TensorBoard's slider); a resync (the sender halved its resolution) recomputes it.
    """

    def __init__(self, capacity: int = 1 << 20, smoothing: float = 0.6, window_steps: float | None = None):
        self.capacity = _bounded(capacity, "a series mirror's")
        self._vals = np.zeros(capacity, dtype=np.float32)
        self._smooth = np.zeros(capacity, dtype=np.float32)
        self.n = 0
        self.stride = 1
        self.smoothing = float(smoothing)
        self.window_steps = window_steps
        self._restart_smoothing()

    def clear(self) -> None:
        self.n = 0
        self.stride = 1
        self._restart_smoothing()

    @property
    def point_weight(self) -> float:
        """The EMA weight per point now (from the window at the current stride, or the fixed weight)."""
        if self.window_steps is not None:
            return point_weight(self.window_steps, self.stride)
        return self.smoothing

    def set_smoothing(self, weight: float) -> None:
        """A fixed EMA weight per point (0 = none); replaces a window."""
        self.smoothing = float(weight)
        self.window_steps = None
        self._restart_smoothing()

    def set_smoothing_window(self, steps: float) -> None:
        """An EMA over `steps` steps (a time constant; 0 = none), whatever the stride; replaces a weight."""
        self.window_steps = max(0.0, float(steps))
        self._restart_smoothing()

    def _restart_smoothing(self) -> None:
        self._ema = Ema(self.point_weight)
        self._smooth[: self.n] = self._ema.extend(self._vals[: self.n])

    def apply(self, chunk) -> None:
        vals = np.asarray(chunk.values, dtype=np.float32)
        if chunk.resync:
            vals = vals[-self.capacity:]
            self.n = len(vals)
            self._vals[: self.n] = vals
            self.stride = int(chunk.stride)
            self._restart_smoothing()
            return
        k = min(len(vals), self.capacity - self.n)
        self._vals[self.n:self.n + k] = vals[:k]
        self._smooth[self.n:self.n + k] = self._ema.extend(vals[:k])
        self.n += k

    def x(self) -> np.ndarray:
        return (np.arange(self.n, dtype=np.float64) + 0.5) * self.stride

    def values(self) -> np.ndarray:
        return self._vals[: self.n]

    def smoothed(self) -> np.ndarray:
        return self._smooth[: self.n]

    def envelope(self, i0: int, i1: int, bins: int, smoothed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Points [i0, i1) as at most ~2 * bins (x, y) pairs for drawing: when there are more points than
        2 * bins, each bin of 2**k points (aligned on multiples of 2**k, so bins stay put as points arrive)
        becomes its min and max at the bin's centre, as pyqtgraph's 'peak' downsampling (NaNs ignored)."""
        v = (self._smooth if smoothed else self._vals)[: self.n]
        i0, i1 = max(0, int(i0)), min(self.n, int(i1))
        n = i1 - i0
        if n <= 0:
            return np.zeros(0), np.zeros(0, dtype=np.float32)
        if n <= 2 * bins:
            return (np.arange(i0, i1, dtype=np.float64) + 0.5) * self.stride, v[i0:i1]
        b = 1 << int(np.ceil(np.log2(n / bins)))
        a0 = (i0 // b) * b
        full = (i1 - a0) // b
        seg = v[a0:a0 + full * b].reshape(full, b)
        lo, hi = np.fmin.reduce(seg, axis=1), np.fmax.reduce(seg, axis=1)
        centres = a0 + (np.arange(full, dtype=np.float64) + 0.5) * b
        rest = v[a0 + full * b:i1]
        if len(rest):
            lo = np.append(lo, np.fmin.reduce(rest))
            hi = np.append(hi, np.fmax.reduce(rest))
            centres = np.append(centres, a0 + full * b + 0.5 * len(rest))
        y = np.empty(2 * len(lo), dtype=np.float32)
        y[0::2], y[1::2] = lo, hi
        return np.repeat(centres * self.stride, 2), y
