"""One whole training run without a window: `train(cfg)` trains as the config says, prints progress through
`out` (per epoch in batch mode, as Keras does; every `log_every` steps online) and returns the report dict
{config, params, history, final, hints, steps_per_second, elapsed_s, device}; the fields are
described in core/cli/train.py's docstring. An online run with train.fidelity also reports `fidelity`
(`FidelitySummary.to_dict`): the median over the run of each step's cos(g, g*) and |g|/|g*|, per group.
Used by the command line (core/cli/train.py) and by multi-seed runs (core/runs/seeds.py).
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.analysis.hints import diagnose, live_stats_from
from core.analysis.story import series_story
from core.analysis.verdict import Verdict, heldout_verdict
from core.config import Config
from core.history import DecimatingSeries
from core.product.about import version
from core.rules.fidelity_history import meter_of
from core.train.loop import WEIGHT_CHECK_EVERY, Diverged, advice, train_unit

__all__ = ["WEIGHT_CHECK_EVERY", "Diverged", "EpochLog", "FidelitySummary", "ProgressLog", "advice", "block_ends",
           "history_blocks", "train"]

class FidelitySummary:
    """Each fidelity field's median over a run, in bounded memory: every step's row (core.rules.fidelity.FIELDS) is
    kept up to `cap` rows; then every second kept row is dropped and only every 2nd step is kept from then on
    (every 4th after the next halving, ...), so the median is over evenly spaced steps of the whole run."""

    def __init__(self, cap: int = 100_000):
        from core.rules.fidelity_history import FIELDS

        self.fields = FIELDS
        self.rows = np.empty((max(2, int(cap)), len(FIELDS)), np.float32)
        self.n = 0  # rows kept
        self.seen = 0  # steps offered
        self.every = 1

    def add(self, row) -> None:
        if row is not None and self.seen % self.every == 0:
            if self.n == len(self.rows):
                half = self.rows[: self.n : 2].copy()
                self.n = len(half)
                self.rows[: self.n] = half
                self.every *= 2
            if self.seen % self.every == 0:
                self.rows[self.n] = row
                self.n += 1
        self.seen += 1

    def to_dict(self) -> dict:
        """{"steps", "sampled", "every", "median": {field: value or NaN}}: NaN where no step had a value (the
        readout under readout=raw; a zero gradient)."""
        kept = self.rows[: self.n].astype(np.float64)
        med = {}
        for j, k in enumerate(self.fields):
            col = kept[:, j]
            col = col[np.isfinite(col)]
            med[k] = float(np.median(col)) if len(col) else float("nan")
        return {"steps": self.seen, "sampled": self.n, "every": self.every, "median": med}

    def line(self) -> str:
        m = self.to_dict()["median"]
        groups = ", ".join(f"{g} {m['cos_' + g]:.3f}" for g in ("input", "recurrent", "biases", "readout"))
        return (f"fidelity: median cos(g, g*) {m['cos_all']:.3f} ({groups}); median |g|/|g*| {m['ratio_all']:.3f}"
                f" over {self.seen:,} steps")


def block_ends(epochs: int) -> tuple[int, ...]:
    """The epochs after which a batch run prints its history blocks: the answer ran fit(epochs=10), printed,
    then fit(epochs=40) and printed again, so: after epoch 10 (when there are more) and after the last."""
    return (10, epochs) if epochs > 10 else (epochs,)


def history_blocks(history: dict, upto: int, span: int = 10) -> list[str]:
    """The answer's printout for epochs upto-span+1..upto, as `print(np.round(hist.history['loss'], 3))`
    printed it, one named line per series: a header, then 'loss: [1.137 0.842 ...]' and 'val_loss: [...]'."""
    lo = max(0, upto - span)
    lines = [f"epochs {lo + 1}-{upto}:"]
    for key in ("loss", "val_loss"):
        vals = np.round(np.asarray(history[key][lo:upto], dtype=np.float64), 3)
        lines.append(f"{key}: " + np.array2string(vals, max_line_width=10**6, separator=" "))
    return lines


class EpochLog:
    """Batch mode's printout, as Keras's: one line per epoch (unless `epoch_lines` is False) and the answer's
    history blocks (`history_blocks`) after epoch 10 and after the last; its final figures are the last epoch's."""

    def __init__(self, cfg: Config, tr, out, epoch_lines: bool):
        self.cfg, self.tr, self.out, self.epoch_lines = cfg, tr, out, epoch_lines

    def header(self) -> None:
        tr = self.tr
        self.out(f"batch: {tr.n_params} parameters, {tr.n_train} train / {len(tr.x_val)} val sequences, "
                 f"{tr.batches_per_epoch} batches per epoch, device {tr.device}")
        self.e0 = time.perf_counter()

    def unit(self, step: int, rec) -> None:
        logs, epochs = rec.epoch_end, self.cfg.train.epochs
        if logs is None:
            return
        if self.epoch_lines:
            self.out(f"Epoch {logs['epoch']}/{epochs} - {time.perf_counter() - self.e0:.2f}s - loss: "
                     f"{logs['loss']:.4f} - accuracy: {logs['accuracy']:.4f} - val_loss: {logs['val_loss']:.4f}"
                     f" - val_accuracy: {logs['val_accuracy']:.4f}")
        self.e0 = time.perf_counter()
        if logs["epoch"] in block_ends(epochs):
            for line in history_blocks(self.tr.history, logs["epoch"]):
                self.out(line)

    def history(self) -> dict:
        return self.tr.history

    def final(self, diverged) -> dict:
        last = {k: (v[-1] if v else float("nan")) for k, v in self.tr.history.items()}
        return {"loss": last["loss"], "val_loss": last["val_loss"], "accuracy": last["accuracy"],
                "val_accuracy": last["val_accuracy"]}

    def heldout(self, final: dict) -> dict:
        """The held-out figures the verdict judges: the last epoch's validation split."""
        return {"accuracy": final["val_accuracy"], "loss": final["val_loss"], "steps": self.tr.heldout_count()}


