"""The command line without a window: `python main.py train [--preset NAME] [flags] [--report FILE.json]
[--markdown FILE.md]`.

Trains without a window (core.runs.headless.train; `--seeds S` through core.runs.seeds), says its progress on
stderr as it goes (per epoch in batch mode, as Keras does, plus the answer's `loss: [...]` / `val_loss: [...]`
blocks after epoch 10 and after the last; every N steps online; nothing with --quiet), prints the summary as one
JSON line on stdout (the only thing there) and writes a JSON report {config, params,
history, final, hints, steps_per_second, elapsed_s, device}; `--markdown` a Markdown run report with loss and
accuracy PNGs beside it (core/runs/report.py). Every config field is a flag; a bad value exits 2
with one line naming the flag.

final: online {heldout_accuracy, heldout_loss, heldout_steps, verdict}; batch {loss, val_loss, accuracy,
val_accuracy, verdict}. final.verdict is a dict {code, figure, metric, n, loss, text} (core/analysis/verdict.py):
code is "learned", "partly", "base-rate", "diverged" or "not-run", e.g. final["verdict"]["code"] == "learned",
text e.g. "learned: held-out accuracy 1.000". hints is a list of {code, level, title, text} (core/analysis/hints.py),
level "info", "warning" or "error"; a run that has learned gets no warning or error.

Training stops at the first non-finite loss or weight (core.runs.headless.Diverged): the report is still written,
with final.verdict.code "diverged" and final.diverged {step, what, message}, the message goes to stderr
("error: diverged at step 12: the loss became nan (lr 10 is likely too high for sgd; try 0.01)"), and the exit
code is 3. With --seeds S such a seed counts as diverged ("learned k/S, diverged d"), and any diverged seed
makes the exit code 3 too. --seeds S runs the seeds in worker processes (`--workers N`, default: the cores this
process may use, at most S; 1: one after the other here) or on a Dask cluster (`--scheduler ADDRESS`), each seed
exactly the run it is alone; the report records where it ran. A seed a dead worker took twice is listed as missing
(exit 4), never given a figure. SIGTERM stops as Ctrl-C does.

Exit codes (EXIT_CODES): 0 done; 1 the report could not be written (nothing was written; a previous file is
intact); 2 a bad flag or value (one line, before anything trains, the --report path included); 3 training
diverged; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings

from core.atomic_io import LabFileError, check_writable, write_bytes
from core.cli.flags import (
    MAX_THREADS,
    Parser,
    add_config_flags,
    add_preset_flag,
    config_flag_error,
    config_from_args,
    finite_or_null,
    start_logging,
    strict_int,
)
from core.cli.where import add_where_flags, flag_problem, sigterm_as_interrupt, where_from_args
from core.config import Config, ConfigError
from core.messages import SeedResult
from core.runs.headless import train
from core.runs.report import ReportError, check_report_path, headless_report, reproduce_command, write_report
from core.runs.seeds import iter_seeds, seeds_on, summarize
from core.workers.pool import SchedulerError, Where

EXIT_OK, EXIT_WRITE, EXIT_USAGE, EXIT_DIVERGED, EXIT_MISSING, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_CODES = {EXIT_OK: "done", EXIT_WRITE: "the report could not be written (a previous file is left intact)",
              EXIT_USAGE: "a bad flag or value, the --report path included (checked before training)",
              EXIT_DIVERGED: "training diverged (a non-finite loss or weight); the report says at which step",
              EXIT_MISSING: "--seeds: a worker died twice on some seeds (listed as missing, never as results)",
              EXIT_INTERRUPTED: "interrupted (Ctrl-C)"}
MAX_SEEDS = 10_000
AUTO_IN_PROCESS = 100_000  # online steps of all seeds below which the default --workers trains here
# flags that one mode ignores: said in one line when given for the other mode
BATCH_ONLY = ("n_sequences", "seq_len", "batch_size", "epochs", "shuffle", "validation_split")
ONLINE_ONLY = ("rule", "window", "rtrl_decay", "fidelity", "steps", "eval_steps")
log = logging.getLogger(__name__)


def build_parser() -> Parser:
    p = Parser("train", exit_codes=EXIT_CODES,
               description="Train a GRU on a bit-stream memory task without a window. Progress goes to stderr, "
               "the summary (one JSON line) to stdout. Training stops at the first non-finite loss or weight and "
               "exits 3 (diverged).")
    add_preset_flag(p)
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--markdown", metavar="FILE.md",
                   help="write a Markdown run report here (config, log, verdict, hints, plots as PNGs beside it)")
    p.add_argument("--log-every", type=strict_int, default=2000, metavar="N",
                   help="online: a progress line every N steps (2000)")
    p.add_argument("--threads", type=strict_int, default=1, metavar="N",
                   help=f"torch CPU threads (1; at most {MAX_THREADS})")
    p.add_argument("--quiet", action="store_true",
                   help="no progress: only the JSON line on stdout (warnings and errors still on stderr)")
    p.add_argument("--no-epoch-lines", dest="epoch_lines", action="store_false",
                   help="batch: leave out the per-epoch lines, keep the answer's loss/val_loss blocks")
    p.add_argument("--seeds", type=strict_int, default=1, metavar="S",
                   help=f"train seeds seed..seed+S-1, one line per seed and 'learned k/S' (1; at most {MAX_SEEDS:,})")
    add_where_flags(p, "seeds of --seeds S", ", at most S")
    add_config_flags(p)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start_logging(args)
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        log.error(config_flag_error(e))
        return EXIT_USAGE
    problem = check_args(args, cfg)
    if problem:
        log.error(f"error: {problem}")
        return EXIT_USAGE
    if args.markdown is not None:
        why = "needs --seeds 1" if args.seeds > 1 else check_report_path(args.markdown)
        if why is not None:
            log.error(f"error: --markdown: {why}")
            return EXIT_USAGE
    where, why = (Where(), flag_problem(args.workers, args.scheduler)) if args.seeds == 1 else where_from_args(args)
    where = None if why else where
    if where is None:
        log.error(why)
        return EXIT_USAGE
    if where.scheduler is None and where.workers > args.seeds:
        where = Where(args.seeds)
    if args.workers is None and cfg.train.mode == "online" and args.seeds * cfg.train.steps < AUTO_IN_PROCESS:
        where = Where(1)  # a few seconds' work: starting workers would cost more than it saves
    for note in ignored_notes(args, cfg):
        log.warning(f"note: {note}")
    import torch  # here: importing this module (for its helpers) loads no torch

    torch.set_num_threads(args.threads)
    lines: list[str] = []  # what was said, for the Markdown report

    def out(line: str) -> None:
        lines.append(line)
        log.info(line)
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here Ctrl-C stops training (main.py's
    sigterm_as_interrupt()  # start-up handler exited quietly before); SIGTERM too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if args.seeds == 1:
                report = train(cfg, log_every=args.log_every, out=out, epoch_lines=args.epoch_lines)
            else:
                report = _train_seeds(cfg, args.seeds, out, where)
        except SchedulerError as e:
            log.error(f"error: {e}")
            return EXIT_USAGE
        except KeyboardInterrupt:
            log.error("interrupted")
            return EXIT_INTERRUPTED
    diverged = diverged_lines(report)
    for line in diverged:
        log.error(f"error: {line}")
    if args.report is not None:
        try:
            write_json_report(args.report, report)
        except LabFileError as e:
            log.error(f"error: --report: {e.message}; nothing was written (a previous file is intact)")
            return EXIT_WRITE
    if args.markdown is not None:
        command = reproduce_command(cfg)
        try:
            rep, pngs = headless_report(args.markdown, report, lines, command)
            path = write_report(args.markdown, rep, pngs)
        except ReportError as e:
            log.error(f"error: --markdown: {e.message}")
            return EXIT_WRITE
        log.info(f"markdown: {path}")
    print(json.dumps(finite_or_null({"params": report["params"], "final": report["final"],
                                     "steps_per_second": round(report["steps_per_second"] or 0, 1)})))
    if report["final"].get("missing_seeds"):
        log.error(f"error: seeds {report['final']['missing_seeds']} missing: a worker process died on them twice")
        return EXIT_MISSING
    return EXIT_DIVERGED if diverged else EXIT_OK


def check_args(args, cfg: Config) -> str | None:
    """The first problem with the runner's own flags, as 'flag: why', or None; nothing has trained yet."""
    if args.log_every < 1:
        return "--log-every: must be >= 1"
    if not 1 <= args.threads <= MAX_THREADS:
        return f"--threads: must be between 1 and {MAX_THREADS} (twice this machine's cores, at most 64)"
    if not 1 <= args.seeds <= MAX_SEEDS:
        return f"--seeds: must be between 1 and {MAX_SEEDS:,}"
    if cfg.train.seed + args.seeds - 1 > 2**31 - 1:
        return "--seeds: seed + S - 1 must be <= 2147483647"
    if args.report is not None:
        why = check_writable(args.report)
        if why is not None:
            return f"--report: cannot write {args.report!r}: {why}"
    return None


