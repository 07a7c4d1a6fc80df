"""Bounded histories for long sessions: a ring buffer of recent steps and a decimating whole-run series.

Neither grows without bound: `Ring` keeps the last `capacity` rows; `DecimatingSeries` keeps at most
`capacity` points over the whole run by averaging neighbouring pairs and doubling its stride when full.
"""

from __future__ import annotations

import numpy as np


class Ring:
    """The last `capacity` rows of a fixed-width float32 signal, oldest first on read."""

    def __init__(self, capacity: int, width: int = 1):
        self.capacity = int(capacity)
        self.width = int(width)
        self._buf = np.zeros((self.capacity, self.width), dtype=np.float32)
        self._n = 0  # rows ever written

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    @property
    def total(self) -> int:
        return self._n

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
        return x, self._vals[:n].copy()

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


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style debiased exponential moving average; weight in [0, 1)."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(values) == 0:
        return values.astype(np.float32)
    out = np.empty_like(values)
    last = 0.0
    for i, v in enumerate(values):  # numpy has no scan; 1M points ~0.3 s, so callers smooth the decimated view
        last = last * weight + (1 - weight) * v
        out[i] = last / (1 - weight ** (i + 1))
    return out.astype(np.float32)
