"""What a run achieved, in one word and one line, and the reference values its plots are read against.

A `Verdict` judges one accuracy figure measured on data the run did not train on:
- online: the held-out accuracy, `heldout(trainer, eval_steps)`: the next eval_steps steps of the same stream,
  weights frozen, state carried (the headless runner and the live window call this one function, and it leaves
  the trainer where it was, so a run can continue after it);
- batch: val_accuracy on the validation split.
Without held-out data (eval_steps 0, validation_split 0) the last training accuracy stands in, and the text says
so. Codes, checked in this order:
- "diverged": the loss is not finite;
- "not-run": there is no figure (nothing trained or measured);
- "lost": the run's story (core.analysis.story: its whole-run accuracy through a moving window) reached SOLVED,
  and both its last window and the figure are below it: it learned, then lost it;
- "learned": figure >= SOLVED (0.99);
- "base-rate": figure at or below the base rate plus max(3 binomial standard errors over the n measured
  targets, 0.02) (always answering the majority class scores the base rate);
- "partly": anything in between.
Texts: "learned: held-out accuracy 1.000", "stuck at the base rate 0.75: held-out accuracy 0.766, no better than
always answering 1", "partly: held-out accuracy 0.910 (base rate 0.75, solved at 0.99)". A verdict given the
step it judged names it after the figure ("held-out accuracy 1.000 at step 20,000"; batch "after epoch 50"), so
a verdict shown while training goes on past the step total stays true; with a story, a learned verdict says
when the run first solved the task and a lost one tells it: "learned by step 400, lost it by step 4,125:
held-out accuracy 0.759 at step 5,000, back at the base rate 0.75".

`references(cfg)` gives the plots' lines: the base rate, the solved line and the constant-predictor loss (the
loss of always predicting the mean target: p1(1-p1) for mse, the binary entropy in nats for bce).
Pure Python; the trainer passed to `heldout` is only called, never imported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Protocol

from core.analysis.story import Story
from core.config import Config
from core.formatting import SOLVED, accuracy_text, loss_text
from core.tasks import base_rate, keras_split_at, run_units, target_rate

VERDICT_CODES = ("learned", "lost", "partly", "base-rate", "diverged", "not-run")
BASE_RATE_MIN_BAND = 0.02  # "at the base rate" means within max(3 standard errors, this) above it
_WORDS = {"heldout_accuracy": "held-out accuracy", "val_accuracy": "validation accuracy",
          "accuracy": "training accuracy"}


@dataclass(frozen=True)
class References:
    """Reference values for the plots. base_rate: accuracy of always answering `majority`; solved: the
    accuracy that counts as learned; constant_loss: the loss of always predicting the mean target."""

    base_rate: float
    majority: int
    solved: float
    constant_loss: float


def constant_loss(cfg: Config) -> float:
    """The loss of the best constant prediction, the mean target p1 (the 'learned nothing' loss): p1(1-p1) for
    mse, the binary entropy -(p1 ln p1 + (1-p1) ln(1-p1)) in nats for bce. With the raw readout every unit
    predicts the same constant, so the per-unit mean loss is the same."""
    p1 = target_rate(cfg.task)
    if cfg.train.loss == "bce":
        return 0.0 if p1 in (0.0, 1.0) else -(p1 * math.log(p1) + (1 - p1) * math.log(1 - p1))
    return p1 * (1 - p1)


def majority_class(cfg: Config) -> int:
    """The target class a constant guess should answer (1 on a tie)."""
    return 1 if target_rate(cfg.task) >= 0.5 else 0


def references(cfg: Config, solved: float = SOLVED) -> References:
    return References(base_rate(cfg.task), majority_class(cfg), solved, constant_loss(cfg))


@dataclass(frozen=True)
class Verdict:
    """code: one of VERDICT_CODES; figure: the accuracy judged (NaN when none); metric: which accuracy
    (heldout_accuracy, val_accuracy or accuracy); n: targets behind the figure; loss: the loss measured with
    it (NaN when unknown); text: the verdict in words; step: the unit it judged (None: not said); story: the
    whole run's story behind it (core.analysis.story; None: not read)."""

    code: str
    figure: float
    metric: str
    n: int
    loss: float
    text: str
    step: int | None = None
    story: Story | None = None

    @property
    def learned(self) -> bool:
        return self.code == "learned"

    def to_dict(self) -> dict:
        """The fields, with the story's headline figures beside it: best {accuracy, step, window},
        first_solved_step and lost_step (None without a story)."""
        d = asdict(self)
        st = self.story
        d["best"] = st.best_dict() if st is not None else None
        d["first_solved_step"] = st.first_solved_step if st is not None else None
        d["lost_step"] = st.lost_step if st is not None else None
        return d


