"""The runs the claims are measured from, and the figures read off them.

This module owns `RunCache` (each (config, seed) trained once with core.runs.headless.train, shared between claims;
`prefetch` trains them on workers or a cluster first, one task each), `scaled` (a smoke run's shortened config),
the verdict words (`VERDICTS`) and the figures every claim reads: an online config's seeds judged by the one verdict
rule (`online_figures`: core.runs.seeds.seed_outcome), a batch config's losses by epoch (`batch_figures`), the
distributions and their text. The claims themselves (core/runs/claims.py, core/runs/claims_cells.py) say what the
figures mean.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable

import numpy as np

from core.analysis.hints import constant_loss
from core.config import Config
from core.runs.headless import train
from core.runs.seeds import seed_outcome
from core.workers.pool import Where
from core.workers.tasks import Finished, Task, run_tasks

VERDICTS = ("holds", "holds with a caveat", "does not hold")
STALL = 0.1  # a batch run whose final val_loss is above this (or not a number) has stalled
LOG_EVERY = 500  # online runs log their running accuracy every 500 steps (for "steps to learn")
PROBE_STEPS = 2000  # held-out steps whose states the memory probe reads


def scaled(cfg: Config, scale: float) -> Config:
    """The config with its training shortened by `scale` (1 = as listed; less only for smoke tests)."""
    if scale >= 1:
        return cfg
    t = cfg.train
    return cfg.replace(steps=max(200, int(t.steps * scale)), eval_steps=max(100, int(t.eval_steps * scale)),
                       epochs=max(2, int(t.epochs * scale)), n_sequences=max(200, int(t.n_sequences * scale)))



def train_run(cfg: Config) -> dict:
    """One claim run's report (in this process or in a worker)."""
    return train(cfg, log_every=LOG_EVERY, out=lambda *_: None, epoch_lines=False)


def run_cost(cfg: Config) -> float:
    """A rough CPU cost, to start the longest runs first."""
    t = cfg.train
    return t.steps + t.eval_steps if t.mode == "online" else t.epochs * t.n_sequences * t.seq_len / 8


class RunCache:
    """Trains each (config, seed) once with core.runs.headless.train; claims that share a run share its report."""

    def __init__(self, scale: float = 1.0, on_run: Callable[[str], object] | None = None):
        self.scale = scale
        self.on_run = on_run
        self._reports: dict[str, dict] = {}
        self._models: dict[str, dict] = {}
        self._prefetched: set[str] = set()  # trained elsewhere and not yet used by a claim
        self.charged_s = 0.0  # the training seconds of prefetched runs since taken by claims (take_charged)

    def reports(self, cfg: Config, seeds) -> list[dict]:
        out = []
        for s in seeds:
            c = scaled(cfg, self.scale).replace(seed=s)
            key = json.dumps(c.to_dict(), sort_keys=True)
            if key not in self._reports:
                self._reports[key] = train_run(c)
                if self.on_run:
                    self.on_run(f"seed {s}")
            elif key in self._prefetched:  # the first claim to use a run trained on a worker pays its time
                self._prefetched.discard(key)
                self.charged_s += float(self._reports[key].get("elapsed_s") or 0.0)
            out.append(self._reports[key])
        return out

    def prefetch(self, cfgs, seeds, where: Where) -> None:
        """Train every (config, seed) not yet cached on `where` (workers or a cluster), one task each."""
        todo: dict[str, Config] = {}
        for cfg in cfgs:
            for s in seeds:
                c = scaled(cfg, self.scale).replace(seed=int(s))
                key = json.dumps(c.to_dict(), sort_keys=True)
                if key not in self._reports:
                    todo[key] = c
        for ev in run_tasks([Task(k, train_run, (c,), run_cost(c)) for k, c in todo.items()], where):
            if isinstance(ev, Finished):
                self._reports[ev.key] = ev.result
                self._prefetched.add(ev.key)
                if self.on_run:
                    self.on_run(f"seed {todo[ev.key].train.seed}")

    def take_charged(self) -> float:
        """The training seconds of prefetched runs first used since the last call (then reset)."""
        t, self.charged_s = self.charged_s, 0.0
        return t

    def inside(self, cfg: Config, seed: int) -> dict:
        """One online seed trained again by hand, then PROBE_STEPS held-out steps with the weights frozen:
        their inputs x, states h, predictions y_hat, and the memory probe of h (lags 0..4)."""
        from core.analysis.probes import memory_probe  # here: the window imports this module and loads no torch
        from core.train.loop import train_unit
        from core.train.online import OnlineTrainer

        c = scaled(cfg, self.scale).replace(seed=seed)
        key = json.dumps(c.to_dict(), sort_keys=True)
        if key not in self._models:
            tr = OnlineTrainer(c)
            for done in range(c.train.steps):  # the one run loop; a diverged run is looked inside where it stopped
                if train_unit(tr, done).diverged is not None:
                    break
            recs = [tr.step(train=False) for _ in range(PROBE_STEPS)]
            x = np.array([r.x for r in recs])
            h = np.stack([r.h for r in recs])
            y_hat = np.array([r.y_hat for r in recs])
            self._models[key] = {"x": x, "h": h, "y_hat": y_hat, "probe": memory_probe(h, x, max_lag=4)}
        return self._models[key]