class ProgressLog:
    """Online mode's printout: a progress line (the mean loss and accuracy since the last one, the rate) every
    `log_every` steps and at the last; its final figures are the held-out steps (none after a divergence)."""

    def __init__(self, cfg: Config, tr, out, log_every: int, meter):
        self.cfg, self.tr, self.out, self.log_every, self.meter = cfg, tr, out, log_every, meter
        self.logged: dict[str, list[float]] = {"step": [], "loss": [], "accuracy": []}
        self.s_loss = self.s_correct = 0.0
        self.s_n = 0

    def header(self) -> None:
        tr, t = self.tr, self.cfg.train
        self.out(f"online: {tr.n_params} parameters, readout {self.cfg.model.readout}, rule {t.rule}, window "
                 f"{t.window}, device {tr.device}")
        self.meter.mark(0)

    def unit(self, i: int, rec) -> None:
        total = self.cfg.train.steps
        self.s_loss += rec.loss
        self.s_correct += rec.correct
        self.s_n += 1
        if i % self.log_every == 0 or i == total:
            rate = self.meter.mark(i)
            loss, acc = self.s_loss / self.s_n, self.s_correct / self.s_n
            self.logged["step"].append(i)
            self.logged["loss"].append(loss)
            self.logged["accuracy"].append(acc)
            self.out(f"step {i}/{total} - loss: {loss:.4f} - accuracy: {acc:.4f} - {rate:,.0f} steps/s")
            self.s_loss = self.s_correct = 0.0
            self.s_n = 0

    def history(self) -> dict:
        return self.logged

    def final(self, diverged) -> dict:
        if diverged is not None:  # no held-out figure from diverged weights: it would only look plausible
            return {"heldout_accuracy": float("nan"), "heldout_loss": float("nan"), "heldout_steps": 0}
        ev = self.tr.heldout(self.cfg.train.eval_steps)
        self.out(f"held-out ({ev['steps']} steps, weights frozen, state carried): accuracy {ev['accuracy']:.4f}"
                 f" - loss {ev['loss']:.4f}")
        return {"heldout_accuracy": ev["accuracy"], "heldout_loss": ev["loss"], "heldout_steps": ev["steps"]}

    def heldout(self, final: dict) -> dict:
        """The held-out figures the verdict judges: the steps final() measured."""
        return {"accuracy": final["heldout_accuracy"], "loss": final["heldout_loss"], "steps": final["heldout_steps"]}