def metric_words(metric: str) -> str:
    """The words for a verdict's metric: "held-out accuracy", "validation accuracy", "training accuracy"."""
    return _WORDS.get(metric, metric)


def base_rate_band(b: float, n: int) -> float:
    """How far above the base rate b an accuracy over n targets still counts as 'at the base rate'."""
    se = math.sqrt(b * (1 - b) / n) if n > 0 else 0.0
    return max(3 * se, BASE_RATE_MIN_BAND)


def unit_word(cfg: Config) -> str:
    """What a run counts: "step" online, "minibatch" in batch mode."""
    return "minibatch" if cfg.train.mode == "batch" else "step"


def at_text(cfg: Config, step: int) -> str:
    """The unit a verdict judged, in words: "at step 20,000" online; batch "after epoch 50" at an epoch's end,
    else "at minibatch 1,234"."""
    if cfg.train.mode == "batch":
        per_epoch = max(1, run_units(cfg.train) // max(1, cfg.train.epochs))
        if step > 0 and step % per_epoch == 0:
            return f"after epoch {step // per_epoch:,}"
    return f"at {unit_word(cfg)} {step:,}"


def judge(cfg: Config, figure: float, n: int, metric: str = "heldout_accuracy", loss: float | None = None,
          solved: float = SOLVED, step: int | None = None, story: Story | None = None) -> Verdict:
    """The verdict for one accuracy figure over n targets (see the module docstring for the rule). loss: the
    loss measured with the figure (None: unknown); a non-finite one means the run diverged. step: the unit the
    figure was measured at (named in the text); story: the whole run's (a 'lost' verdict needs one)."""
    figure = _num(figure)
    n = int(n or 0)

    def verdict(code: str, loss: float, text: str) -> Verdict:
        return Verdict(code, figure, metric, n, loss, text, step, story)

    if loss is not None and not math.isfinite(loss) and (math.isfinite(figure) or n > 0):
        at = f" {at_text(cfg, step)}" if step is not None else ""
        return verdict("diverged", float(loss),
                       f"diverged{at}: the loss is {loss_text(loss)}; lower the learning rate and start again")
    loss = _num(loss)
    if not math.isfinite(figure):
        return verdict("not-run", loss, "not run: nothing was measured")
    words = metric_words(metric) + (" (no held-out data)" if metric == "accuracy" else "")
    acc = accuracy_text(figure, solved) + (f" {at_text(cfg, step)}" if step is not None else "")
    b = base_rate(cfg.task)
    maj = majority_class(cfg)
    band = base_rate_band(b, n)
    unit = unit_word(cfg)
    if figure >= solved:
        note = f" (always answering {maj} already scores {b:.3f})" if b >= solved else ""
        if story is not None and story.first_solved_step is not None:
            note += f" (solved by {unit} {story.first_solved_step:,})"
        return verdict("learned", loss, f"learned: {words} {acc}{note}")
    if story is not None and story.lost and story.last < solved:
        where = (f", back at the base rate {b:.2f}" if figure <= b + band else f" (base rate {b:.2f})")
        return verdict("lost", loss, f"learned by {unit} {story.first_solved_step:,}, lost it by {unit} "
                                     f"{story.lost_step:,}: {words} {acc}{where}")
    if figure <= b + band:
        if figure < b - band:
            text = f"below the base rate {b:.2f}: {words} {acc}, worse than always answering {maj}"
        else:
            text = f"stuck at the base rate {b:.2f}: {words} {acc}, no better than always answering {maj}"
        return verdict("base-rate", loss, text)
    return verdict("partly", loss, f"partly: {words} {acc} (base rate {b:.2f}, solved at {solved:.2f})")


class HeldOut(Protocol):
    """What the verdict asks of a trainer (core.train.trainer.Trainer is one)."""

    @property
    def heldout_metric(self) -> str: ...  # what heldout()'s accuracy is called: heldout_accuracy | val_accuracy

    def heldout(self, n: int | None = None) -> dict: ...  # {accuracy, loss, steps} held out

    def training_figure(self) -> dict | None: ...  # {accuracy, loss, steps} standing in without held-out data


def heldout(trainer: HeldOut, n: int) -> dict:
    """The held-out figures {accuracy, loss, steps} at the trainer's current position, the same for the
    headless runner and the window: the trainer measures them (core.train.trainer.Trainer.heldout; online the
    next n steps, position restored; batch the validation split, n ignored)."""
    return trainer.heldout(int(n))


def heldout_verdict(cfg: Config, trainer: HeldOut, solved: float = SOLVED, step: int | None = None,
                    story: Story | None = None, ev: dict | None = None) -> tuple[dict, Verdict]:
    """The one rule for what a run's verdict judges, for the window and the headless runner alike: the held-out
    figures (`ev` when already measured, else heldout() with the config's eval_steps) under the trainer's
    heldout_metric. Without held-out data the trainer's training figure stands in (batch: the last epoch's
    training accuracy), else the story's last window of training accuracy (online), metric "accuracy" ('not
    run' without either). step: the unit judged (named in the text); story: the whole run's
    (core.analysis.story), which a 'lost' verdict rests on."""
    ev = heldout(trainer, cfg.train.eval_steps) if ev is None else ev
    verdict = judge(cfg, ev["accuracy"], ev["steps"], trainer.heldout_metric, ev["loss"], solved, step, story)
    if verdict.code == "not-run":
        stand_in = trainer.training_figure()
        if stand_in is None and story is not None and story.steps > 0:
            stand_in = {"accuracy": story.last, "loss": story.last_loss, "steps": story.window}
        if stand_in is not None:
            verdict = judge(cfg, stand_in["accuracy"], stand_in["steps"], "accuracy", stand_in["loss"], solved,
                            step, story)
    return ev, verdict


def verdict_of_report(cfg: Config, report: dict, solved: float = SOLVED) -> Verdict:
    """The verdict of a runner report ({final, history}) without its trainer (a report read back): held-out
    accuracy (online) or val_accuracy (batch), else the last training accuracy; a non-finite loss with it means
    'diverged', as does a `diverged` record (the runner stopped the run: no figure from diverged weights, whatever
    accuracy was logged before). The runner itself judges through heldout_verdict, as the window does."""
    final = report.get("final", {}) or {}
    history = report.get("history", {}) or {}
    t = cfg.train
    stopped = final.get("diverged")
    if isinstance(stopped, dict):
        metric = "val_accuracy" if t.mode == "batch" else "heldout_accuracy"
        return Verdict("diverged", float("nan"), metric, 0, float("nan"), str(stopped.get("message") or "diverged"))
    if t.mode == "batch":
        n_val_seq = t.n_sequences - keras_split_at(t.n_sequences, t.validation_split)
        figure, loss, metric, n = final.get("val_accuracy"), final.get("val_loss"), "val_accuracy", n_val_seq
        if not _finite(figure):
            figure, loss, metric, n = final.get("accuracy"), final.get("loss"), "accuracy", t.n_sequences - n_val_seq
        n *= t.seq_len
    else:
        figure, loss, metric, n = (final.get("heldout_accuracy"), final.get("heldout_loss"), "heldout_accuracy",
                                   final.get("heldout_steps") or 0)
        if not n:  # no held-out steps: the last logged training accuracy and the steps it was logged over
            acc, steps, losses = history.get("accuracy", []), history.get("step", []), history.get("loss", [])
            figure, loss, metric = (acc[-1] if acc else None), (losses[-1] if losses else None), "accuracy"
            n = (steps[-1] - (steps[-2] if len(steps) > 1 else 0)) if steps else 0
    return judge(cfg, _num(figure), n, metric, loss if isinstance(loss, (int, float)) else None, solved)


def _num(v: object) -> float:
    return float(v) if isinstance(v, (int, float)) else float("nan")


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
