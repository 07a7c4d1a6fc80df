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

from core.analysis.hints import RecentSteps, diagnose, live_stats_from
from core.analysis.verdict import Verdict, heldout, verdict_of_report
from core.config import Config

WEIGHT_CHECK_EVERY = 50  # steps between checks of the weights (the loss is checked at every step)


class Diverged(Exception):
    """Training diverged: `step` (1-based) is the first step whose loss or weights were not finite; `what` says
    which ("the loss became nan", "the weights hold inf (cell.weight_hh)"); `message` adds what to change."""

    def __init__(self, cfg: Config, step: int, what: str):
        self.step, self.what = int(step), what
        self.message = f"diverged at step {self.step:,}: {what} ({advice(cfg)})"
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"step": self.step, "what": self.what, "message": self.message}


def advice(cfg: Config) -> str:
    """What to change after a divergence: 'lr 10 is likely too high for sgd; try 0.01'."""
    lr = cfg.train.lr
    try_lr = min(0.01, 10 ** math.floor(math.log10(lr)) / 10) if lr > 0 else 0.001
    return f"lr {lr:g} is likely too high for {cfg.train.optimizer}; try {try_lr:g}"


def first_bad_weight(model) -> str | None:
    """'the weights hold nan (cell.weight_hh)' for the first parameter with a NaN or infinity, else None."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                kind = "nan" if bool(torch.isnan(p).any()) else "inf"
                return f"the weights hold {kind} ({name})"
    return None


def check_step(cfg: Config, model, step: int, loss: float) -> None:
    """Raise Diverged if this step's loss, or (every WEIGHT_CHECK_EVERY steps) a weight, is not finite."""
    if not math.isfinite(loss):
        raise Diverged(cfg, step, f"the loss became {loss}")
    if step % WEIGHT_CHECK_EVERY == 0 or step == 1:
        bad = first_bad_weight(model)
        if bad is not None:
            raise Diverged(cfg, step, bad)


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


def train(cfg: Config, log_every: int = 2000, out=print, epoch_lines: bool = True) -> dict:
    """Run a whole training as the config says and return the report dict.

    Training stops at the first step whose loss (checked every step) or weights (every WEIGHT_CHECK_EVERY steps)
    are not finite: the report's final.verdict.code is then "diverged", final.diverged is {step, what, message}
    (Diverged.to_dict; message e.g. "diverged at step 12: the loss became nan (lr 10 is likely too high for
    sgd; try 0.01)", also the verdict's text), and there is no held-out figure.

    Batch mode prints one Keras-style line per epoch (unless epoch_lines is False) and the answer's history
    blocks (`history_blocks`) after epoch 10 and after the last."""
    from core.train.trainer import BatchTrainer, OnlineTrainer, RateMeter  # here: importing this module loads no torch

    t = cfg.train
    fid = None
    if t.mode == "batch":
        tr = BatchTrainer(cfg)
        if tr.device_warning:
            out(f"warning: {tr.device_warning}")
        out(f"batch: {tr.n_params} parameters, {tr.n_train} train / {len(tr.x_val)} val sequences, "
            f"{tr.batches_per_epoch} batches per epoch, device {tr.device}")
        t0 = time.perf_counter()
        diverged = None
        step = 0
        e0 = time.perf_counter()
        while tr.epoch < t.epochs:
            rec = tr.step()
            step += 1
            try:
                check_step(cfg, tr.model, step, rec.loss)
            except Diverged as d:
                diverged = d
                break
            logs = rec.epoch_end
            if logs is None:
                continue
            if epoch_lines:
                out(f"Epoch {logs['epoch']}/{t.epochs} - {time.perf_counter() - e0:.2f}s - loss: {logs['loss']:.4f}"
                    f" - accuracy: {logs['accuracy']:.4f} - val_loss: {logs['val_loss']:.4f}"
                    f" - val_accuracy: {logs['val_accuracy']:.4f}")
            e0 = time.perf_counter()
            if logs["epoch"] in block_ends(t.epochs):
                for line in history_blocks(tr.history, logs["epoch"]):
                    out(line)
        elapsed = time.perf_counter() - t0
        steps = step
        last = {k: (v[-1] if v else float("nan")) for k, v in tr.history.items()}
        final = {"loss": last["loss"], "val_loss": last["val_loss"],
                 "accuracy": last["accuracy"], "val_accuracy": last["val_accuracy"]}
        history = tr.history
        n_params = tr.n_params
    else:
        tr = OnlineTrainer(cfg)
        if tr.device_warning:
            out(f"warning: {tr.device_warning}")
        out(f"online: {tr.n_params} parameters, readout {cfg.model.readout}, rule {t.rule}, window {t.window}, "
            f"device {tr.device}")
        history = {"step": [], "loss": [], "accuracy": []}
        meter = RateMeter()
        meter.mark(0)
        t0 = time.perf_counter()
        s_loss = s_correct = 0.0
        s_n = 0
        recent = RecentSteps()  # the last 1,000 steps: the evidence the hints rest on
        fid = FidelitySummary() if t.fidelity else None
        diverged = None
        steps = 0
        for i in range(1, t.steps + 1):
            rec = recent.train_step(tr)
            steps = i
            try:
                check_step(cfg, tr.model, i, rec.loss)
            except Diverged as d:
                diverged = d
                break
            if fid is not None:
                fid.add(tr.engine.fidelity.last)
            s_loss += rec.loss
            s_correct += rec.correct
            s_n += 1
            if i % log_every == 0 or i == t.steps:
                rate = meter.mark(i)
                history["step"].append(i)
                history["loss"].append(s_loss / s_n)
                history["accuracy"].append(s_correct / s_n)
                out(f"step {i}/{t.steps} - loss: {s_loss / s_n:.4f} - accuracy: {s_correct / s_n:.4f}"
                    f" - {rate:,.0f} steps/s")
                s_loss = s_correct = 0.0
                s_n = 0
        elapsed = time.perf_counter() - t0
        if diverged is None:
            ev = heldout(tr, t.eval_steps)
            final = {"heldout_accuracy": ev["accuracy"], "heldout_loss": ev["loss"], "heldout_steps": ev["steps"]}
            out(f"held-out ({ev['steps']} steps, weights frozen, state carried): accuracy {ev['accuracy']:.4f}"
                f" - loss {ev['loss']:.4f}")
        else:  # no held-out figure from diverged weights: it would only look plausible
            final = {"heldout_accuracy": float("nan"), "heldout_loss": float("nan"), "heldout_steps": 0}
        if fid is not None:
            out(fid.line())
        n_params = tr.n_params
    if diverged is None:
        verdict = verdict_of_report(cfg, {"final": final, "history": history})
    else:
        metric = "val_accuracy" if t.mode == "batch" else "heldout_accuracy"
        verdict = Verdict("diverged", float("nan"), metric, 0, float("nan"), diverged.message)
        final["diverged"] = diverged.to_dict()
    final["verdict"] = verdict.to_dict()
    stats = recent.stats() if t.mode == "online" else live_stats_from(history["loss"], history["accuracy"], steps)
    hints = diagnose(cfg, stats, verdict)
    out(f"verdict: {verdict.text}")
    for h in hints:
        out(f"{h.level}: {h.title}")
    report = {"config": cfg.to_dict(), "params": n_params, "history": history, "final": final,
              "hints": [h.to_dict() for h in hints],
              "steps_per_second": steps / elapsed if elapsed > 0 else None, "elapsed_s": elapsed,
              "device": str(tr.device)}
    if fid is not None:
        report["fidelity"] = fid.to_dict()
    return report