def heldout_divergence(cfg: Config, tr, final: dict, steps: int) -> Diverged | None:
    """A divergence the held-out figure shows (its loss inf or NaN over held-out data that exists), or None:
    finite weights can still overflow the output, and such a figure must not be reported as a result."""
    loss = final.get("heldout_loss", final.get("val_loss"))
    if tr.heldout_count() > 0 and isinstance(loss, float) and not math.isfinite(loss):
        return Diverged(cfg, steps, f"the held-out loss became {loss}")
    return None


def train(cfg: Config, log_every: int = 2000, out=print, epoch_lines: bool = True) -> dict:
    """Run a whole training as the config says and return the report dict.

    The trainer is advanced by the one run loop the window uses too (core.train.loop.train_unit) until it
    reports its end (online: the step total; batch: the last epoch). Training stops at the first unit whose loss
    (checked every unit) or weights (every WEIGHT_CHECK_EVERY units) are not finite: the report's
    final.verdict.code is then "diverged", final.diverged is {step, what, message} (Diverged.to_dict; message
    e.g. "diverged at step 12: the loss became nan (lr 10 is likely too high for sgd; try 0.01)", also the
    verdict's text), and there is no held-out figure.

    Batch mode prints one Keras-style line per epoch (unless epoch_lines is False) and the answer's history
    blocks (`history_blocks`) after epoch 10 and after the last (`EpochLog`); online prints `ProgressLog`'s
    lines. The hints rest on the trainer's analysis window, as the window's do."""
    from core.train.trainer import RateMeter, make_trainer  # here: importing this module loads no torch

    tr = make_trainer(cfg)
    if tr.device_warning:
        out(f"warning: {tr.device_warning}")
    log = EpochLog(cfg, tr, out, epoch_lines) if tr.mode == "batch" else ProgressLog(cfg, tr, out, log_every,
                                                                                         RateMeter())
    log.header()
    fid = FidelitySummary() if meter_of(tr) is not None else None
    acc_series, loss_series = DecimatingSeries(), DecimatingSeries()  # the whole run, bounded, as the window's
    t0 = time.perf_counter()
    diverged, steps, update_ratio = None, 0, float("nan")
    while True:
        done = train_unit(tr, steps)
        steps += 1
        if done.update_ratio is not None:
            update_ratio = done.update_ratio
        if done.diverged is not None:
            diverged = done.diverged
            break
        if fid is not None:
            fid.add(meter_of(tr).last)
        acc_series.append(done.unit.score)
        loss_series.append(done.unit.loss)
        log.unit(steps, done.unit)
        if tr.finish() is not None:
            break
    elapsed = time.perf_counter() - t0
    final, history = log.final(diverged), log.history()
    if diverged is None:
        diverged = heldout_divergence(cfg, tr, final, steps)
    if fid is not None:
        out(fid.line())
    if diverged is None:
        # the window's rule (heldout_verdict), on the figures measured and the whole run's story
        verdict = heldout_verdict(cfg, tr, step=steps, story=series_story(cfg, acc_series, loss_series),
                                  ev=log.heldout(final))[1]
        if verdict.code == "diverged":  # one rule for every mode: a diverged verdict always names the step
            what = verdict.text.split(": ", 1)[-1] if verdict.text.startswith("diverged") else verdict.text
            diverged = Diverged(cfg, steps, what)
    if diverged is not None:
        verdict = Verdict("diverged", float("nan"), tr.heldout_metric, 0, float("nan"), diverged.message)
        final["diverged"] = diverged.to_dict()
    final["verdict"] = verdict.to_dict()
    w = tr.analysis_window(np.asarray(history["loss"], np.float64), np.asarray(history["accuracy"], np.float64))
    hints = diagnose(cfg, live_stats_from(w.losses, w.correct, steps, update_ratio, w.pred_ones), verdict)
    out(f"verdict: {verdict.text}")
    for h in hints:
        out(f"{h.level}: {h.title}")
    report = {"config": cfg.to_dict(), "params": tr.n_params, "history": history, "final": final,
              "hints": [h.to_dict() for h in hints],
              "steps_per_second": steps / elapsed if elapsed > 0 else None, "elapsed_s": elapsed,
              "device": str(tr.device), "app_version": version()}
    if fid is not None:
        report["fidelity"] = fid.to_dict()
    return report
