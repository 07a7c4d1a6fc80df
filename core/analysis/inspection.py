"""What the inspection panels show, computed from the live engine's buffers: the hidden-state portrait,
the memory probe, the diagnosis hints, and labels for comparing runs. Pure numpy; runs in the trainer process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis.hints import Hint, diagnose, live_stats_from
from core.analysis.probes import MemoryProbe, Portrait, lag_labels, memory_probe, pca_2d, separation
from core.analysis.verdict import Verdict
from core.config import Config

PROBE_LAGS = 10  # the memory probe decodes x[t-k] for k = 0..PROBE_LAGS


@dataclass(frozen=True)
class Analysis:
    step: int
    portrait: Portrait | None
    portrait_labels: np.ndarray      # x[t-lag] per portrait point; -1 where unknown
    portrait_t0: int                 # step index of the portrait's first point
    separation: float
    probe: MemoryProbe | None
    hints: tuple[Hint, ...]
    probe_reads: str = "h[t]"        # the state the memory probe decodes from: h[t], or the LSTM's h[t] and c[t]


def analyze(cfg: Config, step: int, x: np.ndarray, h: np.ndarray, losses: np.ndarray, correct: np.ndarray,
            update_ratio: float = float("nan"), pred_ones: float = float("nan"), t0: int = 0,
            verdict: Verdict | None = None, c: np.ndarray | None = None) -> Analysis:
    """Portrait and memory probe over the given window (x (T,), h (T, H)); hints from the recent statistics
    and, once the run has one (core.analysis.verdict.heldout_verdict at its end), the verdict. The portrait is
    h's; the probe reads the whole state the cell carries: h, and the LSTM's cell state c (T, H) when given
    (and finite: a session saved before c was recorded has it NaN)."""
    x = np.asarray(x).astype(np.int64).ravel()
    h = np.asarray(h, dtype=np.float64)
    portrait, labels, sep, probe = None, np.zeros(0, np.int64), float("nan"), None
    state, reads = h, "h[t]"
    if c is not None and np.shape(c) == h.shape and np.isfinite(c).all():
        state, reads = np.hstack([h, np.asarray(c, dtype=np.float64)]), "h[t] and c[t]"
    if len(x) >= 2 and h.ndim == 2 and h.shape[0] == len(x):
        portrait = pca_2d(h)
        labels = lag_labels(x, cfg.task.lag)
        sep = separation(portrait.points, labels)
        probe = memory_probe(state, x, max_lag=PROBE_LAGS)
    stats = live_stats_from(losses, correct, step, update_ratio=update_ratio, pred_ones=pred_ones)
    hints = tuple(diagnose(cfg, stats, verdict))
    return Analysis(step, portrait, labels, t0, sep, probe, hints, reads)


# a readable name for each config field, for run labels
_SHORT = {"kind": "task", "p": "p", "lag": "lag", "units": "units", "readout": "readout", "mode": "mode",
          "rule": "rule", "window": "window", "rtrl_decay": "decay", "optimizer": "opt", "lr": "lr", "loss": "loss",
          "seed": "seed", "n_sequences": "N", "seq_len": "L", "batch_size": "batch", "epochs": "epochs",
          "shuffle": "shuffle", "validation_split": "val split"}
_IGNORE = {"device", "steps", "eval_steps"}


def run_label(cfg: Config, reference: Config | None = None) -> str:
    """A short label for a run: the fields that differ from the reference (all key ones when none)."""
    a = cfg.flat()
    if reference is None:
        keys = ["mode", "readout", "lag", "window" if a["rule"] == "tbptt" else "rule", "units"]
        return ", ".join(f"{_SHORT[k]} {a[k]}" for k in keys)
    b = reference.flat()
    diff = [k for k in a if k not in _IGNORE and a[k] != b[k]]
    if a["mode"] == "online":
        diff = [k for k in diff if k not in {"n_sequences", "seq_len", "batch_size", "epochs", "shuffle",
                                             "validation_split"}]
    if not diff:
        return "same config"
    return ", ".join(f"{_SHORT.get(k, k)} {a[k]}" for k in diff[:4]) + ("…" if len(diff) > 4 else "")
