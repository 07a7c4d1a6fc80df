"""Sweeps: one or two config fields as axes, S seeds per cell, every learner trained online and judged.

    axis = parse_axis("lag=1:6", base)            # also "lr=log:1e-4:1e-1:7", "rule=tbptt,rtrl", "p=lin:0.1:0.5:5"
    plan = plan_sweep(base, [axis_x, axis_y], seeds=16)
    for event in run_sweep(plan, stop=lambda: False):   # a generator: progress and finished cells
        ...
    report = collector.report(partial=...)          # SweepCollector gathers the events into the JSON report

The learners of all cells are grouped into batches of one BatchShape (core.seed_batched.engine): cells that differ
in the task, lr or seed share a batch; units, window, rule, readout, loss, optimizer, steps or eval_steps make
separate batches. Learner s of a cell is exactly the single run `main.py train` with seed base.seed + s.
The rule axis also takes TBPTT with its window: `tbpttK` is tbptt with window K, `tbptt+D` tbptt with window
lag + D (the cell's lag), so `rule=tbptt1,tbptt+1,rtrl,uoro,snap1` maps truncation at one step, truncation just
long enough for the lag, and the three untruncated rules in one sweep (core/sweep/rule_axis.py). The cell axis
(`cell=rnn,gru,lstm`) takes the recurrent cells by name; each cell's learners make their own batches (BatchShape.cell).
Events are plain dicts (picklable, JSON-able); a GUI runs the sweep in a child process (core/children/sweep.py)
and receives them as typed messages (core.messages.SweepEvent / SweepDone / Error); StopSweep ends the sweep after
the current chunk, keeping finished cells.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.analysis.verdict import SOLVED
from core.config import Config, ConfigError, all_fields, parse_float, parse_int
from core.learning_rules import CELLS
from core.product.about import version
from core.seed_batched.shape import BATCHED_RULES, batch_shape
from core.sweep.rule_axis import RULE_FORMS, derived_rule, rule_changes, rule_label

SWEEP_FIELDS = ("kind", "p", "lag", "units", "readout", "cell", "rule", "window", "rtrl_decay", "optimizer", "lr",
                "loss", "steps", "eval_steps")
MAX_CELLS = 400
MAX_SEEDS = 10_000          # seeds per cell
MAX_LEARNERS = 1_000_000    # cells x seeds: the plan lists each, and the time follows the count
MAX_BATCH = 65_536          # learners per batched engine
MAX_REACH_WINDOW = 100_000  # the (learners, W) ring of correct bits
MAX_BATCH_MEMORY = 4 << 30  # bytes one batched engine may take (estimate_batch_bytes), checked before it is built


class AxisError(ValueError):
    """A bad axis spec; the message is one line naming the spec."""


@dataclass(frozen=True)
class Axis:
    field: str
    values: tuple
    spec: str

    @property
    def labels(self) -> list[str]:
        if self.field == "rule":
            return [rule_label(v) for v in self.values]
        return [format_value(v) for v in self.values]

    def to_dict(self) -> dict:
        return {"field": self.field, "values": list(self.values), "labels": self.labels, "spec": self.spec}


def format_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _field_type(name: str):
    for _, f in all_fields():
        if f.name == name:
            return type(f.default), f.metadata
    return None, None


def _number(text: str, typ, spec: str):
    """A value of an axis, parsed strictly (core.config.parse_int / parse_float: ASCII, finite, float32)."""
    try:
        return parse_float(text) if typ is float else parse_int(text)
    except ValueError as e:
        raise AxisError(f"{spec}: {e}") from None


def parse_axis(spec: str, base: Config | None = None) -> Axis:
    """Parse 'field=values': a:b (integers, inclusive), a,b,c (a list), log:a:b:n or lin:a:b:n (n numbers),
    or one value. Every value is checked against the field's range (on `base`, default Config())."""
    base = base or Config()
    name, eq, text = spec.partition("=")
    name, text = name.strip().replace("-", "_"), text.strip()
    if not eq or not name or not text:
        raise AxisError(f"{spec}: expected FIELD=VALUES, e.g. lag=1:6, lr=log:1e-4:1e-1:7 or rule=tbptt,rtrl")
    typ, meta = _field_type(name)
    if typ is None:
        raise AxisError(f"{spec}: no config field {name!r}; axes: {', '.join(SWEEP_FIELDS)}")
    if name not in SWEEP_FIELDS:
        why = "use --seeds" if name == "seed" else "sweeps train online on the CPU"
        raise AxisError(f"{spec}: {name} cannot be an axis ({why}); axes: {', '.join(SWEEP_FIELDS)}")
    parts = text.split(":")
    values: list[Any]  # the field's type: float, int or str
    if parts[0] in ("log", "lin"):
        if typ is not float or len(parts) != 4:
            raise AxisError(f"{spec}: {parts[0]}:A:B:N needs a number field (e.g. lr) and three numbers")
        a, b = _number(parts[1], float, spec), _number(parts[2], float, spec)
        n = _number(parts[3], int, spec)
        if not 1 <= n <= MAX_CELLS:
            raise AxisError(f"{spec}: the count N must be between 1 and {MAX_CELLS}")
        if a > b:
            raise AxisError(f"{spec}: the range start {parts[1]} is after its end {parts[2]}")
        if parts[0] == "log":
            if a <= 0:
                raise AxisError(f"{spec}: a log range needs positive ends")
            values = [float(v) for v in np.geomspace(a, b, n)] if n > 1 else [a]
        else:
            values = [float(v) for v in np.linspace(a, b, n)] if n > 1 else [a]
        if not all(math.isfinite(v) for v in values):
            raise AxisError(f"{spec}: the range gives a value that is not finite")
    elif len(parts) == 2:
        if typ is not int:
            raise AxisError(f"{spec}: A:B is an integer range; for {name} use a list or lin:A:B:N / log:A:B:N")
        a, b = _number(parts[0], int, spec), _number(parts[1], int, spec)
        if a > b:
            raise AxisError(f"{spec}: the range start {a} is after its end {b}")
        if b - a + 1 > MAX_CELLS:  # counted before the list is built
            raise AxisError(f"{spec}: {b - a + 1:,} values; at most {MAX_CELLS}")
        values = list(range(a, b + 1))
    elif len(parts) == 1:
        if text.count(",") >= MAX_CELLS:
            raise AxisError(f"{spec}: {text.count(',') + 1:,} values; at most {MAX_CELLS}")
        items = [s.strip() for s in text.split(",")]
        if typ is str:
            values = items
        else:
            values = [_number(s, typ, spec) for s in items]
        if len(set(values)) != len(values):
            raise AxisError(f"{spec}: a value repeats")
    else:
        raise AxisError(f"{spec}: cannot read {text!r}; use A:B, A,B,C, log:A:B:N or lin:A:B:N")
    if len(values) > MAX_CELLS:
        raise AxisError(f"{spec}: {len(values)} values; at most {MAX_CELLS}")
    if name == "rule":
        for v in values:
            d = derived_rule(v)
            if d is None and v not in BATCHED_RULES:
                raise AxisError(f"{spec}: value {v} is out of range (a rule value is {RULE_FORMS})")
            try:  # tbptt+D: the window depends on the cell's lag, checked again when the cells are planned
                base.replace(**(rule_changes(v, base.task.lag) if not d or d[0] == "K" else
                                {"rule": "tbptt", "window": max(1, d[1])}))
            except ConfigError as e:
                raise AxisError(f"{spec}: value {v} is out of range ({e.message})") from None
        return Axis(name, tuple(values), spec)
    for v in values:
        if name == "cell" and v not in CELLS:
            raise AxisError(f"{spec}: value {v} is not a cell (a cell value is {', '.join(CELLS)})")
        try:
            base.replace(**{name: v})
        except ConfigError as e:
            raise AxisError(f"{spec}: value {format_value(v)} is out of range ({e.message})") from None
    return Axis(name, tuple(values), spec)


