"""What a trainer hands the live engine, the same in both modes: the view window (`ViewWindow`, declared in
core/snapshot.py, which the window receives it in), the analysis window and the end of a run (`AnalysisWindow`,
`Finish`); and `OnlineStepRings`, the online trainer's bounded
record of its last steps, which its view and analysis read and a session keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.history import Ring
from core.snapshot import CELL_PARTS, ViewWindow

__all__ = ["AnalysisWindow", "Finish", "OnlineStepRings", "ViewWindow"]

RECENT_CAPACITY = 2000  # the most recent online steps kept for the bits/hidden views and the inspector

FINISHED_EPOCHS = "epochs"  # batch: every configured epoch is done; Start refuses, Reset trains again
FINISHED_STEPS = "steps"    # online: the configured step total was reached; Start continues


@dataclass(frozen=True)
class Finish:
    """A run reached its end: `reason` (FINISHED_EPOCHS / FINISHED_STEPS), the notice saying so, and when
    nothing is left to train, what Start and Step answer instead (`refusal`; empty: Start continues)."""

    reason: str
    notice: str
    refusal: str = ""


@dataclass(frozen=True)
class AnalysisWindow:
    """The steps the portrait, memory probe and hints are computed from (see core.analysis.inspection.analyze)."""

    x: np.ndarray
    h: np.ndarray
    t0: int
    losses: np.ndarray
    correct: np.ndarray
    pred_ones: float
    c: np.ndarray | None = None  # the LSTM's cell state c (T, H), which the memory probe reads beside h


class OnlineStepRings:
    """The last `capacity` online steps, one ring per recorded field (x, y, y_hat, loss: width 1; the state
    before and after and the cell's parts, core.snapshot.CELL_PARTS: width `units`)."""

    NARROW = ("x", "y", "y_hat", "loss")

    def __init__(self, units: int, capacity: int = RECENT_CAPACITY, cell: str = "gru"):
        self.capacity = capacity
        self.cell = cell
        self.parts = CELL_PARTS[cell]
        fields = (*self.NARROW, "h_prev", "h", *self.parts)
        self.rings = {k: Ring(capacity, 1 if k in self.NARROW else units) for k in fields}

    def __len__(self) -> int:
        return len(self.rings["x"])

    def add(self, rec: Any) -> None:
        """Record one core.train.online.StepRecord (its `parts` are this cell's)."""
        for k, ring in self.rings.items():
            ring.append(rec.parts[k] if k in self.parts else getattr(rec, k))

    def last(self, k: int | None = None) -> dict[str, np.ndarray]:
        """The last k rows of every field (all kept rows if None), oldest first."""
        return {name: ring.last(k) for name, ring in self.rings.items()}

    def to_history(self) -> dict[str, np.ndarray]:
        """The session's arrays: `ring.<field>`, (rows, width) float32."""
        return {f"ring.{k}": ring.last() for k, ring in self.rings.items()}

    def load_history(self, history: Mapping[str, np.ndarray]) -> None:
        """Replace the kept rows with a session's `ring.<field>` arrays (absent: none); ValueError naming the
        field when one does not fit. Nothing changes on failure. A file without this cell's parts (an LSTM or
        RNN session saved before they were recorded) opens with them NaN: the window says they were not recorded."""
        rows = {}
        n = len(np.asarray(history.get("ring.x", np.zeros((0, 1)))))
        for k, ring in self.rings.items():
            missing = np.full((n, ring.width), np.nan) if k in self.parts else np.zeros((0, ring.width))
            a = np.asarray(history.get(f"ring.{k}", missing), dtype=np.float32)
            if a.ndim != 2 or a.shape[1] != ring.width or len(a) > self.capacity:
                raise ValueError(f"the recent window {k!r} is malformed")
            rows[k] = a
        if len({len(a) for a in rows.values()}) > 1:
            raise ValueError("the recent window's fields have different lengths")
        for k, ring in self.rings.items():
            ring.clear()
            ring.extend(rows[k])
