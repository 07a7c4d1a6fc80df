"""Seed-batched learners vs the single fast engine, side by side in one run, one thread:

    python bench/sweep.py [--steps 2000] [--rounds 3] [--map-steps 30000] [--map-seeds 16] [--skip-map]
                          [--device cuda] [--device-only]

1. Aggregate learner-steps/s: batched TBPTT(1), 16 units, S = 256 vs the single fast engine (goal >= 20x);
   batched RTRL, S = 64 vs the single RTRL engine (goal >= 5x). Both run on one thread (NumPy/BLAS and
   torch) and are timed in CPU seconds of this process (time.process_time), so time spent descheduled on a
   shared machine does not count; rounds interleave the contenders (memory contention slows all alike); the
   table gives medians, the ratio and the load average.
2. The README map (lag 1-6 x window 1-7 x --map-seeds seeds x --map-steps steps): the sweep's wall time vs
   the same runs one by one with the single fast engine (goal <= 1/10). The one-by-one time is measured on a
   sample of runs (--one-by-one-sample per window) and scaled to all of them, stated as such. The sweep's
   peak RSS is measured in a child process at --map-steps and at a tenth of it (it must not grow with steps).
3. With --device cuda: the torch engine (core/seed_batched/torch_engine.py) on the GPU, TBPTT(1) at
   S = 256/1024/4096 and RTRL at S = 64/256/1024,
   16 units, vs the single fast engine on the CPU. Wall-clock (GPU time is not this
   process's CPU time), after torch.cuda.synchronize(). Two figures per row: the sweep's way (BatchedLearners:
   streams, one step() and one device->host copy per step, counting) and the engine alone (step_many: n steps
   per upload and download). Without CUDA the rows are skipped, and the script says so. --device torch-cpu runs
   the same rows on torch's CPU device (small --device-sizes; only to check the script without a GPU).
4. The README map with `--workers 1` and `--workers 2` (--workers-list; --workers-only for just these rows): the
   whole `main.py sweep` process's wall time (Python, torch and the workers' start included), the speed-up over
   one worker (goal >= 1.7x on 2 cores), and the peak RSS of the parent and of a worker at --map-steps and a
   tenth of it (flat in steps). Wall-clock: measure on a quiet machine; the load average is printed beside it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.config import preset  # noqa: E402
from core.seed_batched.learners import BatchedLearners  # noqa: E402
from core.train.online import OnlineTrainer  # noqa: E402


def single_rate(cfg, steps: int) -> float:
    tr = OnlineTrainer(cfg)
    for _ in range(50):
        tr.step()
    t0 = time.process_time()
    for _ in range(steps):
        tr.step()
    return steps / (time.process_time() - t0)


def batched_rate(cfg, S: int, steps: int) -> float:
    bl = BatchedLearners([cfg.replace(seed=s) for s in range(S)])
    for _ in bl.train(steps=20):
        pass
    t0 = time.process_time()
    for _ in bl.train(steps=steps):
        pass
    return S * steps / (time.process_time() - t0)


def engines(args) -> None:
    base = preset("question-fixed")
    rows = [("TBPTT(1), 16 units", base, 256, 20.0), ("RTRL, 16 units", base.replace(rule="rtrl"), 64, 5.0)]
    b_steps = max(100, args.steps // 5)
    print(f"learner-steps per CPU second, median of {args.rounds} interleaved rounds (single: {args.steps} steps, "
          f"batched: {b_steps} steps of all S learners); one thread each (NumPy/BLAS and torch); load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| rule | single fast engine | batched | S | x single | goal |")
    print("|---|---|---|---|---|---|")
    for name, cfg, S, goal in rows:
        singles, batched = [], []
        for _ in range(args.rounds):
            singles.append(single_rate(cfg, args.steps))
            batched.append(batched_rate(cfg, S, b_steps))
        s, b = statistics.median(singles), statistics.median(batched)
        print(f"| {name} | {s:,.0f} | {b:,.0f} | {S} | {b / s:.1f} | >= {goal:g} |", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _wall_single(cfg, steps: int) -> float:
    tr = OnlineTrainer(cfg)
    for _ in range(50):
        tr.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.step()
    return steps / (time.perf_counter() - t0)


def _sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def _wall_batched(cfg, S: int, steps: int, dev: str) -> tuple[float, float]:
    """(learner-steps/s the sweep's way, learner-steps/s of the engine's step_many alone), wall-clock."""
    import functools

    import numpy as np

    from core.seed_batched.table import make_torch_engine

    bl = BatchedLearners([cfg.replace(seed=s) for s in range(S)],
                         engine_factory=functools.partial(make_torch_engine, device=dev))
    for _ in bl.train(steps=20):
        pass
    _sync(dev)
    t0 = time.perf_counter()
    for _ in bl.train(steps=steps):
        pass
    _sync(dev)
    sweep = S * steps / (time.perf_counter() - t0)
    xs, ys = bl.streams.block(steps)
    bl.engine.step_many(xs[:, :20], ys[:, :20], True)
    _sync(dev)
    t0 = time.perf_counter()
    bl.engine.step_many(xs, ys, True)
    _sync(dev)
    engine = S * steps / (time.perf_counter() - t0)
    assert np.isfinite(bl.engine.theta_numpy).all()
    return sweep, engine


def device_rows(args) -> None:
    dev = {"cuda": "cuda", "torch-cpu": "cpu"}[args.device]
    if dev == "cuda" and not torch.cuda.is_available():
        print("\n--device cuda: CUDA is not available on this machine; the GPU rows were skipped.")
        return
    base = preset("question-fixed")
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "torch's CPU device"
    sizes = args.device_sizes
    rows = [("TBPTT(1), 16 units", base, sizes[:3]), ("RTRL, 16 units", base.replace(rule="rtrl"), sizes[3:])]
    print(f"\ntorch engine on {name} vs the single fast engine (CPU, one thread); learner-steps per wall second, "
          f"{args.device_steps} steps per row")
    print("| rule | S | single fast engine | sweep way (step, copy per step) | x single | step_many alone | x single |")
    print("|---|---|---|---|---|---|---|")
    for label, cfg, Ss in rows:
        single = _wall_single(cfg, args.steps)
        for S in Ss:
            sweep, engine = _wall_batched(cfg, S, args.device_steps, dev)
            print(f"| {label} | {S} | {single:,.0f} | {sweep:,.0f} | {sweep / single:.1f} | {engine:,.0f} | "
                  f"{engine / single:.1f} |", flush=True)


def sweep_cmd(steps: int, seeds: int, out: Path, workers: int = 1) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "sweep", "--x", "lag=1:6", "--y", "window=1:7", "--seeds",
            str(seeds), "--steps", str(steps), "--quiet", "--report", str(out), "--workers", str(workers)]


def run_sweep(steps: int, seeds: int, tmp: Path, workers: int = 1) -> dict:
    """The whole `main.py sweep` process, wall-clock (start-up, workers' start and all), and its report's figures."""
    out = tmp / f"bench-sweep-{steps}-{workers}.json"
    t0 = time.perf_counter()
    subprocess.run(sweep_cmd(steps, seeds, out, workers), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    rep = json.loads(out.read_text())
    out.unlink()
    return {"wall_s": wall, "peak_rss_mb": rep["peak_rss_mb"], "elapsed_s": rep["elapsed_s"],
            "worker_peak_rss_mb": rep["where"].get("worker_peak_rss_mb")}


def workers_rows(args) -> None:
    """The README map with --workers 1 and --workers 2 (and more with --workers-list): the whole process's wall time,
    the speed-up over one worker, and the peak RSS of the parent and of each worker at --map-steps and a tenth
    of it (a worker's must not grow with steps). Wall-clock: on a loaded machine the figures are not final."""
    import tempfile

    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for w in args.workers_list:
            small = run_sweep(max(1, args.map_steps // 10), args.map_seeds, Path(td), w)
            full = run_sweep(args.map_steps, args.map_seeds, Path(td), w)
            rows.append((w, small, full))
    print(f"\nmap lag 1-6 x window 1-7 x {args.map_seeds} seeds x {args.map_steps:,} steps, by --workers "
          f"({os.cpu_count()} CPUs; load average {load0:.2f} -> {os.getloadavg()[0]:.2f}):")
    print("| --workers | wall s (whole process) | speed-up | parent peak RSS MB | worker peak RSS MB, "
          f"{args.map_steps // 10:,} -> {args.map_steps:,} steps |")
    print("|---|---|---|---|---|")
    base = rows[0][2]["wall_s"]
    for w, small, full in rows:
        wr = ("n/a (in-process)" if full["worker_peak_rss_mb"] is None else
              f"{small['worker_peak_rss_mb']:.0f} -> {full['worker_peak_rss_mb']:.0f}")
        print(f"| {w} | {full['wall_s']:.1f} | {base / full['wall_s']:.2f}x | {full['peak_rss_mb']:.0f} | {wr} |")


def one_by_one(steps: int, seeds: int, sample: int) -> tuple[float, int]:
    """Seconds the map's runs take one by one with the single fast engine, from `sample` runs per window."""
    base = preset("question-fixed").replace(steps=steps)
    total, n_meas = 0.0, 0
    for window in range(1, 8):
        times = []
        for i in range(sample):
            cfg = base.replace(window=window, lag=1 + i % 6, seed=i)
            tr = OnlineTrainer(cfg)
            t0 = time.perf_counter()
            for _ in range(steps):
                tr.step()
            tr.evaluate(cfg.train.eval_steps)
            times.append(time.perf_counter() - t0)
        n_meas += sample
        total += statistics.mean(times) * 6 * seeds  # 6 lags x seeds runs per window
    return total, n_meas


def map_timing(args) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        small = run_sweep(max(1, args.map_steps // 10), args.map_seeds, tmp)
        full = run_sweep(args.map_steps, args.map_seeds, tmp)
    serial, n = one_by_one(args.map_steps, args.map_seeds, args.one_by_one_sample)
    print(f"\nmap lag 1-6 x window 1-7 x {args.map_seeds} seeds x {args.map_steps:,} steps "
          f"(+ {preset('question-fixed').train.eval_steps} held-out):")
    print("| | wall s | peak RSS MB |")
    print("|---|---|---|")
    print(f"| sweep, {args.map_steps // 10:,} steps | {small['wall_s']:.1f} | {small['peak_rss_mb']:.0f} |")
    print(f"| sweep, {args.map_steps:,} steps | {full['wall_s']:.1f} | {full['peak_rss_mb']:.0f} |")
    print(f"| one by one, single fast engine (from {n} timed runs, scaled) | {serial:.1f} | |")
    print(f"sweep / one-by-one = {full['wall_s'] / serial:.3f} (goal <= 0.1)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="single-engine steps per round (batched: steps/5)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--map-steps", type=int, default=30000)
    p.add_argument("--map-seeds", type=int, default=16)
    p.add_argument("--one-by-one-sample", type=int, default=2, help="timed single runs per window (2)")
    p.add_argument("--skip-map", action="store_true")
    p.add_argument("--workers-list", type=lambda t: [int(v) for v in t.split(",")], default=[1, 2], metavar="1,2",
                   help="the --workers rows on the map (1,2)")
    p.add_argument("--workers-only", action="store_true", help="only the --workers rows")
    p.add_argument("--device", choices=("cpu", "cuda", "torch-cpu"), default="cpu",
                   help="also time the torch engine on this device (cuda; torch-cpu only checks the script)")
    p.add_argument("--device-only", action="store_true", help="only the --device rows")
    p.add_argument("--device-steps", type=int, default=1000, help="steps per --device row (1000)")
    p.add_argument("--device-sizes", type=lambda t: [int(v) for v in t.split(",")],
                   default=[256, 1024, 4096, 64, 256, 1024], metavar="S1,S2,S3,R1,R2,R3",
                   help="TBPTT(1) then RTRL batch sizes of the --device rows (256,1024,4096,64,256,1024)")
    args = p.parse_args()
    if len(args.device_sizes) != 6:
        p.error("--device-sizes takes six sizes: three for TBPTT(1), three for RTRL")
    torch.set_num_threads(1)
    if args.workers_only:
        workers_rows(args)
        return 0
    if not args.device_only:
        engines(args)
        if not args.skip_map:
            map_timing(args)
            workers_rows(args)
    if args.device != "cpu":
        device_rows(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