@dataclass
class Cell:
    """changes: the axis values of this cell ({'lag': 3, 'rule': 'tbptt+1'}); applied: the config fields they set
    ({'lag': 3, 'rule': 'tbptt', 'window': 4})."""

    index: int
    ix: int
    iy: int
    changes: dict
    cfg: Config
    applied: dict = field(default_factory=dict)


@dataclass
class BatchPlan:
    """Learners (cell index, seed) that share one batched engine."""

    members: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class SweepPlan:
    base: Config
    axes: list[Axis]
    seeds: int
    cells: list[Cell]
    batches: list[BatchPlan]
    reach_window: int
    threshold: float

    @property
    def learner_steps(self) -> int:
        """Total learner-steps (training + held-out) of the whole sweep."""
        return sum(self.cells[c].cfg.train.steps + self.cells[c].cfg.train.eval_steps
                   for b in self.batches for c, _ in b.members)


def plan_sweep(base: Config, axes: list[Axis], seeds: int, *, max_batch: int = 256, reach_window: int = 1000,
               threshold: float = SOLVED) -> SweepPlan:
    """Cells (x outer, y inner) of base with each axis value, S seeds each, grouped into batches of one shape."""
    if not 1 <= len(axes) <= 2:
        raise AxisError("a sweep needs one or two axes")
    if len(axes) == 2 and axes[0].field == axes[1].field:
        raise AxisError(f"--x and --y both sweep {axes[0].field}")
    fields = {a.field for a in axes}
    if {"rule", "window"} <= fields and any(derived_rule(v) for a in axes if a.field == "rule" for v in a.values):
        raise AxisError("the rule axis sets the window (tbpttK, tbptt+D); it cannot be combined with a window axis")
    if not 1 <= seeds <= MAX_SEEDS or base.train.seed + seeds - 1 > 2**31 - 1:
        raise AxisError(f"--seeds: must be between 1 and {MAX_SEEDS:,}, with seed + S - 1 <= 2147483647")
    if not 1 <= reach_window <= MAX_REACH_WINDOW:
        raise AxisError(f"--reach-window: must be between 1 and {MAX_REACH_WINDOW:,}")
    if not 1 <= max_batch <= MAX_BATCH:
        raise AxisError(f"--max-batch: must be between 1 and {MAX_BATCH:,}")
    n_cells = math.prod(len(a.values) for a in axes)
    if n_cells * seeds > MAX_LEARNERS:  # before any list of them is built
        raise AxisError(f"{n_cells:,} cells x {seeds:,} seeds = {n_cells * seeds:,} learners; at most "
                        f"{MAX_LEARNERS:,}")
    if base.train.mode != "online":
        base = base.replace(mode="online")
    ys = axes[1].values if len(axes) == 2 else (None,)
    cells: list[Cell] = []
    for (ix, xv), (iy, yv) in itertools.product(enumerate(axes[0].values), enumerate(ys)):
        changes = {axes[0].field: xv}
        if len(axes) == 2:
            changes[axes[1].field] = yv
        applied = dict(changes)
        if "rule" in changes:
            applied.update(rule_changes(changes["rule"], changes.get("lag", base.task.lag)))
        try:
            cfg = base.replace(**applied)
        except ConfigError as e:
            raise AxisError(f"cell {changes}: {e}") from None
        cells.append(Cell(len(cells), ix, iy, changes, cfg, applied))
    if len(cells) > MAX_CELLS:
        raise AxisError(f"{len(cells)} cells; at most {MAX_CELLS}")
    groups: dict = {}
    for c in cells:
        try:  # a cell and rule no seed-batched engine runs: one line, never a GRU in its place
            key = (batch_shape(c.cfg), c.cfg.train.steps, c.cfg.train.eval_steps)
        except ValueError as e:
            raise AxisError(f"cell {c.changes}: {e}") from None
        groups.setdefault(key, []).extend((c.index, base.train.seed + s) for s in range(seeds))
    cap = max(1, int(max_batch))
    batches = []
    for (shape, _, _), members in groups.items():
        per = cap
        if shape.rule == "rtrl":  # two float32 sensitivities of state x n_rec per learner: keep them <= 512 MB
            lay = shape.layout
            per = max(1, min(cap, (512 << 20) // (8 * lay.state_size * lay.n_rec)))
        need = estimate_batch_bytes(shape, min(per, len(members)), reach_window)
        if need > MAX_BATCH_MEMORY:
            raise AxisError(f"a batch of {min(per, len(members)):,} learners ({shape.rule}, {shape.units} units) "
                            f"would need about {need / 2**30:.1f} GiB; at most {MAX_BATCH_MEMORY / 2**30:.0f} GiB "
                            "per batch: lower --max-batch or --reach-window")
        batches += [BatchPlan(members[i:i + per]) for i in range(0, len(members), per)]
    return SweepPlan(base, list(axes), seeds, cells, batches, reach_window, threshold)


def estimate_batch_bytes(shape, learners: int, reach_window: int) -> int:
    """An upper estimate of what one batched engine of `learners` takes: four float32 copies of the weights
    (weights, gradient, Adam's m and v), TBPTT's window of cell values (about 16 floats per unit and step),
    RTRL's two sensitivities (the cell's state x its parameters), the reach ring (one byte per learner and step of
    the window) and the stream blocks."""
    u, lay = shape.units, shape.layout
    n_params = lay.n_rec + u + 1
    per = 16 * n_params + 64 * shape.window * u + reach_window + 4_000
    if shape.rule == "rtrl":
        per += 8 * lay.state_size * lay.n_rec
    return int(learners) * per


def _median(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


class SweepCollector:
    """Gathers learner results per cell; `cell_dict(i)` and `report()` are what the map, CSV and JSON show."""

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        self.results: dict[int, dict[int, dict]] = {c.index: {} for c in plan.cells}
        self.t0 = time.perf_counter()
        self.learner_steps = 0
        self.engine = {"device": "cpu", "engine": "numpy"}  # devices.engine_info: what ran
        self.where = {"workers": 1, "scheduler": None, "executor": "in-process"}  # core.workers.pool.Where
        self.missing: list[dict] = []  # {"cell", "seed", "why"}: learners a dead worker took (never a figure)

    def add(self, cell: int, result: dict) -> bool:
        """Record one learner's result (LearnerResult.to_dict()); True when its cell is now complete."""
        self.results[cell][result["seed"]] = result
        return len(self.results[cell]) == self.plan.seeds

    def cell_dict(self, i: int) -> dict:
        plan, c = self.plan, self.plan.cells[i]
        got = [self.results[i][s] for s in sorted(self.results[i])]
        n = len(got)
        learned = sum(r["learned"] for r in got)
        diverged = [r["seed"] for r in got if r.get("diverged")]
        values = [None if r.get("diverged") else r["value"] for r in got]  # a diverged learner has no figure
        finite = [v for v in values if v is not None and math.isfinite(v)]
        # the median first-reach step over all S learners, counting "never" as later than any step
        reach = sorted(r["reach_step"] if r["reach_step"] is not None else math.inf for r in got)
        med = None
        if n and reach[(n - 1) // 2] != math.inf and reach[n // 2] != math.inf:
            med = float(np.median(reach))
        failing = [r["seed"] for r in got if not r["learned"]]
        return {"index": i, "ix": c.ix, "iy": c.iy, "changes": c.changes, "applied": c.applied,
                "done": n == plan.seeds,
                "n_seeds": n, "learned": learned, "fraction": learned / n if n else None,
                "metric": got[0]["metric"] if got else None,
                "diverged": len(diverged), "diverged_seeds": diverged,
                "heldout": {"median": _median(finite), "min": min(finite) if finite else None, "values": values},
                "reach": {"median_step": med, "reached": sum(r["reach_step"] is not None for r in got),
                          "window": plan.reach_window, "threshold": plan.threshold},
                "seeds": [r["seed"] for r in got], "first_failing_seed": failing[0] if failing else None}

    def report(self, partial: bool) -> dict:
        plan = self.plan
        elapsed = time.perf_counter() - self.t0
        cells = [self.cell_dict(c.index) for c in plan.cells]
        return {"kind": "sweep", "partial": bool(partial or not all(c["done"] for c in cells)),
                "config": plan.base.to_dict(), "axes": [a.to_dict() for a in plan.axes], "seeds": plan.seeds,
                "first_seed": plan.base.train.seed, "threshold": plan.threshold, "reach_window": plan.reach_window,
                "cells_done": sum(c["done"] for c in cells), "cells_total": len(cells), "cells": cells,
                "diverged": sum(c["diverged"] for c in cells),
                "elapsed_s": elapsed, "learner_steps": self.learner_steps,
                "learner_steps_per_second": self.learner_steps / elapsed if elapsed > 0 else None,
                "peak_rss_mb": peak_rss_mb(), "engine": self.engine, "where": self.where,
                "missing": self.missing, "app_version": version()}


def peak_rss_mb() -> float | None:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    except (ImportError, OSError):
        return None


def run_sweep(plan: SweepPlan, collector: SweepCollector | None = None, *, stop: Callable[[], bool] | None = None,
              chunk: int = 500, engine_factory=None) -> Iterator[dict]:
    """Train every batch of the plan, yielding events (plain dicts):

    {"type": "progress", "done", "total" (learner-steps), "elapsed", "eta" (s or None), "batch", "n_batches",
     "live": {cell index: [learners whose rolling accuracy reached the threshold so far, learners in batch]}}
    {"type": "cell", "cell": SweepCollector.cell_dict(i)}   when a cell's S learners are all judged
    Returns early (no error) when stop() turns true; cells finished so far stay in the collector."""
    from core.seed_batched.learners import BatchedLearners

    col = collector or SweepCollector(plan)
    stop = stop or (lambda: False)
    total = plan.learner_steps
    done_before = 0
    kw = {} if engine_factory is None else {"engine_factory": engine_factory}
    for bi, b in enumerate(plan.batches):
        if stop():
            return
        cfgs = [plan.cells[c].cfg.replace(seed=s) for c, s in b.members]
        bl = BatchedLearners(cfgs, reach_window=plan.reach_window, threshold=plan.threshold, **kw)
        for d in bl.run(chunk=chunk):
            col.learner_steps = done_before + d * bl.S
            elapsed = time.perf_counter() - col.t0
            rate = col.learner_steps / elapsed if elapsed > 0 else 0
            live: dict[int, list[int]] = {}
            for (c, _), r in zip(b.members, bl.reached):
                e = live.setdefault(c, [0, 0])
                e[0] += int(r)
                e[1] += 1
            yield {"type": "progress", "done": col.learner_steps, "total": total, "elapsed": elapsed,
                   "eta": (total - col.learner_steps) / rate if rate > 0 else None, "batch": bi,
                   "n_batches": len(plan.batches), "live": live}
            if stop():
                return
        done_before += (bl.steps + bl.eval_steps) * bl.S
        finished = []
        for (c, _), r in zip(b.members, bl.results()):
            if col.add(c, r.to_dict()):
                finished.append(c)
        for c in finished:
            yield {"type": "cell", "cell": col.cell_dict(c)}
