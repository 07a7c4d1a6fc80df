"""The command line without a window: `python main.py train [--preset NAME] [flags] [--report FILE.json]
[--markdown FILE.md]`.

Trains without a window (core.headless.train; `--seeds S` through core.multiseed), prints progress as it goes
(per epoch in batch mode, as Keras does, plus the answer's `loss: [...]` / `val_loss: [...]` blocks after
epoch 10 and after the last; every N steps online) and writes a JSON report {config, params,
history, final, hints, steps_per_second, elapsed_s, device}; `--markdown` a Markdown run report with loss and
accuracy PNGs beside it (core/report.py). Every config field is a flag; a bad value exits 2
with one line naming the flag.

final: online {heldout_accuracy, heldout_loss, heldout_steps, verdict}; batch {loss, val_loss, accuracy,
val_accuracy, verdict}. final.verdict is a dict {code, figure, metric, n, loss, text} (core/verdict.py):
code is "learned", "partly", "base-rate", "diverged" or "not-run", e.g. final["verdict"]["code"] == "learned",
text e.g. "learned: held-out accuracy 1.000". hints is a list of {code, level, title, text} (core/diagnostics.py),
level "info", "warning" or "error"; a run that has learned gets no warning or error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings

import torch

from .config import PRESET_HELP, PRESETS, Config, ConfigError, all_fields, preset, range_text
from .headless import train
from .multiseed import iter_seeds, summarize
from .report import ReportError, check_report_path, headless_report, reproduce_command, write_report


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
    p.add_argument("--markdown", metavar="FILE.md",
                   help="write a Markdown run report here (config, log, verdict, hints, plots as PNGs beside it)")
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
    if args.markdown is not None:
        why = "needs --seeds 1" if args.seeds > 1 else check_report_path(args.markdown)
        if why is not None:
            print(f"error: --markdown: {why}", file=sys.stderr)
            return 2
    torch.set_num_threads(max(1, args.threads))
    log: list[str] = []  # what was printed, for the Markdown report

    def out(line: str) -> None:
        log.append(line)
        if not args.quiet:
            print(line, flush=True)
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
    if args.markdown is not None:
        command = reproduce_command(cfg)
        try:
            rep, pngs = headless_report(args.markdown, report, log, command)
            path = write_report(args.markdown, rep, pngs)
        except ReportError as e:
            print(f"error: --markdown: {e}", file=sys.stderr)
            return 1
        print(f"markdown: {path}")
    print(json.dumps(finite_or_null({"params": report["params"], "final": report["final"],
                                     "steps_per_second": round(report["steps_per_second"] or 0, 1)})))
    return 0


def _train_seeds(cfg: Config, n: int, out) -> dict:
    """--seeds S > 1: one line per seed, then 'learned k/S'; the report keeps per-seed results in 'seeds'."""
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
