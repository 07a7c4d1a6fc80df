"""Make the format-1 session files in this folder and their continuation references (run once, kept as made).

    git archive 615a9ee | tar -x -C /tmp/old && mkdir -p /tmp/old/tests/data
    cp tests/data/make_v1_sessions.py /tmp/old/tests/data/ && (cd /tmp/old && python tests/data/make_v1_sessions.py)
    cp /tmp/old/tests/data/v1_* tests/data/

It was run so, on the code of commit 615a9ee, the last one that wrote session format 1 (no `format_version`,
the optimizer's state in torch.optim's per-parameter layout). It does not run on later code (it reads the file
with that code's private parser), and the files here are not to be remade: tests/test_session_migration.py
checks that these old files still open with the same weights, position and history and continue bit for bit.

For each session `<name>.gmlab` (saved through LiveEngine.save_session, so the history is a real one)
`<name>.json` holds what the old code knew at save time: the step, sha256 of each trainer and history tensor,
and the next 50 steps after the save (losses; online also y_hat and the final carried state).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from core.config import preset  # noqa: E402
from core.live.engine import LiveEngine  # noqa: E402
from core.sessions.gmlab import _parse_container  # noqa: E402

N_NEXT = 50

CASES = {
    "v1_online_tbptt1": (preset("question-fixed"), 300),
    "v1_online_tbptt4": (preset("question-fixed").replace(window=4, seed=3), 300),
    "v1_online_rtrl": (preset("question-fixed").replace(rule="rtrl", seed=5), 200),
    "v1_batch": (preset("answer").replace(n_sequences=1200, seq_len=16, batch_size=128), 12),
}


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def position(meta: dict) -> dict:
    """The trainer position's small parts (the stream's bit buffers are left to the file and its sha256)."""
    out = {k: v for k, v in meta.items() if k not in ("stream", "history")}
    if "stream" in meta:
        out["stream"] = {k: meta["stream"][k] for k in ("i", "t", "past")}
    if "history" in meta:
        out["history"] = meta["history"]
    return out


def main() -> None:
    torch.set_num_threads(1)  # as the app's training child and the tests: torch's sums depend on the thread count
    for name, (cfg, steps) in CASES.items():
        e = LiveEngine(cfg)
        e.start()
        while e.steps < steps:
            e.advance(1.0, max_steps=steps - e.steps)
        e.pause()
        if cfg.train.mode == "online":
            e.trainer.set_lr(2e-3)  # a live lr change, saved with the session
        path = HERE / f"{name}.gmlab"
        res = e.save_session(str(path), {"note": "format 1 fixture", "view": {"tab": 0}})
        assert res["ok"], res
        tensors, metadata = _parse_container(path.read_bytes())
        ref = {"step": e.steps, "config": cfg.to_dict(), "metadata_keys": sorted(metadata),
               "position": position(json.loads(metadata["trainer"])),
               "sha256": {k: sha(v) for k, v in sorted(tensors.items())}}
        tr = e.trainer
        losses, y_hats, logs = [], [], []
        for _ in range(N_NEXT):
            rec = tr.step()
            losses.append(float(rec.loss))
            if cfg.train.mode == "online":
                y_hats.append(float(rec.y_hat))
            elif rec.epoch_end is not None:
                logs.append({k: float(v) for k, v in rec.epoch_end.items()})
        ref["next_losses"] = losses
        if cfg.train.mode == "online":
            ref["next_y_hat"] = y_hats
            ref["h_after"] = [float(v) for v in tr.h.reshape(-1).tolist()]
            ref["t_after"] = tr.t
        else:
            ref["epoch_logs_after"] = logs
            ref["epoch_after"], ref["batch_after"] = tr.epoch, tr.batch
        (HERE / f"{name}.json").write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n")
        print(name, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