# -- small helpers --------------------------------------------------------------------------------------------
def dist(values) -> dict:
    """The median and range of the values that are numbers (a diverged seed's NaN is none), and every value."""
    v = [float(x) for x in values]
    got = [x for x in v if math.isfinite(x)] or [float("nan")]
    return {"median": statistics.median(got), "min": min(got), "max": max(got), "values": v}


def dist_text(d: dict, fmt: str = ".3f") -> str:
    """'median m [min, max]', and over how many seeds when some have no figure (NaN: diverged)."""
    text = f"median {d['median']:{fmt}} [{d['min']:{fmt}}, {d['max']:{fmt}}]"
    v = d.get("values")
    if v is None:
        return text
    k = sum(math.isfinite(x) for x in v)
    if k == 0:
        return "no figure from any seed"
    return text if k == len(v) else f"{text} ({k}/{len(v)} seeds have one)"


def diverged(report: dict) -> bool:
    """Did this run diverge (core.runs.headless: final.diverged, or a 'diverged' verdict)?"""
    final = report.get("final") or {}
    return bool(final.get("diverged")) or (final.get("verdict") or {}).get("code") == "diverged"


def diverged_text(seeds) -> str:
    """' (seeds 2, 5 diverged)' or '' when none did: said after a count of seeds that learned."""
    if not seeds:
        return ""
    return f" ({'seed' if len(seeds) == 1 else 'seeds'} {', '.join(str(s) for s in seeds)} diverged)"


def steps_to_learn(report: dict, threshold: float = 0.99) -> int | None:
    """The first logged step whose running accuracy (over the last LOG_EVERY steps) reached the threshold."""
    h = report["history"]
    return next((s for s, a in zip(h["step"], h["accuracy"]) if a >= threshold), None)


def online_figures(cache: RunCache, cfg: Config, seeds) -> dict:
    """An online config's figures over its seeds: how many learned (core.runs.seeds.seed_outcome, the one verdict
    rule; a seed that diverged never learned), the held-out accuracies, the steps to learn, the seeds that failed
    and those of them that diverged."""
    reps = cache.reports(cfg, seeds)
    c = scaled(cfg, cache.scale)
    learned = [seed_outcome(c, r)[0] and not diverged(r) for r in reps]
    stl = [steps_to_learn(r) for r in reps]
    return {"learned": sum(learned), "n": len(reps), "heldout": dist(r["final"]["heldout_accuracy"] for r in reps),
            "steps_to_learn": stl, "failed_seeds": [s for s, ok in zip(seeds, learned) if not ok],
            "diverged_seeds": [s for s, r in zip(seeds, reps) if diverged(r)], "steps": c.train.steps}


def batch_figures(cache: RunCache, cfg: Config, seeds, also: int | None = None) -> dict:
    """A batch config's figures over its seeds: losses at epochs 1, 10 (or its last) and its last, and at `also`
    when it has that epoch (NaN for a seed that diverged before it). A seed diverged when its report says so, it
    stopped before the last epoch, or its last val_loss is not a number; the others stalled when their last
    val_loss is above STALL."""
    reps = cache.reports(cfg, seeds)
    c = scaled(cfg, cache.scale)
    epochs = c.train.epochs

    def at_epoch(r: dict, k: str, e: int) -> float:
        h = r["history"][k]
        return float(h[e - 1]) if e <= len(h) else float("nan")

    def gone(r: dict) -> bool:
        last = at_epoch(r, "val_loss", epochs)
        return diverged(r) or len(r["history"]["val_loss"]) < epochs or (
            c.train.validation_split > 0 and not math.isfinite(last))

    div = {s: min(len(r["history"]["val_loss"]) + 1, epochs) for s, r in zip(seeds, reps) if gone(r)}
    stalled = [s for s, r in zip(seeds, reps) if s not in div and not at_epoch(r, "val_loss", epochs) <= STALL]
    at = sorted({1, min(10, epochs), epochs} | ({also} if also is not None and 1 <= also <= epochs else set()))
    return {"params": reps[0]["params"], "epochs": epochs,
            "loss": {e: dist(at_epoch(r, "loss", e) for r in reps) for e in at},
            "val_loss": {e: dist(at_epoch(r, "val_loss", e) for r in reps) for e in at},
            "stalled": len(stalled), "n": len(reps), "stalled_seeds": stalled,
            "diverged_seeds": list(div), "diverged_at": list(div.values()), "constant_loss": constant_loss(cfg)}


def by_count(k: int, n: int) -> str:
    return VERDICTS[0] if k == n else (VERDICTS[1] if k > 0 else VERDICTS[2])


def stl_text(stl) -> str:
    got = [s for s in stl if s is not None]
    if not got:
        return "none reached 0.99"
    return f"steps to learn {dist_text(dist(got), ',.0f')}" + (f", {len(stl) - len(got)} never" if None in stl
                                                                else "")
