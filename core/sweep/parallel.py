"""A sweep's learners on worker processes or a Dask cluster: the plan's batches cut into chunks, each chunk a
seed-batched engine in a worker (core.workers.tasks), its results merged into the one SweepCollector.

    for event in sweep_events(plan, collector, Where(workers=4), device="cpu"):   # the events of run_sweep
        ...

`sweep_events` runs in this process for Where(workers=1) (core.sweep.grid.run_sweep, as before) and otherwise
cuts the plan (`plan_chunks`): the batches whole or halved until the workers are kept busy to the end (the cut
with the shortest estimated makespan: a smaller chunk costs more per learner); the costliest chunks go first.
A learner's numbers do not depend on its chunk: learner (cell, seed) is built from its own Config and seed and the
seed-batched engines compute each learner on its own row, so any --workers and the cluster give the same cells.
A chunk lost to a dead worker (after its retry) is recorded in `collector.missing`: its cells stay not done.
Progress merges the chunks in flight: learner-steps done, the rate, the ETA and the live reached counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.sweep.grid import SweepCollector, SweepPlan, peak_rss_mb, run_sweep
from core.workers.pool import Where
from core.workers.tasks import Finished, Missing, Progress, Task, progress, run_tasks

MIN_CHUNK = 16
OVERHEAD = 64  # learners' worth of per-step work a seed-batched engine spends whatever its size (bench: S 24-96)


@dataclass(frozen=True)
class Chunk:
    index: int
    batch: int
    members: tuple[tuple[int, int], ...]  # (cell index, seed)
    steps: int  # learner-steps of each member (training + held-out)


def _cut(plan: SweepPlan, size: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for bi, b in enumerate(plan.batches):
        n = len(b.members)
        pieces = max(1, math.ceil(n / size))
        cfg = plan.cells[b.members[0][0]].cfg
        steps = cfg.train.steps + cfg.train.eval_steps
        for k in range(pieces):
            part = b.members[k * n // pieces:(k + 1) * n // pieces]
            if part:
                chunks.append(Chunk(len(chunks), bi, tuple(part), steps))
    return chunks


def makespan(costs: list[float], workers: int) -> float:
    """The time the slowest of `workers` takes when each takes the next costliest chunk as it frees (LPT)."""
    load = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        load[load.index(min(load))] += c
    return max(load)


def plan_chunks(plan: SweepPlan, workers: int) -> list[Chunk]:
    """The plan's batches cut for `workers` workers: of the cuts into pieces of at most n, n/2, n/4 ... learners
    (n: the largest batch; never below MIN_CHUNK unless a batch is smaller), the one with the shortest estimated
    makespan (`chunk_cost`: a smaller chunk pays the engine's per-step overhead over fewer learners). workers = 1:
    one chunk per batch."""
    largest = max(len(b.members) for b in plan.batches)
    best = _cut(plan, largest)
    if workers <= 1:
        return best
    best_time = makespan([chunk_cost(plan, c) for c in best], workers)
    size = largest
    while size > MIN_CHUNK:
        size = max(MIN_CHUNK, math.ceil(size / 2))
        chunks = _cut(plan, size)
        t = makespan([chunk_cost(plan, c) for c in chunks], workers)
        if t < best_time * 0.98:  # a finer cut must pay for itself clearly
            best, best_time = chunks, t
    return best


def chunk_cost(plan: SweepPlan, chunk: Chunk) -> float:
    """A rough CPU cost: steps x (the engine's per-step overhead, about OVERHEAD learners' worth, measured for the
    NumPy TBPTT engine at 16 units + the learners' own work; RTRL's per learner grows with units squared)."""
    cfg = plan.cells[chunk.members[0][0]].cfg
    per = cfg.model.units ** 2 / 4 if cfg.train.rule == "rtrl" else 1
    return chunk.steps * (OVERHEAD + len(chunk.members) * per)


def sweep_chunk(cfgs: list, members: tuple, reach_window: int, threshold: float, device: str,
                chunk: int = 500) -> dict:
    """In a worker: train one chunk's learners as one seed-batched engine; {"results": [(cell index, LearnerResult
    dict)], "peak_rss_mb": the worker's peak so far}. Reports progress (learner-steps done, {cell: [reached,
    learners]}) as it goes."""
    from core.seed_batched.devices import engine_factory
    from core.seed_batched.learners import BatchedLearners

    factory = engine_factory(device)
    kw = {} if factory is None else {"engine_factory": factory}
    bl = BatchedLearners(cfgs, reach_window=reach_window, threshold=threshold, **kw)
    for d in bl.run(chunk=chunk):
        live: dict[int, list[int]] = {}
        for (c, _), r in zip(members, bl.reached):
            e = live.setdefault(c, [0, 0])
            e[0] += int(r)
            e[1] += 1
        progress(d * bl.S, live)
    return {"results": [(c, r.to_dict()) for (c, _), r in zip(members, bl.results())], "peak_rss_mb": peak_rss_mb()}


def sweep_events(plan: SweepPlan, col: SweepCollector, where: Where, device: str = "cpu", *,
                 stop: Callable[[], bool] | None = None, chunk: int = 500) -> Iterator[dict]:
    """The events of core.sweep.grid.run_sweep, from this process (workers 1) or from workers / the cluster."""
    col.where = where.to_dict()
    if where.in_process:
        from core.seed_batched.devices import engine_factory

        yield from run_sweep(plan, col, stop=stop, chunk=chunk, engine_factory=engine_factory(device))
        return
    chunks = plan_chunks(plan, where.workers)
    tasks = [Task(ch.index, sweep_chunk, ([plan.cells[c].cfg.replace(seed=s) for c, s in ch.members], ch.members,
                                           plan.reach_window, plan.threshold, device, chunk), chunk_cost(plan, ch))
             for ch in chunks]
    total = plan.learner_steps
    finished_steps = 0
    running: dict[int, tuple[float, dict]] = {}  # chunk index -> (learner-steps done, live counts)
    n_done = 0
    for ev in run_tasks(tasks, where, stop=stop):
        ch = chunks[ev.key]
        if isinstance(ev, Progress):
            running[ch.index] = (ev.done, ev.info or {})
        elif isinstance(ev, Missing):
            running.pop(ch.index, None)
            col.missing.extend({"cell": c, "seed": s, "why": ev.why} for c, s in ch.members)
        elif isinstance(ev, Finished):
            running.pop(ch.index, None)
            finished_steps += len(ch.members) * ch.steps
            n_done += 1
            complete = [c for c, r in ev.result["results"] if col.add(c, r)]
            rss = ev.result["peak_rss_mb"]
            if rss is not None:
                col.where["worker_peak_rss_mb"] = max(rss, col.where.get("worker_peak_rss_mb") or 0.0)
        col.learner_steps = finished_steps + int(sum(d for d, _ in running.values()))
        elapsed = time.perf_counter() - col.t0
        rate = col.learner_steps / elapsed if elapsed > 0 else 0
        live: dict[int, list[int]] = {}
        for _, counts in running.values():
            for c, (r, n) in counts.items():
                e = live.setdefault(int(c), [0, 0])
                e[0] += r
                e[1] += n
        yield {"type": "progress", "done": col.learner_steps, "total": total, "elapsed": elapsed,
               "eta": (total - col.learner_steps) / rate if rate > 0 else None, "batch": n_done,
               "n_batches": len(chunks), "live": live}
        if isinstance(ev, Finished):
            for c in complete:
                yield {"type": "cell", "cell": col.cell_dict(c)}
