"""Plain-word hints about a run: claims about why it does not learn, each resting on evidence from the run.

This module owns `diagnose(cfg, stats, verdict) -> [Hint]` and the `LiveStats` it reads (the window and the
headless runner both gather them from the trainer's analysis window, core.train.trainer.Trainer).
A hint has a code, a level (info | warning | error), a title and a text.
What each one needs (thresholds in `Rules`):
- raw-readout (error; info at lag 0, where nothing must be remembered): the config alone.
- short-window (online tbptt, window <= lag): info while there is no evidence either way; a warning once the
  run has trained `short_window_patience` updates without learning (or ended without learning), unless a
  stronger cause has its own hint (the raw readout's error, a rising loss or one worse than a guess: then it
  stays info).
- base-rate (warning): the recent accuracy within max(tol, 2 standard errors) of the base rate, or at or
  below it, after `min_steps` updates over `min_recent` values; or a held-out verdict 'base-rate'.
- loss-nonfinite (error): a NaN/inf among the recent losses, or a 'diverged' verdict.
- loss-rising (warning): the recent losses' third and last quarters both above `rise_factor` x the first
  half's mean, the rise `rise_z` standard errors clear, and the loss large: at least `rise_min_loss` x the
  constant-predictor loss (a solved run's 0.0003 -> 0.0009 is no rise worth a word).
- loss-high (warning): the recent loss (last quarter) at least `loss_high` x the constant-predictor loss,
  on enough evidence, when it is not already 'rising'.
- instability (warning): a 'lost' verdict: the run's story (core.analysis.story) reached 0.99 over a window
  and fell back; the text gives the best window's accuracy and loss, the last window's, and when.
- vanishing-updates (warning): relative update per step below `tiny_update` while the loss is still at least
  `high_loss` x the constant-predictor loss.
A run that has learned (its verdict says so, or without a verdict its recent accuracy >= 0.99 on enough
evidence) gets no warning and no error at all.
`param_snapshot` and `relative_update` measure the update size around one step (the run loop's probe,
core.train.loop.train_unit, calls them). Pure numpy; no Qt import.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from core.analysis.verdict import Verdict, constant_loss, majority_class, metric_words
from core.config import Config
from core.formatting import SOLVED, count_text, loss_text
from core.tasks import base_rate

if TYPE_CHECKING:  # annotations only: importing this module loads no torch
    import torch

LEVELS = ("info", "warning", "error")

RAW_READOUT = "raw-readout"
SHORT_WINDOW = "short-window"
BASE_RATE = "base-rate"
LOSS_NONFINITE = "loss-nonfinite"
LOSS_RISING = "loss-rising"
LOSS_HIGH = "loss-high"
VANISHING_UPDATES = "vanishing-updates"
INSTABILITY = "instability"


@dataclass(frozen=True)
class Hint:
    """One finding. code: a stable id (the constants above); level: 'info' | 'warning' | 'error'."""

    code: str
    level: str
    title: str
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


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
    rise_factor: float = 1.5  # the last two quarters of the recent losses this many times the first half ...
    rise_z: float = 4.0  # ... this many standard errors above it ...
    rise_min_loss: float = 0.2  # ... and at least this fraction of the constant predictor's loss
    tiny_update: float = 1e-5  # relative update per step below this is "vanishing"
    high_loss: float = 0.5  # ... while the loss is at least this fraction of the constant predictor's
    loss_high: float = 2.0  # a recent loss this many times the constant predictor's is "worse than a guess"
    short_window_patience: int = 5000  # online updates without learning before the short window is a warning


def live_stats_from(losses: ArrayLike, correct: ArrayLike, steps: int, update_ratio: float = float("nan"),
                    pred_ones: float = float("nan")) -> LiveStats:
    """LiveStats from plain arrays (copied to float64 numpy)."""
    return LiveStats(int(steps), np.array(losses, dtype=np.float64).reshape(-1),
                     np.array(correct, dtype=np.float64).reshape(-1), float(update_ratio), float(pred_ones))


def param_snapshot(model: torch.nn.Module) -> np.ndarray:
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


def _enough(cfg: Config, stats: LiveStats | None, rules: Rules, n: int) -> bool:
    if stats is None:
        return False
    batch = cfg.train.mode == "batch"
    return (stats.steps >= (rules.min_steps_batch if batch else rules.min_steps)
            and n >= (rules.min_recent_batch if batch else rules.min_recent))


def has_learned(cfg: Config, stats: LiveStats | None, verdict: Verdict | None = None,
                rules: Rules | None = None) -> bool:
    """The run has learned: its verdict says so, or (no verdict) its recent accuracy is >= 0.99 on enough
    evidence with every recent loss finite."""
    if verdict is not None and verdict.code != "not-run":
        return verdict.learned
    rules = rules or Rules()
    if stats is None or not _enough(cfg, stats, rules, len(stats.correct)):
        return False
    return bool(np.all(np.isfinite(stats.losses))) and stats.accuracy >= SOLVED


def _raw_readout(cfg: Config) -> list[Hint]:
    if cfg.model.readout != "raw":
        return []
    title = "The loss is on the raw GRU state"
    why = ("With the raw readout the loss compares every unit of the GRU state with the target. The state comes "
           "out of tanh and a gate mix, so it lies between -1 and 1, and every unit is pulled towards the same "
           "target")
    if cfg.task.lag == 0:
        return [Hint(RAW_READOUT, "info", title,
                     why + ". With lag 0 nothing has to be remembered, so this can still work; the usual model puts "
                     "a linear readout on the state (model.readout = linear).")]
    return [Hint(RAW_READOUT, "error", title,
                 why + ", so no unit is free to keep the past input for later. The state may still carry traces of "
                 "the past (the memory probe can show them), but the prediction, the units' mean, cannot use them. "
                 "Put a linear readout on the state (model.readout = linear).")]


def _short_window(cfg: Config, stats: LiveStats | None, verdict: Verdict | None, rules: Rules,
                  explained: bool) -> list[Hint]:
    """explained: a stronger cause already has a hint (a raw readout, a loss worse than a guess)."""
    t, lag = cfg.train, cfg.task.lag
    if not (t.mode == "online" and t.rule == "tbptt" and t.window <= lag):
        return []
    why = (f"Each update backpropagates through the last {t.window} step(s) only, but the target needs the input "
           f"from {lag} step(s) back, which entered the state outside that window, so no gradient teaches the "
           "network to store it. ")
    fix = f"Use a window of at least {lag + 1} or the exact RTRL rule."
    if verdict is not None and verdict.code in ("base-rate", "partly"):
        evidence = f"The run ended without learning ({verdict.text}). "
    elif (verdict is None and stats is not None and stats.steps >= rules.short_window_patience
          and _enough(cfg, stats, rules, len(stats.correct)) and stats.accuracy < SOLVED):
        evidence = (f"After {count_text(stats.steps)} steps the recent accuracy is {stats.accuracy:.3f}, under "
                    f"{SOLVED}. ")
    else:
        evidence = ""
    if evidence and not explained:
        return [Hint(SHORT_WINDOW, "warning",
                     f"Not learned, and the truncation window ({t.window}) does not reach back {lag} step(s)",
                     evidence + why + fix)]
    title = f"The truncation window ({t.window}) does not reach back {lag} step(s)"
    if verdict is not None and verdict.code == "lost" and verdict.story is not None:
        return [Hint(SHORT_WINDOW, "info", title,
                     why + f"The run learned anyway (by {'minibatch' if t.mode == 'batch' else 'step'} "
                     f"{verdict.story.first_solved_step:,}: the state kept that input), but no gradient holds that "
                     "memory in place, so later updates may wear it away. " + fix)]
    return [Hint(SHORT_WINDOW, "info", title,
                 why + "It can still learn when the state keeps that input anyway (with lag 1 it often does): "
                 f"watch the accuracy. If it stays below {SOLVED}, " + fix[0].lower() + fix[1:])]


def _base_rate(cfg: Config, stats: LiveStats | None, verdict: Verdict | None, rules: Rules) -> list[Hint]:
    b = base_rate(cfg.task)
    if b >= 1:
        return []
    maj = majority_class(cfg)
    if verdict is not None and verdict.code == "base-rate":
        title = "Accuracy is " + ("below" if verdict.text.startswith("below") else "at") + " the base rate"
        return [Hint(BASE_RATE, "warning", title,
                     f"The {metric_words(verdict.metric)} is {verdict.figure:.3f}, and always answering the majority "
                     f"class ({maj}) scores {b:.3f}: the network has learned the class balance, not the memory.")]
    correct = np.asarray(stats.correct if stats is not None else [], dtype=np.float64)
    if verdict is not None or stats is None or not _enough(cfg, stats, rules, len(correct)):
        return []
    acc = float(correct.mean())
    se = float(correct.std(ddof=1)) / math.sqrt(len(correct))
    band = min(max(rules.base_rate_tol, 2 * se), (1 - b) / 2)
    if acc > b + band:
        return []
    said = f" It predicted 1 on {100 * stats.pred_ones:.0f}% of the recent steps." if math.isfinite(
        stats.pred_ones) else ""
    below = acc < b - band
    return [Hint(BASE_RATE, "warning", "Accuracy is below the base rate" if below else "Accuracy is at the base rate",
                 f"Recent accuracy is {acc:.3f}, and always answering the majority class ({maj}) scores {b:.3f}: "
                 + ("it does worse than that constant guess." if below else
                    "the network has learned the class balance, not the memory. It predicts the majority class "
                    "instead of using the past input.") + said)]


def _loss_hints(cfg: Config, stats: LiveStats | None, rules: Rules) -> list[Hint]:
    losses = np.asarray(stats.losses if stats is not None else [], dtype=np.float64)
    if stats is None or not _enough(cfg, stats, rules, len(losses)):
        return []
    hints = []
    base_loss = constant_loss(cfg)
    half, quarter = len(losses) // 2, len(losses) // 4
    first, second = losses[:half], losses[half:]
    m1, m2 = float(first.mean()), float(second.mean())
    q3, q4 = float(losses[half:len(losses) - quarter].mean()), float(losses[len(losses) - quarter:].mean())
    se = math.sqrt(first.var(ddof=1) / len(first) + second.var(ddof=1) / len(second))
    recent = float(losses[-max(1, quarter):].mean())
    if (min(q3, q4) > rules.rise_factor * m1 and m2 - m1 > rules.rise_z * se
            and m2 >= rules.rise_min_loss * base_loss):
        hints.append(Hint(
            LOSS_RISING, "warning", "The loss is rising",
            f"The recent loss went up from {loss_text(m1)} to {loss_text(m2)} and stayed up, against "
            f"{loss_text(base_loss)} for a constant guess. A loss that climbs while training usually means the "
            f"learning rate ({cfg.train.lr:g}) is too high: each update overshoots. Lower it."))
    elif base_loss > 0 and recent >= rules.loss_high * base_loss:
        hints.append(Hint(
            LOSS_HIGH, "warning", "The loss is worse than a constant guess",
            f"The recent loss ({loss_text(recent)}) is {recent / base_loss:.1f} times that of always predicting the "
            f"mean target ({loss_text(base_loss)}): the updates make the predictions worse than knowing nothing. "
            f"The learning rate ({cfg.train.lr:g}) is most likely too high; lower it."))
    r = stats.update_ratio
    if math.isfinite(r) and r < rules.tiny_update and base_loss > 0 and recent >= rules.high_loss * base_loss:
        hints.append(Hint(
            VANISHING_UPDATES, "warning", "The updates have vanished",
            f"Each update changes the weights by about {r:.1e} of their size, yet the loss ({loss_text(recent)}) is "
            f"still near that of a constant guess ({loss_text(base_loss)}). The steps are too small to learn from: "
            f"the learning rate ({cfg.train.lr:g}) is too low, or the gradient has vanished (a saturated network). "
            "Try a larger learning rate" + (" or Adam." if cfg.train.optimizer == "sgd" else ".")))
    return hints


def _instability(cfg: Config, verdict: Verdict | None, rules: Rules) -> list[Hint]:
    """The run learned, then lost it: the evidence is its own story (best window, last window)."""
    st = verdict.story if verdict is not None and verdict.code == "lost" else None
    if st is None or st.first_solved_step is None or st.last_solved_step is None or st.lost_step is None:
        return []
    t, unit = cfg.train, ("minibatch" if cfg.train.mode == "batch" else "step")
    units = "minibatches" if t.mode == "batch" else "steps"
    rose = math.isfinite(st.best_loss) and st.last_loss > rules.rise_factor * st.best_loss
    loss = (f" The loss rose from {loss_text(st.best_loss)} over its best window to {loss_text(st.last_loss)} over the "
            f"last (a constant guess scores {loss_text(constant_loss(cfg))})." if rose else "")
    adam = (f" Adam keeps its steps near lr in size even when the gradients are tiny (adam_eps {t.adam_eps:g}), so "
            "a solved online run keeps moving." if t.optimizer == "adam" else "")
    return [Hint(INSTABILITY, "warning", "The run learned, then lost it",
                 f"Over {count_text(st.window)} {units} the training accuracy reached {st.best:.3f} (first 0.99 by "
                 f"{unit} {st.first_solved_step:,}, the last by {unit} {st.last_solved_step:,}), then fell: "
                 f"{st.last:.3f} over the last {count_text(st.window)} {units}, under 0.99 by {unit} "
                 f"{st.lost_step:,}.{loss} "
                 f"Training went on moving the weights after the task was solved, and they drifted out of the "
                 f"solution.{adam} Lower the learning rate ({t.lr:g}), or stop by {unit} {st.last_solved_step:,}.")]


def diagnose(cfg: Config, stats: LiveStats | None = None, verdict: Verdict | None = None,
             rules: Rules | None = None) -> list[Hint]:
    """Hints for a config, its recent numbers (None: none yet) and its verdict (None: the run goes on),
    errors first. A run that has learned gets none (but the raw readout's note at lag 0)."""
    rules = rules or Rules()
    losses = np.asarray(stats.losses if stats is not None else [], dtype=np.float64)
    if (len(losses) and not np.all(np.isfinite(losses))) or (verdict is not None and verdict.code == "diverged"):
        hints = [Hint(LOSS_NONFINITE, "error", "The loss is not finite",
                      "The loss became NaN or infinite: the weights diverged, most likely because the learning rate "
                      "is too high. Lower the learning rate and restart.")]
        return _raw_readout(cfg) + hints  # the other statistics mean nothing once the loss is broken
    if has_learned(cfg, stats, verdict, rules):  # no warning or error; the short window proved no obstacle
        return _raw_readout(cfg) if cfg.task.lag == 0 else []
    raw, loss = _raw_readout(cfg), _instability(cfg, verdict, rules) + _loss_hints(cfg, stats, rules)
    explained = any(h.level == "error" for h in raw) or any(h.code in (LOSS_RISING, LOSS_HIGH, INSTABILITY)
                                                             for h in loss)
    hints = raw + _short_window(cfg, stats, verdict, rules, explained) + _base_rate(cfg, stats, verdict, rules) + loss
    order = {s: i for i, s in enumerate(reversed(LEVELS))}
    return sorted(hints, key=lambda h: order[h.level])