def ignored_notes(args, cfg: Config) -> list[str]:
    """One line per flag given that this run ignores: '--batch-size applies to batch mode only; ignored', and
    --workers / --scheduler with one seed."""
    mode = cfg.train.mode
    other, names = ("batch", BATCH_ONLY) if mode == "online" else ("online", ONLINE_ONLY)
    flags = ["--" + n.replace("_", "-") for n in names if getattr(args, n, None) is not None]
    if mode == "online" and not args.epoch_lines:
        flags.append("--no-epoch-lines")
    notes = [f"{f} applies to {other} mode only; ignored (this run is {mode})" for f in flags]
    spread = [f for f in ("--workers", "--scheduler") if getattr(args, f[2:], None) is not None]
    if spread and getattr(args, "seeds", 1) == 1:
        notes.append(f"{' and '.join(spread)} spread the seeds of --seeds S; ignored (one seed trains here)")
    return notes


def diverged_lines(report: dict) -> list[str]:
    """The divergence messages of a report (one run, or each seed of --seeds, named 'seed 3: ...'): a final
    whose verdict is "diverged" always counts, with or without its `diverged` record."""
    def message(f: dict) -> str | None:
        d = f.get("diverged")
        if isinstance(d, dict):
            return str(d.get("message", "diverged"))
        code = (f.get("verdict") or {}).get("code") if isinstance(f.get("verdict"), dict) else None
        return "diverged" if code == "diverged" else None

    if "seeds" in report:
        out = []
        for s in report["seeds"]:
            m = message(s["final"]) or ("diverged" if s.get("diverged") else None)
            if m is not None:
                out.append(f"seed {s['seed']}: {m}")
        return out
    m = message(report["final"])
    return [m] if m is not None else []


