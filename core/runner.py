"""The headless runner: `python main.py train [--preset NAME] [flags] [--report FILE.json]`.

Trains without a window, prints progress as it goes (per epoch in batch mode, as Keras does, plus the answer's
`loss: [...]` / `val_loss: [...]` blocks after epoch 10 and after the last; every N steps online) and writes a
JSON report {config, params, history, final, steps_per_second}. Every config field is a flag; a bad value exits
2 with one line naming the flag.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings

from .config import PRESET_HELP, PRESETS, Config, ConfigError, all_fields, preset, range_text


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        self.exit(2, f"error: {message}\n")


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def finite_or_null(obj):
    """The report with NaN and infinities as None, so the JSON is strict (no bare NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(v) for v in obj]
    return obj


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py train", description="Train a GRU on a bit-stream memory task without a window.",
                )
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="start from a preset: " + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()))
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--log-every", type=int, default=2000, metavar="N", help="online: print every N steps (2000)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch CPU threads (1)")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.add_argument("--no-epoch-lines", dest="epoch_lines", action="store_false",
                   help="batch: leave out the per-epoch lines, keep the answer's loss/val_loss blocks")
    p.add_argument("--seeds", type=int, default=1, metavar="S",
                   help="train seeds seed..seed+S-1, one line per seed and 'learned k/S' (1)")
    for section, f in all_fields():
        meta = f.metadata
        flag = "--" + f.name.replace("_", "-")
        typ = type(f.default)
        allowed = "true|false" if typ is bool else range_text(meta)
        text = f"{meta['help']} [{section}; default {f.default}; allowed {allowed}]"
        kw = {"dest": f.name, "default": None, "help": text}
        if typ is bool:
            kw.update(type=_bool, metavar="BOOL")
        elif meta.get("choices"):
            kw.update(choices=list(meta["choices"]))
        else:
            kw.update(type=typ, metavar=f.name.upper())
        p.add_argument(flag, **kw)
    return p


def config_from_args(args) -> Config:
    base = preset(args.preset) if args.preset else Config()
    changes = {f.name: getattr(args, f.name) for _, f in all_fields() if getattr(args, f.name) is not None}
    return base.replace(**changes)


def block_ends(epochs: int) -> tuple[int, ...]:
    """The epochs after which a batch run prints its history blocks: the answer ran fit(epochs=10), printed,
    then fit(epochs=40) and printed again, so: after epoch 10 (when there are more) and after the last."""
    return (10, epochs) if epochs > 10 else (epochs,)


def history_blocks(history: dict, upto: int, span: int = 10) -> list[str]:
    """The answer's printout for epochs upto-span+1..upto, as `print(np.round(hist.history['loss'], 3))`
    printed it, one named line per series: a header, then 'loss: [1.137 0.842 ...]' and 'val_loss: [...]'."""
    import numpy as np

    lo = max(0, upto - span)
    lines = [f"epochs {lo + 1}-{upto}:"]
    for key in ("loss", "val_loss"):
        vals = np.round(np.asarray(history[key][lo:upto], dtype=np.float64), 3)
        lines.append(f"{key}: " + np.array2string(vals, max_line_width=10**6, separator=" "))
    return lines


