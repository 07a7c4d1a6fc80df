"""Several seeds of one config, headless: did each seed learn, and how many of them did?

This module owns the multi-seed run behind `main.py train --seeds S` and the GUI's seed sweep. Each seed is
a full `core.runs.headless.train` of the config with train.seed replaced; `iter_seeds` yields one `SeedResult` per
seed as it finishes (so a GUI can show progress and stop early), `summarize` makes the summary; the seeds
child (core/children/seeds.py) runs it for the window. `seeds_on(cfg, seeds, where)` runs the seeds on local worker
processes or a Dask cluster (core.workers), one task per seed; each seed's run is the same wherever it ran.

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

import time
from collections.abc import Callable, Iterable, Iterator

from core.analysis.verdict import SOLVED, verdict_of_report
from core.config import Config
from core.messages import MultiSeedSummary, SeedResult
from core.runs.headless import train
from core.workers.pool import Where
from core.workers.tasks import Finished, Missing, Task, run_tasks


def seed_outcome(cfg: Config, report: dict, threshold: float = SOLVED) -> tuple[bool, str, float]:
    """(learned, metric name, value) for one runner report: core.analysis.verdict's verdict, by the rule above."""
    v = verdict_of_report(cfg, report, threshold)
    return v.learned, v.metric, v.figure


def seed_list(cfg: Config, n: int) -> list[int]:
    """The seeds of an n-seed run: cfg.train.seed, seed + 1, ..., seed + n - 1."""
    return [cfg.train.seed + i for i in range(max(0, int(n)))]


def iter_seeds(cfg: Config, seeds: int | Iterable[int], *, threshold: float = SOLVED,
               log_every: int | None = None, out: Callable[[str], object] | None = None) -> Iterator[SeedResult]:
    """Train the config once per seed and yield each SeedResult as it finishes.

    seeds: a count n (seeds cfg.train.seed .. cfg.train.seed + n - 1) or explicit seeds. out receives the
    runner's progress lines (None: silent); log_every defaults to one line at the end of each seed.
    Stop early by closing or abandoning the generator.
    """
    todo = seed_list(cfg, seeds) if isinstance(seeds, int) else [int(s) for s in seeds]
    sink = out if out is not None else (lambda *_: None)
    for s in todo:
        yield one_seed(cfg, s, threshold, log_every, sink)


def one_seed(cfg: Config, seed: int, threshold: float = SOLVED, log_every: int | None = None,
             out: Callable[[str], object] | None = None) -> SeedResult:
    """One seed of the config trained and judged (in this process or in a worker)."""
    c = cfg.replace(seed=seed)
    every = log_every or max(1, c.train.steps)
    t0 = time.perf_counter()
    report = train(c, log_every=every, out=out or (lambda *_: None))
    learned, metric, value = seed_outcome(c, report, threshold)
    diverged = report["final"]["verdict"]["code"] == "diverged" or "diverged" in report["final"]
    return SeedResult(seed, learned, metric, value, dict(report["final"]), time.perf_counter() - t0,
                      report.get("steps_per_second"), int(report["params"]), diverged)


def seeds_on(cfg: Config, seeds: int | Iterable[int], where: Where, *, threshold: float = SOLVED
             ) -> Iterator[SeedResult | Missing]:
    """The seeds run on `where` (workers or a cluster), one task each; yields each SeedResult as it finishes, or
    Missing(seed, why) for a seed a dead worker took twice. Raises core.workers.pool.SchedulerError."""
    todo = seed_list(cfg, seeds) if isinstance(seeds, int) else [int(s) for s in seeds]
    for ev in run_tasks([Task(s, one_seed, (cfg, s, threshold)) for s in todo], where):
        if isinstance(ev, Finished):
            yield ev.result
        elif isinstance(ev, Missing):
            yield ev


def summarize(results: Iterable[SeedResult], threshold: float = SOLVED) -> MultiSeedSummary:
    return MultiSeedSummary(tuple(results), threshold)
