"""Plain-word hints about a run: what in the config or in the live numbers explains why it does not learn.

This module owns `diagnose(cfg, stats) -> [Hint]` and the `LiveStats` it reads. Config hints (a raw readout,
a truncation window that does not reach the remembered step) fire from the config alone; statistical hints
(accuracy at the base rate, rising or non-finite loss, vanishing updates) fire only once there is enough
evidence (`Rules.min_steps` updates and `Rules.min_recent` recent values), and stay silent otherwise.

`live_stats_from` / `live_stats_from_records` build a LiveStats from what the trainers expose (StepRecord /
BatchRecord, or plain arrays); `param_snapshot` and `relative_update` measure the update size around a step.
Pure numpy; no torch or Qt import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config
from .tasks import base_rate

SEVERITIES = ("info", "warning", "error")

RAW_READOUT = "raw-readout"
SHORT_WINDOW = "short-window"
BASE_RATE = "base-rate"
LOSS_NONFINITE = "loss-nonfinite"
LOSS_RISING = "loss-rising"
VANISHING_UPDATES = "vanishing-updates"


@dataclass(frozen=True)
class Hint:
    """One finding. code: a stable id (the constants above); severity: 'info' | 'warning' | 'error'."""

    code: str
    severity: str
    title: str
    text: str


@dataclass(frozen=True)
class LiveStats:
    """Recent numbers of a run, oldest first.

    steps: optimizer updates so far (online: timesteps trained; batch: minibatches).
    losses: recent per-update losses.
    correct: recent per-step correctness 0/1 (online) or per-batch accuracy in [0, 1] (batch).
    update_ratio: recent relative parameter change per update, |theta' - theta| / |theta| (NaN: not measured).
    pred_ones: fraction of recent predictions that were 1 (NaN: unknown); only used to word the hints.
    """

    steps: int
    losses: np.ndarray
    correct: np.ndarray
    update_ratio: float = float("nan")
    pred_ones: float = float("nan")

    @property
    def accuracy(self) -> float:
        c = np.asarray(self.correct, dtype=np.float64)
        return float(c.mean()) if len(c) else float("nan")


@dataclass(frozen=True)
class Rules:
    """Evidence and trigger thresholds; the defaults are what the app uses."""

    min_steps: int = 1000  # online updates before a statistical hint may fire
    min_steps_batch: int = 100  # batch minibatches before a statistical hint may fire
    min_recent: int = 500  # recent values needed (online)
    min_recent_batch: int = 20  # recent values needed (batch: each is a minibatch mean)
    base_rate_tol: float = 0.01  # accuracy within max(tol, 2 standard errors) of the base rate
    rise_factor: float = 1.5  # second half of the recent losses this many times the first half ...
    rise_z: float = 4.0  # ... and this many standard errors above it
    tiny_update: float = 1e-5  # relative update per step below this is "vanishing"
    high_loss: float = 0.5  # ... while the loss is at least this fraction of the constant predictor's


def live_stats_from(losses, correct, steps: int, update_ratio: float = float("nan"),
                    pred_ones: float = float("nan")) -> LiveStats:
    """LiveStats from plain arrays (copied to float64 numpy)."""
    return LiveStats(int(steps), np.array(losses, dtype=np.float64).reshape(-1),
                     np.array(correct, dtype=np.float64).reshape(-1), float(update_ratio), float(pred_ones))


def live_stats_from_records(records: Sequence, steps: int | None = None,
                            update_ratio: float = float("nan")) -> LiveStats:
    """LiveStats from recent trainer records, oldest first: StepRecord (online: loss, correct, y_hat) or
    BatchRecord (batch: loss, accuracy). `steps` defaults to the number of records that were updates."""
    records = list(records)
    losses = [r.loss for r in records]
    if records and hasattr(records[0], "y_hat"):
        correct = [float(r.correct) for r in records]
        pred_ones = float(np.mean([r.y_hat >= 0.5 for r in records]))
        n_updates = sum(bool(getattr(r, "updated", True)) for r in records)
    else:
        correct = [r.accuracy for r in records]
        pred_ones = float("nan")
        n_updates = len(records)
    return live_stats_from(losses, correct, n_updates if steps is None else steps, update_ratio, pred_ones)


def param_snapshot(model) -> np.ndarray:
    """All parameters of a torch module flattened into one float64 numpy vector (a copy)."""
    parts = [p.detach().cpu().numpy().astype(np.float64).reshape(-1) for p in model.parameters()]
    return np.concatenate(parts) if parts else np.zeros(0)


def relative_update(before: np.ndarray, after: np.ndarray, updates: int = 1) -> float:
    """|after - before| / |before| per update (NaN when before is all zeros); take snapshots one update apart
    for a per-step figure (several updates apart, random-walk steps partly cancel)."""
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    norm = float(np.linalg.norm(before))
    if norm == 0 or not math.isfinite(norm):
        return float("nan")
    return float(np.linalg.norm(after - before)) / norm / max(1, int(updates))


def constant_loss(cfg: Config) -> float:
    """The loss of always predicting the mean target (the 'learned nothing' loss): p(1-p) for mse, the
    binary entropy in nats for bce (with the raw readout, each unit's loss is the same)."""
    b = base_rate(cfg.task)
    if cfg.train.loss == "bce":
        return 0.0 if b >= 1 else -(b * math.log(b) + (1 - b) * math.log(1 - b))
    return b * (1 - b)


def _enough(cfg: Config, stats: LiveStats, rules: Rules, n: int) -> bool:
    batch = cfg.train.mode == "batch"
    return (stats.steps >= (rules.min_steps_batch if batch else rules.min_steps)
            and n >= (rules.min_recent_batch if batch else rules.min_recent))


def _config_hints(cfg: Config) -> list[Hint]:
    hints = []
    if cfg.model.readout == "raw":
        hints.append(Hint(
            RAW_READOUT, "error", "The loss is on the raw GRU state",
            "With the raw readout the loss compares every unit of the GRU state with the target. The state "
            "comes out of tanh and a gate mix, so it lies between -1 and 1, and every unit is pulled towards "
            "the same target, so no unit is free to keep the past input for later. The state may still carry "
            "traces of the past (the memory probe can show them), but the prediction, the units' mean, cannot "
            "use them. Put a linear readout on the state (model.readout = linear)."))
    t, lag = cfg.train, cfg.task.lag
    if t.mode == "online" and t.rule == "tbptt" and t.window <= lag:
        hints.append(Hint(
            SHORT_WINDOW, "warning", f"The truncation window ({t.window}) does not reach back {lag} step(s)",
            f"Each update backpropagates through the last {t.window} step(s) only, but the target needs the "
            f"input from {lag} step(s) back, which entered the state outside that window. No gradient reaches "
            "the step that holds the answer, so nothing teaches the network to store it; it can still work "
            "when the state keeps that input anyway (with lag 1 the previous state is itself a function of the "
            f"previous input). Use a window of at least {lag + 1} or the exact RTRL rule."))
    return hints


def _stat_hints(cfg: Config, stats: LiveStats, rules: Rules) -> list[Hint]:
    hints = []
    losses = np.asarray(stats.losses, dtype=np.float64)
    if len(losses) and not np.all(np.isfinite(losses)):
        hints.append(Hint(
            LOSS_NONFINITE, "error", "The loss is not finite",
            "The loss became NaN or infinite: the weights diverged, most likely because the learning rate is "
            "too high. Lower the learning rate and restart."))
        return hints  # the other statistics mean nothing once the loss is broken

    correct = np.asarray(stats.correct, dtype=np.float64)
    if _enough(cfg, stats, rules, len(correct)):
        b = base_rate(cfg.task)
        acc = float(correct.mean())
        se = float(correct.std(ddof=1)) / math.sqrt(len(correct))
        band = min(max(rules.base_rate_tol, 2 * se), (1 - b) / 2)
        if b < 1 and acc <= b + band:
            majority = _majority(cfg)
            said = ""
            if math.isfinite(stats.pred_ones):
                said = f" It predicted 1 on {100 * stats.pred_ones:.0f}% of the recent steps."
            below = acc < b - band
            hints.append(Hint(
                BASE_RATE, "warning", "Accuracy is below the base rate" if below else "Accuracy is at the base rate",
                f"Recent accuracy is {acc:.3f}, and always answering the majority class ({majority}) scores "
                f"{b:.3f}: " + ("it does worse than that constant guess." if below else
                                "the network has learned the class balance, not the memory. It predicts the "
                                "majority class instead of using the past input.") + said))

    if _enough(cfg, stats, rules, len(losses)):
        half = len(losses) // 2
        first, second = losses[:half], losses[half:]
        m1, m2 = float(first.mean()), float(second.mean())
        se = math.sqrt(first.var(ddof=1) / len(first) + second.var(ddof=1) / len(second))
        if m2 > rules.rise_factor * m1 and m2 - m1 > rules.rise_z * se:
            hints.append(Hint(
                LOSS_RISING, "warning", "The loss is rising",
                f"The recent loss went up from {m1:.4g} to {m2:.4g}. A loss that climbs while training usually "
                f"means the learning rate ({cfg.train.lr:g}) is too high: each update overshoots. Lower it."))

        base_loss = constant_loss(cfg)
        recent = float(losses[-max(1, len(losses) // 4):].mean())
        r = stats.update_ratio
        if math.isfinite(r) and r < rules.tiny_update and base_loss > 0 and recent >= rules.high_loss * base_loss:
            hints.append(Hint(
                VANISHING_UPDATES, "warning", "The updates have vanished",
                f"Each update changes the weights by about {r:.1e} of their size, yet the loss ({recent:.4g}) is "
                f"still near that of a constant guess ({base_loss:.4g}). The steps are too small to learn from: "
                f"the learning rate ({cfg.train.lr:g}) is too low, or the gradient has vanished (a saturated "
                "network). Try a larger learning rate" + (" or Adam." if cfg.train.optimizer == "sgd" else ".")))
    return hints


def _majority(cfg: Config) -> str:
    task = cfg.task
    if task.kind == "not":
        p1 = 1 - task.p
    elif task.kind == "copy":
        p1 = task.p
    else:
        p1 = 0.0 if task.lag == 0 else 2 * task.p * (1 - task.p)
    return "1" if p1 > 0.5 else "0"


def diagnose(cfg: Config, stats: LiveStats | None = None, rules: Rules | None = None) -> list[Hint]:
    """Hints for a config and its live numbers, errors first. With stats None only config hints are given."""
    rules = rules or Rules()
    hints = _config_hints(cfg)
    if stats is not None:
        hints += _stat_hints(cfg, stats, rules)
        learned = (_enough(cfg, stats, rules, len(stats.correct)) and np.isfinite(stats.accuracy)
                   and stats.accuracy >= 0.99)
        if learned:  # a short window that learned anyway (lag 1 often does) is no longer a problem to report
            hints = [h for h in hints if h.code != SHORT_WINDOW]
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(hints, key=lambda h: order[h.severity])


def hint_codes(hints: Iterable[Hint]) -> set[str]:
    return {h.code for h in hints}
