"""Seconds per epoch of the `answer` preset (2 units, 9,000 training sequences of 32, batch 512), one run.

    python bench/batch.py [--epochs 5] [--threads 1] [--device cpu|cuda|auto]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.config import preset  # noqa: E402
from core.train.trainer import BatchTrainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for units in (2, 8, 16):
        cfg = preset("answer").replace(units=units, epochs=args.epochs, device=args.device)
        tr = BatchTrainer(cfg)
        tr.run_epoch()  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.epochs - 1):
            tr.run_epoch()
        dt = (time.perf_counter() - t0) / max(args.epochs - 1, 1)
        rows.append((units, tr.n_params, dt, tr.device))
    print(f"answer preset, {args.threads} thread(s), torch {torch.__version__}")
    print(f"{'units':>5} {'params':>6} {'s/epoch':>8} {'sequences/s':>12}  device")
    for units, n, dt, dev in rows:
        print(f"{units:>5} {n:>6} {dt:>8.3f} {9000 / dt:>12,.0f}  {dev}")


if __name__ == "__main__":
    main()
