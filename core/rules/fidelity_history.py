"""The gradient fidelity of a live run over time: what the live engine keeps of `FidelityMeter`'s rows and what
the window receives of them.

`FidelityTable` holds the whole run in at most `capacity` points per field (core.rules.fidelity.FIELDS), like
core.history.DecimatingSeries: point i covers steps [i*stride, (i+1)*stride) and holds the mean of the finite
values among them (NaN rows, steps that did not train or a zero norm, are left out of the mean; a point with
none is NaN). When full, neighbouring points merge and the stride doubles. `FidelityRecord` is a live run's
fidelity: the table, a ring of the recent steps' rows (for the Inspector and its scrub), and a sender that
turns new points into per-field `SeriesChunk`s for the Snapshot. `FidelityMirror` is the receiving side in the
window, with a NaN-robust smoothing (core.smoothing). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.history import Ring
from core.smoothing import smooth
from core.snapshot import SeriesChunk

GROUPS = ("all", "input", "recurrent", "biases", "readout")  # the parameter groups a fidelity record measures
FIELDS = tuple(f"{k}_{g}" for g in GROUPS for k in ("cos", "ratio"))  # cos_all, ratio_all, cos_input, ...

WIDTH = len(FIELDS)
CAPACITY = 1 << 15   # whole-run points per field (10 fields: about 5 MB of sums and counts)
RECENT = 4096        # recent steps' rows kept for the view window (the window shows at most a few hundred)


def meter_of(trainer):
    """The trainer's FidelityMeter (train.fidelity on a fast online engine), else None."""
    return getattr(getattr(trainer, "engine", None), "fidelity", None)


class FidelityTable:
    """A whole-run table of fidelity rows, decimated to at most `capacity` points, NaN-aware means."""

    def __init__(self, capacity: int = CAPACITY):
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self._sum = np.zeros((capacity, WIDTH))
        self._cnt = np.zeros((capacity, WIDTH))
        self._n = 0
        self.stride = 1
        self._pending = np.zeros((0, WIDTH))  # rows of the point not yet complete (< stride rows)
        self.count = 0  # rows seen

    def __len__(self) -> int:
        return self._n

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, np.float64).reshape(-1, WIDTH)
        self.count += len(rows)
        buf = np.concatenate([self._pending, rows]) if len(self._pending) else rows
        while len(buf) >= self.stride:
            if self._n == self.capacity:
                self._halve()
                continue
            k = min(len(buf) // self.stride, self.capacity - self._n)
            blk = buf[:k * self.stride].reshape(k, self.stride, WIDTH)
            ok = np.isfinite(blk)
            self._sum[self._n:self._n + k] = np.where(ok, blk, 0.0).sum(axis=1)
            self._cnt[self._n:self._n + k] = ok.sum(axis=1)
            self._n += k
            buf = buf[k * self.stride:]
        self._pending = buf.copy()

    def _halve(self) -> None:
        half = self.capacity // 2
        for a in (self._sum, self._cnt):
            a[:half] = a[0::2] + a[1::2]
        self._n = half
        self.stride *= 2

    def values(self, start: int = 0) -> np.ndarray:
        """(n, WIDTH) float32 means of the complete points from index `start` on (NaN where none was finite)."""
        s, c = self._sum[start:self._n], self._cnt[start:self._n]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 0, s / np.maximum(c, 1), np.nan).astype(np.float32)

    def to_history(self) -> dict[str, np.ndarray]:
        return {"fidelity.sum": self._sum[:self._n].copy(), "fidelity.count": self._cnt[:self._n].copy(),
                "fidelity.pending": self._pending.copy(),
                "fidelity.state": np.array([self.capacity, self.stride, self.count], np.float64)}

    @classmethod
    def from_history(cls, h: Mapping[str, np.ndarray]) -> FidelityTable:
        """Rebuild a table saved with `to_history`; ValueError when the arrays do not fit."""
        state = np.asarray(h["fidelity.state"], np.float64).reshape(-1)
        if state.shape != (3,) or not np.isfinite(state).all():
            raise ValueError("the fidelity history's state is malformed")
        capacity, stride, count = (int(v) for v in state)
        s, c = np.asarray(h["fidelity.sum"], np.float64), np.asarray(h["fidelity.count"], np.float64)
        p = np.asarray(h["fidelity.pending"], np.float64).reshape(-1, WIDTH)
        if (s.ndim != 2 or s.shape[1:] != (WIDTH,) or c.shape != s.shape or stride < 1 or len(p) >= stride
                or not (2 <= capacity <= 2**24) or capacity % 2 or len(s) > capacity or (c < 0).any()):
            raise ValueError("the fidelity history is malformed")
        t = cls(capacity)
        t._sum[:len(s)], t._cnt[:len(s)], t._n = s, c, len(s)
        t.stride, t._pending, t.count = stride, p, count
        return t


