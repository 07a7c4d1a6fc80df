"""Numbers in status texts: significant digits, counts, durations, progress, and the one step numbering.

Step numbering (one convention everywhere: status bar, Inspector, plots, reports): "step n" is the n-th
trained step, counted from 1. After the first update the run is at step 1; the record of that update has the
0-based stream index t = 0 (`StepRecord.t`, ring rows, `Snapshot.t0`), so the row with index t is shown as
"step t + 1" (`step_number`), and "step n" is the row with index n - 1 (`step_index`). A run that has not trained
is at step 0 ("no step yet"). Batch runs count minibatches the same way ("minibatch 1" is the first).
"""

from __future__ import annotations

import math

SOLVED = 0.99  # the accuracy that counts as learned (core.analysis.verdict uses the same figure)


def step_number(t: int) -> int:
    """The 1-based step shown for the 0-based stream index t (StepRecord.t, a ring row's index)."""
    return int(t) + 1


def step_index(step: int) -> int:
    """The 0-based stream index of the 1-based step `step`."""
    return int(step) - 1


def sig(v: float, digits: int = 3) -> str:
    """v with `digits` significant digits: fixed notation from 1e-3 to 1e4 ("0.188", "12.5"), scientific
    outside it ("3.0e-05" for digits 2), so a small loss never reads as 0.0000; "nan", "inf", "-inf" as such."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    digits = max(1, int(digits))
    mag = math.floor(math.log10(abs(v)))
    if -3 <= mag < 4:
        decimals = max(0, digits - 1 - mag)
        text = f"{v:.{decimals}f}"
        if abs(float(text)) >= 10 ** (mag + 1) and decimals > 0:  # rounding moved up a decade: 0.09996 -> 0.100
            text = f"{v:.{decimals - 1}f}"
        return text
    return f"{v:.{digits - 1}e}"


def loss_text(v: float) -> str:
    """A loss for the status bar and verdicts: 3 significant digits ("0.188", "8.90e-04", "3.00e-05")."""
    return sig(v, 3)


def accuracy_text(a: float, solved: float = SOLVED) -> str:
    """An accuracy in [0, 1] with 3 decimals ("0.750", "1.000"); 4 where 3 would round a figure under the
    solved line up onto it (0.9896 -> "0.9896", not "0.990")."""
    a = float(a)
    if not math.isfinite(a):
        return "n/a"
    if a < solved <= round(a, 3):
        return f"{a:.4f}"
    return f"{a:.3f}"


def count_text(n: int) -> str:
    """A count with thousands separators: 13454 -> "13,454"."""
    return f"{int(n):,}"


def duration_text(seconds: float) -> str:
    """A rough duration: "under 1 s", "2 s", "3 min", "1.5 h"."""
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        return "unknown"
    if s < 1:
        return "under 1 s"
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def progress_text(done: int, total: int, rate: float, unit: str = "step") -> str:
    """"step 13,454 / 20,000 · about 2 s left" (no time left once done, or while the rate is unknown)."""
    text = f"{unit} {count_text(done)} / {count_text(total)}"
    left = int(total) - int(done)
    if left > 0 and math.isfinite(rate) and rate > 0:
        text += f" · about {duration_text(left / rate)} left"
    return text
