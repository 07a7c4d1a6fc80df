"""The thread's answer in TensorFlow/Keras beside ours, on the same seeds: loss distributions and wall times.

    python bench/keras_answer.py [--seeds 8] [--epochs 50] [--n-sequences 10000] [--threads 1]
                                 [--tf-python .venv-tf/bin/python] [--json out.json]

Keras side (needs TensorFlow, an optional extra never needed by the app: `python3 -m venv .venv-tf &&
.venv-tf/bin/pip install tensorflow-cpu`, or `pip install .[keras]` in a venv of its own): the answer's script as
printed in the thread, per seed s: `keras.utils.set_random_seed(s)`, `X = np.random.rand(N, 32, 1) > 0.5`,
`Y = 1 - X`, GRU(2, return_sequences=True) + Conv1D(1, 1), Adam, MSE, `fit(batch_size=512,
validation_split=0.1)` for 10 epochs, then 40 more. Ours: `main.py train --preset answer` with the same seeds
(its own data and weights: the random streams differ, the distributions are what compare).

Each side runs as one whole child process (imports included) and its wall time is reported, then per side the
training loss at epochs 1, 10 and the last, the median val_loss at epochs 10 and the last, and how many seeds
stall (final val_loss above 0.1). Without TensorFlow the Keras side is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STALL = 0.1  # a seed whose final val_loss is above this has stalled
THREAD = {"loss": {1: 1.137, 10: 0.329, 50: 0.010}}  # the answer's one printed run (training loss)


# -- the two workers (each runs in its own process and prints one JSON line) ------------------------------------
def worker_keras(seeds: list[int], epochs: int, n: int, threads: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    runs = []
    first = min(10, epochs)
    for s in seeds:
        tf.keras.utils.set_random_seed(s)  # Python, NumPy and TF seeds
        t0 = time.perf_counter()
        model = tf.keras.models.Sequential([
            tf.keras.layers.Input(shape=(None, 1)),
            tf.keras.layers.GRU(2, return_sequences=True),
            tf.keras.layers.Conv1D(1, 1),
        ])
        model.compile(loss="mse", optimizer="adam")
        x = (np.random.rand(n, 32, 1) > 0.5).astype(np.float32)
        y = 1 - x
        hist = {"loss": [], "val_loss": []}
        for ep in (first, epochs - first):
            if ep <= 0:
                continue
            h = model.fit(x, y, batch_size=512, epochs=ep, validation_split=0.1, verbose=0)
            for k in hist:
                hist[k] += [float(v) for v in h.history[k]]
        runs.append({"seed": s, "params": int(model.count_params()), "loss": hist["loss"],
                     "val_loss": hist["val_loss"], "seconds": time.perf_counter() - t0})
    return {"side": "keras", "version": f"tensorflow {tf.__version__}", "runs": runs}


def worker_ours(seeds: list[int], epochs: int, n: int, threads: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from core.cli.train import train
    from core.config import preset

    torch.set_num_threads(threads)
    runs = []
    for s in seeds:
        t0 = time.perf_counter()
        cfg = preset("answer").replace(seed=s, epochs=epochs, n_sequences=n)
        rep = train(cfg, out=lambda *_: None, epoch_lines=False)
        runs.append({"seed": s, "params": rep["params"], "loss": rep["history"]["loss"],
                     "val_loss": rep["history"]["val_loss"], "seconds": time.perf_counter() - t0})
    return {"side": "ours", "version": f"torch {torch.__version__}", "runs": runs}


# -- the driver ------------------------------------------------------------------------------------------------
def tf_python(choice: str | None) -> str | None:
    """A Python that can import tensorflow: --tf-python, else .venv-tf/bin/python, else this one; None if none."""
    cands = [choice] if choice else [str(ROOT / ".venv-tf" / "bin" / "python"), sys.executable]
    for py in cands:
        if py and Path(py).exists():
            ok = subprocess.run([py, "-c", "import tensorflow"], capture_output=True,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if ok.returncode == 0:
                return py
    return None


def run_side(python: str, side: str, args) -> tuple[dict | None, float, str]:
    cmd = [python, str(Path(__file__).resolve()), "--worker", side, "--seeds", str(args.seeds),
           "--epochs", str(args.epochs), "--n-sequences", str(args.n_sequences), "--threads", str(args.threads)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - t0
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return None, wall, (p.stderr.strip().splitlines() or ["no output"])[-1]
    return json.loads(lines[-1]), wall, ""


def summary(res: dict, epochs: int) -> dict:
    runs = res["runs"]
    at = sorted({1, min(10, epochs), epochs})

    def dist(key, e):
        v = [r[key][e - 1] for r in runs]
        return {"median": statistics.median(v), "min": min(v), "max": max(v)}

    return {"version": res["version"], "params": sorted({r["params"] for r in runs}),
            "loss": {e: dist("loss", e) for e in at}, "val_loss": {e: dist("val_loss", e) for e in at},
            "stalled": sum(r["val_loss"][-1] > STALL for r in runs), "n": len(runs),
            "train_seconds": sum(r["seconds"] for r in runs)}


def table(rows: dict[str, dict], epochs: int) -> list[str]:
    at = sorted({1, min(10, epochs), epochs})
    head = ["side", "params"] + [f"loss@{e} median [min, max]" for e in at] + \
        [f"val_loss@{e} median" for e in at if e != 1] + [f"stalled (> {STALL})", "process wall s"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in rows.items():
        cells = [name, "/".join(map(str, s["params"]))]
        cells += [f"{s['loss'][e]['median']:.3f} [{s['loss'][e]['min']:.3f}, {s['loss'][e]['max']:.3f}]" for e in at]
        cells += [f"{s['val_loss'][e]['median']:.4f}" for e in at if e != 1]
        cells += [f"{s['stalled']}/{s['n']}", f"{s['wall_s']:.1f}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="seeds 0..S-1 (8)")
    ap.add_argument("--epochs", type=int, default=50, help="10 + the rest, as the answer (50)")
    ap.add_argument("--n-sequences", type=int, default=10000, help="sequences of 32 (10000); small = a smoke run")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for each framework (1)")
    ap.add_argument("--tf-python", default=None, help="a Python with tensorflow (default .venv-tf/bin/python)")
    ap.add_argument("--json", default=None, metavar="FILE", help="write both sides' per-seed histories here")
    ap.add_argument("--worker", choices=["keras", "ours"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.seeds < 1 or a.epochs < 1 or a.n_sequences < 20 or a.threads < 1:
        print("error: --seeds, --epochs, --threads must be >= 1 and --n-sequences >= 20", file=sys.stderr)
        return 2
    seeds = list(range(a.seeds))
    if a.worker:
        fn = worker_keras if a.worker == "keras" else worker_ours
        print(json.dumps(fn(seeds, a.epochs, a.n_sequences, a.threads)))
        return 0
    print(f"the answer's script, seeds 0-{a.seeds - 1}, {a.epochs} epochs, {a.n_sequences} sequences, "
          f"{a.threads} thread(s); load average {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, dict] = {}
    py = tf_python(a.tf_python)
    if py is None:
        print("Keras: skipped - TensorFlow is not installed (python3 -m venv .venv-tf && "
              ".venv-tf/bin/pip install tensorflow-cpu, then rerun)", flush=True)
    else:
        res, wall, err = run_side(py, "keras", a)
        if res is None:
            print(f"Keras: failed - {err}", flush=True)
        else:
            results["Keras"] = res | {"wall_s": wall}
            print(f"Keras: {res['version']}, whole process {wall:.1f} s", flush=True)
    res, wall, err = run_side(sys.executable, "ours", a)
    if res is None:
        print(f"ours: failed - {err}", file=sys.stderr)
        return 1
    results["ours"] = res | {"wall_s": wall}
    print(f"ours: {res['version']}, whole process {wall:.1f} s", flush=True)
    rows = {k: summary(v, a.epochs) | {"wall_s": v["wall_s"]} for k, v in results.items()}
    if a.epochs == 50:
        print(f"the thread's one printed run: loss {THREAD['loss'][1]} / {THREAD['loss'][10]} / "
              f"{THREAD['loss'][50]} at epochs 1 / 10 / 50")
    print("\n".join(table(rows, a.epochs)))
    if "Keras" in rows:
        print(f"wall time ours / Keras: {rows['ours']['wall_s'] / rows['Keras']['wall_s']:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"summary": rows, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