class FidelityRecord:
    """A live run's fidelity: the whole-run table, the recent rows, and what the window already has."""

    def __init__(self, table: FidelityTable | None = None, recent: np.ndarray | None = None):
        self.table = table if table is not None else FidelityTable()
        self.recent = Ring(RECENT, WIDTH)
        if recent is not None:
            self.recent.extend(recent)
        self._sent = 0
        self._stride = 0

    def take(self, meter) -> None:
        """Record the rows the meter measured since the last call (one per step trained)."""
        rows = meter.drain()
        if len(rows):
            self.table.extend(rows)
            self.recent.extend(rows)

    def chunks(self) -> dict[str, SeriesChunk]:
        """New whole-run points per field since the last call; the first (and any after a halving) resyncs."""
        t = self.table
        resync = t.stride != self._stride
        vals = t.values(0 if resync else self._sent)
        self._stride, self._sent = t.stride, len(t)
        return {f: SeriesChunk(vals[:, i].copy(), t.stride, resync) for i, f in enumerate(FIELDS)}

    def window(self, w: int) -> np.ndarray:
        """(w, WIDTH) float32: the last w steps' rows, aligned with the view window's last rows (NaN before the
        rows kept, e.g. after opening a session)."""
        rows = self.recent.last(w)
        if len(rows) == w:
            return rows
        return np.concatenate([np.full((w - len(rows), WIDTH), np.nan, np.float32), rows])

    def to_history(self) -> dict[str, np.ndarray]:
        return {**self.table.to_history(), "fidelity.recent": self.recent.last()}

    @classmethod
    def from_history(cls, h: Mapping[str, np.ndarray]) -> FidelityRecord | None:
        """The record saved with `to_history`, None when the session has none; ValueError when malformed."""
        if "fidelity.state" not in h:
            return None
        recent = np.asarray(h.get("fidelity.recent", np.zeros((0, WIDTH))), np.float32)
        if recent.ndim != 2 or recent.shape[1] != WIDTH:
            raise ValueError("the fidelity history's recent rows are malformed")
        return cls(FidelityTable.from_history(h), recent)


class FidelityMirror:
    """The window's copy of a run's fidelity table, from the snapshots' chunks; smoothed on demand."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._vals = np.full((capacity, WIDTH), np.nan, np.float32)
        self.n = 0
        self.stride = 1

    def clear(self) -> None:
        self.n, self.stride = 0, 1

    def apply(self, chunks: Mapping[str, SeriesChunk]) -> None:
        first = chunks[FIELDS[0]]
        k = len(first.values)
        if first.resync:
            self.n, self.stride = 0, int(first.stride)
        k = min(k, self.capacity - self.n)
        for i, f in enumerate(FIELDS):
            self._vals[self.n:self.n + k, i] = np.asarray(chunks[f].values, np.float32)[:k]
        self.n += k

    def x(self) -> np.ndarray:
        return (np.arange(self.n, dtype=np.float64) + 0.5) * self.stride

    def values(self, field: str) -> np.ndarray:
        return self._vals[:self.n, FIELDS.index(field)]

    def smoothed(self, field: str, window_steps: float) -> np.ndarray:
        """The field's points smoothed over `window_steps` steps (core.smoothing); NaN points are carried over
        (the last finite value stands in), points before the first finite one stay NaN."""
        v = self.values(field).astype(np.float64)
        ok = np.isfinite(v)
        out = np.full(len(v), np.nan, np.float32)
        if not ok.any():
            return out
        i0 = int(np.argmax(ok))
        idx = np.where(ok, np.arange(len(v)), 0)
        np.maximum.accumulate(idx, out=idx)
        out[i0:] = smooth(v[idx][i0:], window_steps, self.stride)
        return out