def train(cfg: Config, log_every: int = 2000, out=print, epoch_lines: bool = True) -> dict:
    """Run a whole training as the config says and return the report dict.

    Batch mode prints one Keras-style line per epoch (unless epoch_lines is False) and the answer's history
    blocks (`history_blocks`) after epoch 10 and after the last."""
    from .trainers import BatchTrainer, OnlineTrainer, RateMeter

    t = cfg.train
    if t.mode == "batch":
        tr = BatchTrainer(cfg)
        if tr.device_warning:
            out(f"warning: {tr.device_warning}")
        out(f"batch: {tr.n_params} parameters, {tr.n_train} train / {len(tr.x_val)} val sequences, "
            f"{tr.batches_per_epoch} batches per epoch, device {tr.device}")
        t0 = time.perf_counter()
        for _ in range(t.epochs):
            e0 = time.perf_counter()
            logs = tr.run_epoch()
            if epoch_lines:
                out(f"Epoch {logs['epoch']}/{t.epochs} - {time.perf_counter() - e0:.2f}s - loss: {logs['loss']:.4f}"
                    f" - accuracy: {logs['accuracy']:.4f} - val_loss: {logs['val_loss']:.4f}"
                    f" - val_accuracy: {logs['val_accuracy']:.4f}")
            if logs["epoch"] in block_ends(t.epochs):
                for line in history_blocks(tr.history, logs["epoch"]):
                    out(line)
        elapsed = time.perf_counter() - t0
        steps = t.epochs * tr.batches_per_epoch
        final = {"loss": tr.history["loss"][-1], "val_loss": tr.history["val_loss"][-1],
                 "accuracy": tr.history["accuracy"][-1], "val_accuracy": tr.history["val_accuracy"][-1]}
        history = tr.history
        n_params = tr.n_params
    else:
        tr = OnlineTrainer(cfg)
        if tr.device_warning:
            out(f"warning: {tr.device_warning}")
        out(f"online: {tr.n_params} parameters, readout {cfg.model.readout}, rule {t.rule}, window {t.window}, "
            f"device {tr.device}")
        history = {"step": [], "loss": [], "accuracy": []}
        meter = RateMeter()
        meter.mark(0)
        t0 = time.perf_counter()
        s_loss = s_correct = 0.0
        s_n = 0
        for i in range(1, t.steps + 1):
            rec = tr.step()
            s_loss += rec.loss
            s_correct += rec.correct
            s_n += 1
            if i % log_every == 0 or i == t.steps:
                rate = meter.mark(i)
                history["step"].append(i)
                history["loss"].append(s_loss / s_n)
                history["accuracy"].append(s_correct / s_n)
                out(f"step {i}/{t.steps} - loss: {s_loss / s_n:.4f} - accuracy: {s_correct / s_n:.4f}"
                    f" - {rate:,.0f} steps/s")
                s_loss = s_correct = 0.0
                s_n = 0
        elapsed = time.perf_counter() - t0
        steps = t.steps
        ev = tr.evaluate(t.eval_steps)
        final = {"heldout_accuracy": ev["accuracy"], "heldout_loss": ev["loss"], "heldout_steps": ev["steps"]}
        out(f"held-out ({ev['steps']} steps, weights frozen, state carried): accuracy {ev['accuracy']:.4f}"
            f" - loss {ev['loss']:.4f}")
        n_params = tr.n_params
    return {"config": cfg.to_dict(), "params": n_params, "history": history, "final": final,
            "steps_per_second": steps / elapsed if elapsed > 0 else None, "elapsed_s": elapsed,
            "device": str(tr.device)}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        flag = "--" + e.field.split(".")[-1].replace("_", "-")
        print(f"error: {flag}: {e.message}", file=sys.stderr)
        return 2
    if args.log_every < 1:
        print("error: --log-every: must be >= 1", file=sys.stderr)
        return 2
    if args.seeds < 1 or cfg.train.seed + args.seeds - 1 > 2**31 - 1:
        print("error: --seeds: must be >= 1, with seed + S - 1 <= 2147483647", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(max(1, args.threads))
    out = (lambda *_: None) if args.quiet else (lambda s: print(s, flush=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if args.seeds == 1:
                report = train(cfg, log_every=args.log_every, out=out, epoch_lines=args.epoch_lines)
            else:
                report = _train_seeds(cfg, args.seeds, out)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    if args.report:
        try:
            with open(args.report, "w") as fh:
                json.dump(finite_or_null(report), fh, indent=1, allow_nan=False)
        except OSError as e:
            print(f"error: --report: cannot write {args.report}: {e.strerror}", file=sys.stderr)
            return 1
    print(json.dumps(finite_or_null({"params": report["params"], "final": report["final"],
                                     "steps_per_second": round(report["steps_per_second"] or 0, 1)})))
    return 0


def _train_seeds(cfg: Config, n: int, out) -> dict:
    """--seeds S > 1: one line per seed, then 'learned k/S'; the report keeps per-seed results in 'seeds'."""
    from .multiseed import iter_seeds, summarize

    results = []
    for r in iter_seeds(cfg, n):
        results.append(r)
        out(r.line())
    summary = summarize(results)
    out(summary.line())
    elapsed = sum(r.elapsed_s for r in results)
    rates = [r.steps_per_second for r in results if r.steps_per_second]
    return {"config": cfg.to_dict(), "params": results[0].params,
            "final": {"learned": summary.n_learned, "n_seeds": summary.n_seeds, "threshold": summary.threshold},
            "seeds": [r.to_dict() for r in results],
            "steps_per_second": sum(rates) / len(rates) if rates else None, "elapsed_s": elapsed}


if __name__ == "__main__":
    sys.exit(main())
