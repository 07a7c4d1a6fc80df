"""The rest of one step in words, for the Inspector: how the readout made ŷ from h[t] (ŷ = w·h + b with the
numbers, or the units' mean for the raw readout) and where the target came from (y = NOT x[t−3] = NOT 0 = 1).
Pure Python/numpy; the numbers come from a snapshot, never from a live trainer.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

MINUS = "−"


def _num(v: float) -> str:
    """A value in an equation: 3 decimals, negatives in parentheses with a true minus sign."""
    return f"({v:.3f})".replace("-", MINUS) if v < 0 else f"{v:.3f}"


def readout_text(readout: str, loss: str, h: ArrayLike, w: ArrayLike | None = None, b: float = 0.0,
                 y_hat: float = math.nan, max_terms: int = 4) -> str:
    """ŷ from h[t]: "ŷ = w·h + b = 0.912·0.803 + … + (−0.052) = 0.731" (linear), "ŷ = mean of the 16 units'
    h = 0.214" (raw), wrapped in σ(…) for the bce loss. A linear readout uses the weights given (the current
    ones); when the recorded ŷ differs (the step predicted before its own update) the text says so."""
    h = np.asarray(h, dtype=np.float64).ravel()
    if readout == "raw" or w is None:
        value = float(h.mean()) if len(h) else math.nan
        text = f"ŷ = mean of the {len(h)} units' h[t] = {value:.3f}"
        name = "mean"
    else:
        w = np.asarray(w, dtype=np.float64).ravel()
        terms = [f"{_num(wi)}·{_num(hi)}" for wi, hi in zip(w[:max_terms], h[:max_terms])]
        more = " + …" if len(w) > max_terms else ""
        value = float(w @ h + b)
        text = f"ŷ = w·h[t] + b = {' + '.join(terms)}{more} + {_num(b)} = {value:.3f}"
        name = "w·h + b"
    if loss == "bce":
        if math.isfinite(value):  # the stable form: exp of a large negative logit would overflow
            value = 1.0 / (1.0 + math.exp(-value)) if value >= 0 else math.exp(value) / (1.0 + math.exp(value))
        text += f"; ŷ = σ({name}) = {value:.3f}"
    if math.isfinite(y_hat) and math.isfinite(value) and f"{value:.3f}" != f"{y_hat:.3f}":
        text += f" with the current weights (the step itself predicted {y_hat:.3f}, before its update)"
    return text


def target_text(kind: str, lag: int, x: ArrayLike, t0: int, i: int, y: int | None = None) -> str:
    """Where row i's target came from: "y = NOT x[t−3] = NOT 0 = 1" (copy: "y = x[t−3] = 0"; xor:
    "y = x[t] XOR x[t−3] = 1 XOR 0 = 1"). x is the window's inputs, row 0 is stream index t0. An input before
    the stream's start counts as 0; one before the window is not known here (the text says so)."""
    x = np.asarray(x).ravel()
    ref = f"x[t−{lag}]" if lag > 0 else "x[t]"
    j = i - lag
    if t0 + j < 0:
        past, note = 0, f" ({ref} is before the stream's start: it counts as 0)"
    elif j < 0:
        past, note = None, ""
    else:
        past, note = int(x[j]), ""
    now = int(x[i])
    if kind == "not":
        form, value = f"NOT {ref}", (None if past is None else 1 - past)
        filled = None if past is None else f"NOT {past}"
    elif kind == "copy":
        form, value = ref, past
        filled = None if past is None else f"{past}"
    else:
        form, value = f"x[t] XOR {ref}", (None if past is None else now ^ past)
        filled = None if past is None else f"{now} XOR {past}"
    if past is None:
        return f"y = {form} = {y if y is not None else '?'} ({ref} is before the recorded window)"
    if filled == str(value):
        return f"y = {form} = {value}{note}"
    return f"y = {form} = {filled} = {value}{note}"
