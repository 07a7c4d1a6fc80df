"""Gradient fidelity per lag and rule: how close each online rule's gradient g is to exact RTRL's g*.

    python bench/fidelity.py [--lags 1:6] [--seeds 3] [--steps 10000] [--jobs 1] [--json FILE] [--preset NAME]

For every lag and rule (tbptt k=1, tbptt k=lag+1, rtrl, uoro, snap1) it trains the preset (question-fixed: 16
units, linear readout, P(x=1) 1/4, Adam lr 1e-3, Keras initialisation) with train.fidelity on, seeds
0..S-1, --steps steps each, and records every step's cos(g, g*) and |g|/|g*| (core/rules/fidelity.py: a shadow exact
RTRL on the run's own trajectory). The table gives, per rule and lag, the median over all steps of all seeds
of cos(g, g*) for the whole gradient and for the recurrent weights W_hh alone (the readout's gradient is
exact under every rule, so the whole vector's cosine is never far below the readout's share), and the
median |g|/|g*|. Each seed's own median goes to the JSON (--json), with the wall time and load average.
It measures the gradient, not speed; --jobs N runs N trainings in parallel processes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.config import PRESETS, preset  # noqa: E402
from core.rules.fidelity import FIELDS  # noqa: E402

RULES = ("tbptt1", "tbptt+1", "rtrl", "uoro", "snap1")
LABELS = {"tbptt1": "tbptt k=1", "tbptt+1": "tbptt k=lag+1", "rtrl": "rtrl", "uoro": "uoro", "snap1": "snap1"}
KEEP = ("cos_all", "cos_recurrent", "ratio_all")


def run_one(job: tuple) -> dict:
    """Train one (preset, lag, rule, seed, steps) with fidelity on; every step's KEEP fields, as float32 lists."""
    import torch

    torch.set_num_threads(1)
    from core.sweep.rule_axis import rule_changes
    from core.train.online import OnlineTrainer

    name, lag, rule, seed, steps = job
    cfg = preset(name).replace(lag=lag, seed=seed, steps=steps, fidelity=True, **rule_changes(rule, lag))
    tr = OnlineTrainer(cfg)
    cols = [FIELDS.index(k) for k in KEEP]
    parts = []
    for start in range(0, steps, 4096):
        for _ in range(min(4096, steps - start)):
            tr.step()
        parts.append(tr.engine.fidelity.drain()[:, cols].astype(np.float32))
    rows = np.concatenate(parts)
    return {"lag": lag, "rule": rule, "seed": seed, "rows": rows}


def _median(a) -> float:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if len(a) else float("nan")


def _lags(text: str) -> list[int]:
    a, _, b = text.partition(":")
    return list(range(int(a), int(b or a) + 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lags", default="1:6", help="A:B inclusive (1:6)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--preset", default="question-fixed", choices=list(PRESETS))
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    lags = _lags(args.lags)
    jobs = [(args.preset, lag, rule, s, args.steps) for lag in lags for rule in RULES for s in range(args.seeds)]
    t0, load0 = time.perf_counter(), os.getloadavg()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            results = list(ex.map(run_one, jobs))
    else:
        results = [run_one(j) for j in jobs]
    wall, load1 = time.perf_counter() - t0, os.getloadavg()
    table: dict = {}
    for rule in RULES:
        for lag in lags:
            got = [r for r in results if r["rule"] == rule and r["lag"] == lag]
            rows = np.concatenate([r["rows"] for r in got])
            table.setdefault(rule, {})[lag] = {
                **{k: _median(rows[:, j]) for j, k in enumerate(KEEP)},
                "per_seed_cos_all": [_median(r["rows"][:, 0]) for r in got],
                "per_seed_cos_recurrent": [_median(r["rows"][:, 1]) for r in got]}
    print(f"median cos(g, g*) over {args.seeds} seeds x {args.steps:,} steps ({args.preset}); "
          f"whole gradient / recurrent weights W_hh; median |g|/|g*| in brackets")
    print("| rule | " + " | ".join(f"lag {lag}" for lag in lags) + " |")
    print("|---|" + "---|" * len(lags))
    for rule in RULES:
        cells = [f"{c['cos_all']:.3f} / {c['cos_recurrent']:.3f} ({c['ratio_all']:.2f})"
                 for c in (table[rule][lag] for lag in lags)]
        print(f"| {LABELS[rule]} | " + " | ".join(cells) + " |")
    print(f"wall {wall:.1f} s with --jobs {args.jobs}; load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    if args.json:
        out = {"preset": args.preset, "seeds": args.seeds, "steps": args.steps, "lags": lags, "fields": KEEP,
               "table": {LABELS[r]: {str(k): v for k, v in t.items()} for r, t in table.items()},
               "wall_s": wall, "jobs": args.jobs, "load_before": load0, "load_after": load1}
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