def write_json_report(path: str, report: dict) -> None:
    """The JSON report, atomically (core.atomic_io): a failure raises LabFileError and leaves any old file."""
    text = json.dumps(finite_or_null(report), indent=1, allow_nan=False)
    write_bytes(path, text.encode("utf-8"))


def _train_seeds(cfg: Config, n: int, out, where: Where) -> dict:
    """--seeds S > 1: one line per seed as it finishes, then 'learned k/S'; the report keeps per-seed results in
    'seeds' (in seed order), lists seeds lost to dead workers in final.missing_seeds and says where it ran."""
    results, missing, waiting = [], [], {}
    t0 = time.perf_counter()
    order = iter(range(cfg.train.seed, cfg.train.seed + n))
    nxt = next(order)
    for r in (iter_seeds(cfg, n) if where.in_process else seeds_on(cfg, n, where)):
        if isinstance(r, SeedResult):
            results.append(r)
            waiting[r.seed] = r.line()
        else:
            missing.append(r.key)
            waiting[r.key] = f"seed {r.key}: missing - {r.why}"
        while nxt in waiting:  # the lines in seed order, whichever worker finished first
            out(waiting.pop(nxt))
            nxt = next(order, -1)
    results.sort(key=lambda r: r.seed)
    summary = summarize(results)
    out(summary.line())
    elapsed = sum(r.elapsed_s for r in results)
    rates = [r.steps_per_second for r in results if r.steps_per_second]
    return {"config": cfg.to_dict(), "params": results[0].params if results else None,
            "final": {"learned": summary.n_learned, "diverged": summary.n_diverged, "n_seeds": summary.n_seeds,
                      "threshold": summary.threshold, "diverged_seeds": [r.seed for r in results if r.diverged],
                      "missing_seeds": sorted(missing)},
            "seeds": [r.to_dict() for r in results], "where": where.to_dict(),
            "steps_per_second": sum(rates) / len(rates) if rates else None, "elapsed_s": elapsed,
            "wall_s": time.perf_counter() - t0}


if __name__ == "__main__":
    sys.exit(main())
