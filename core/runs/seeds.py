"""Several seeds of one config, headless: did each seed learn, and how many of them did?

This module owns the multi-seed run behind `main.py train --seeds S` and the GUI's seed sweep. Each seed is
a full `core.runs.headless.train` of the config with train.seed replaced; `iter_seeds` yields one `SeedResult` per
seed as it finishes (so a GUI can show progress and stop early), `run_seeds` collects them into a summary.

"Learned" (threshold 0.99 by default):
- online: the held-out accuracy (train.eval_steps steps after training, weights frozen, state carried)
  is >= 0.99; with eval_steps = 0 there is no held-out figure, and the last logged training accuracy is
  used instead (the metric name says which).
- batch: the final epoch's val_accuracy is >= 0.99; with validation_split = 0 (no validation data) the final
  training accuracy is used instead.
A NaN figure never counts as learned. A seed whose training diverged (core.runs.headless stops at the first
non-finite loss or weight) is `diverged`, not "did not learn"; the summary says "learned k/S, diverged d".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

from core.analysis.verdict import SOLVED, verdict_of_report
from core.config import Config
from core.messages import Error, SeedDone, SeedsDone
from core.runs.headless import train

LEARNED_THRESHOLD = SOLVED


@dataclass(frozen=True)
class SeedResult:
    """One seed's outcome. metric: which figure decided `learned` (heldout_accuracy, accuracy, val_accuracy);
    value: that figure; final: the runner report's 'final' dict; elapsed_s: wall time of this seed;
    params: the model's parameter count."""

    seed: int
    learned: bool
    metric: str
    value: float
    final: dict
    elapsed_s: float
    steps_per_second: float | None
    params: int
    diverged: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for a log: 'seed 3: learned - heldout_accuracy 1.0000 - 2.1s'."""
        if self.diverged:
            d = self.final.get("diverged") or {}
            return f"seed {self.seed}: {d.get('message', 'diverged')} - {self.elapsed_s:.1f}s"
        verdict = "learned" if self.learned else "did not learn"
        return f"seed {self.seed}: {verdict} - {self.metric} {self.value:.4f} - {self.elapsed_s:.1f}s"


@dataclass(frozen=True)
class MultiSeedSummary:
    results: tuple[SeedResult, ...]
    threshold: float

    @property
    def n_seeds(self) -> int:
        return len(self.results)

    @property
    def n_learned(self) -> int:
        return sum(r.learned for r in self.results)

    @property
    def n_diverged(self) -> int:
        return sum(r.diverged for r in self.results)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.results]

    def line(self) -> str:
        d = self.n_diverged
        return f"learned {self.n_learned}/{self.n_seeds}" + (f", diverged {d}" if d else "")

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "learned": self.n_learned, "n_seeds": self.n_seeds,
                "diverged": self.n_diverged,
                "results": [r.to_dict() for r in self.results]}


def judge(cfg: Config, report: dict, threshold: float = LEARNED_THRESHOLD) -> tuple[bool, str, float]:
    """(learned, metric name, value) for one runner report: core.analysis.verdict's verdict, by the rule above."""
    v = verdict_of_report(cfg, report, threshold)
    return v.learned, v.metric, v.figure


def seed_list(cfg: Config, n: int) -> list[int]:
    """The seeds of an n-seed run: cfg.train.seed, seed + 1, ..., seed + n - 1."""
    return [cfg.train.seed + i for i in range(max(0, int(n)))]


def iter_seeds(cfg: Config, seeds: int | Iterable[int], *, threshold: float = LEARNED_THRESHOLD,
               log_every: int | None = None, out: Callable[[str], object] | None = None) -> Iterator[SeedResult]:
    """Train the config once per seed and yield each SeedResult as it finishes.

    seeds: a count n (seeds cfg.train.seed .. cfg.train.seed + n - 1) or explicit seeds. out receives the
    runner's progress lines (None: silent); log_every defaults to one line at the end of each seed.
    Stop early by closing or abandoning the generator.
    """
    todo = seed_list(cfg, seeds) if isinstance(seeds, int) else [int(s) for s in seeds]
    sink = out if out is not None else (lambda *_: None)
    for s in todo:
        c = cfg.replace(seed=s)
        every = log_every or max(1, c.train.steps)
        t0 = time.perf_counter()
        report = train(c, log_every=every, out=sink)
        learned, metric, value = judge(c, report, threshold)
        diverged = report["final"]["verdict"]["code"] == "diverged"
        yield SeedResult(s, learned, metric, value, dict(report["final"]), time.perf_counter() - t0,
                         report.get("steps_per_second"), int(report["params"]), diverged)


def summarize(results: Iterable[SeedResult], threshold: float = LEARNED_THRESHOLD) -> MultiSeedSummary:
    return MultiSeedSummary(tuple(results), threshold)


def run_seeds(cfg: Config, seeds: int | Iterable[int], *, threshold: float = LEARNED_THRESHOLD,
              out: Callable[[str], object] | None = None) -> MultiSeedSummary:
    """All seeds at once; out (if given) gets one line per seed and the summary line."""
    results = []
    for r in iter_seeds(cfg, seeds, threshold=threshold):
        results.append(r)
        if out is not None:
            out(r.line())
    summary = summarize(results, threshold)
    if out is not None:
        out(summary.line())
    return summary


def seeds_child(conn, cfg_dict: dict, n: int) -> None:
    """Child-process entry for the GUI's multi-seed mode (core.messages.SEEDS_REPLIES): SeedDone per seed as
    it finishes, then SeedsDone, or one Error. One torch thread, so the live trainer keeps its core. The
    pipe is one-way: the GUI stops this child by ending the process (gui/children/link.py)."""
    import torch

    torch.set_num_threads(1)
    try:
        cfg = Config.from_dict(cfg_dict)
        results = []
        for r in iter_seeds(cfg, n):
            results.append(r)
            conn.send(SeedDone(r))
        conn.send(SeedsDone(summarize(results)))
    except (BrokenPipeError, EOFError):
        pass
    except Exception as e:  # reported to the window, never a traceback on the console
        try:
            conn.send(Error(f"{type(e).__name__}: {e}"))
        except (BrokenPipeError, OSError):
            pass
    finally:
        conn.close()
        os._exit(0)
