"""The sweep command line: `python main.py sweep --x lag=1:6 [--y window=1:7] --seeds 16 [config flags]
[--report sweep.json] [--png sweep.png] [--csv sweep.csv] [--device cpu|cuda|torch-cpu]`. The rule axis takes
tbptt, rtrl, uoro, snap1 and TBPTT with its window (tbpttK: window K; tbptt+D: window lag+D), e.g.
`--y rule=tbptt1,tbptt+1,rtrl,uoro,snap1`; the cell axis the recurrent cells, e.g. `--y cell=rnn,gru,lstm`.
--device cuda runs the learners in torch on the GPU (core/seed_batched/devices.py); without CUDA it exits 2 with one
line. `--workers N` runs the learners in N local worker processes (default: the cores this process may use; 1 with
--device cuda), `--scheduler ADDRESS` on a Dask cluster (core/sweep/parallel.py, docs/scaling.md); every cell is
the same wherever it ran, and the report records where (workers, scheduler, engine, device).

Prints progress with an ETA on stderr and one line per finished cell; Ctrl+C stops after the current chunk,
keeping the finished cells, and writes the outputs marked `"partial": true` (exit 130); SIGTERM does the same. A
worker process that dies has its chunk retried once in a fresh pool; learners still lost are listed as missing
(their cells not done, never a figure; exit 4). A bad axis spec or
config value exits 2 with one line, as does an output path that cannot be written (checked before training).
Outputs are written through core.atomic_io (a temp file in the same folder, then a rename), so a reader never
sees half a file and a failed write leaves the previous file intact (exit 1).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time

from core.atomic_io import LabFileError, check_writable, write_files
from core.cli.flags import (
    Parser,
    add_config_flags,
    add_preset_flag,
    config_flag_error,
    config_from_args,
    report_json,
    start_logging,
    strict_int,
)
from core.cli.progress import duration
from core.cli.where import add_where_flags, sigterm_as_interrupt, where_from_args
from core.config import ConfigError
from core.seed_batched.devices import (
    DEFAULT_MAX_BATCH,
    DEVICE_HELP,
    DEVICES,
    check_device,
    describe,
    engine_info,
)
from core.sweep.grid import AxisError, SweepCollector, parse_axis, plan_sweep
from core.sweep.parallel import sweep_events
from core.workers.pool import SMALL_SWEEP, Where

EXIT_CODES = {0: "done", 1: "an output could not be written (every previous output file is intact)",
              2: "a bad flag, axis, value or output path (checked before training)",
              3: "some learners diverged (they are counted, never a held-out figure)",
              4: "a worker died twice on some learners: listed as missing, their cells not done",
              130: "interrupted (Ctrl-C): the finished cells are written, marked partial"}
log = logging.getLogger(__name__)


def build_parser() -> Parser:
    p = Parser("sweep", exit_codes=EXIT_CODES,
               description="Train S seeds per cell over one or two config axes and map the fraction that learned "
               "(held-out accuracy >= 0.99). Progress with an ETA goes to stderr, the summary (one JSON line) to "
               "stdout.")
    p.add_argument("--x", required=True, metavar="FIELD=VALUES",
                   help="first axis: lag=1:6 (inclusive), lag=1,3,5, lr=log:1e-4:1e-1:7, p=lin:0.1:0.5:5, "
                        "rule=tbptt,rtrl,uoro,snap1, cell=rnn,gru,lstm. A rule value may also carry TBPTT's "
                        "window: tbpttK is tbptt with window K, tbptt+D is tbptt with window lag+D (the cell's "
                        "lag), e.g. --x lag=1:6 --y rule=tbptt1,tbptt+1,rtrl,uoro,snap1 (then no window axis)")
    p.add_argument("--y", metavar="FIELD=VALUES", help="optional second axis, same forms")
    p.add_argument("--seeds", type=strict_int, default=16, metavar="S", help="seeds per cell: seed .. seed+S-1 (16)")
    add_preset_flag(p)
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--png", metavar="FILE.png", help="draw the map here")
    p.add_argument("--csv", metavar="FILE.csv", help="one row per cell here")
    p.add_argument("--svg", metavar="FILE.svg", help="draw the map here as SVG")
    p.add_argument("--reach-window", type=strict_int, default=1000, metavar="W",
                   help="the first step with accuracy >= 0.99 over the last W training steps is 'reached' (1000)")
    p.add_argument("--max-batch", type=strict_int, default=None, metavar="N",
                   help="learners per batched engine (256; 4096 with --device cuda)")
    p.add_argument("--device", dest="sweep_device", choices=DEVICES, default="cpu",  # not Config's device field
                   help=DEVICE_HELP)
    add_where_flags(p, "learners", "; 1 with --device cuda")
    p.add_argument("--quiet", action="store_true", help="no progress lines (warnings and errors still on stderr)")
    # mode and device are the sweep's own; fidelity: the batched engines do not measure it
    add_config_flags(p, skip=("mode", "device", "n_sequences", "seq_len", "batch_size", "epochs", "shuffle",
                              "validation_split", "fidelity"))
    return p


def report_csv(report: dict) -> bytes:
    """One row per cell: the axis values, done, learned, n_seeds, fraction, held-out median and min, reach."""
    axes = [a["field"] for a in report["axes"]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(axes + ["done", "learned", "diverged", "n_seeds", "fraction", "heldout_median", "heldout_min",
                       "reach_median_step", "reached", "first_failing_seed"])
    for c in report["cells"]:
        h, r = c["heldout"], c["reach"]
        w.writerow([c["changes"][a] for a in axes] + [
            int(c["done"]), c["learned"], c.get("diverged", 0), c["n_seeds"], _fmt(c["fraction"]),
            _fmt(h["median"]), _fmt(h["min"]),
            _fmt(r["median_step"]), r["reached"], "" if c["first_failing_seed"] is None else c["first_failing_seed"]])
    return buf.getvalue().encode()


def _fmt(v) -> str:
    return "" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def _eta(seconds) -> str:
    return duration(seconds)


def cell_line(cell: dict) -> str:
    where = " ".join(f"{k}={v}" for k, v in cell["changes"].items())
    h = cell["heldout"]
    med = "n/a" if h["median"] is None else f"{h['median']:.3f}"
    mn = "n/a" if h["min"] is None else f"{h['min']:.3f}"
    reach = cell["reach"]["median_step"]
    div = f", diverged {cell['diverged']} (seeds {_seeds(cell['diverged_seeds'])})" if cell.get("diverged") else ""
    return (f"cell {where}: learned {cell['learned']}/{cell['n_seeds']}{div} - {cell['metric']} median {med}, min {mn}"
            f" - median step to 0.99: {'never' if reach is None else int(reach)}")


def _seeds(seeds: list[int], most: int = 8) -> str:
    return ", ".join(map(str, seeds[:most])) + (f", ... ({len(seeds)} in all)" if len(seeds) > most else "")


def diverged_line(report: dict) -> str | None:
    """'error: 4 of 8 learners diverged (lag=1: seeds 0, 1; ...)': a diverged learner is never a result."""
    n = report.get("diverged", 0)
    if not n:
        return None
    where = "; ".join(" ".join(f"{k}={v}" for k, v in c["changes"].items())
                      + f": seeds {_seeds(c['diverged_seeds'])}" for c in report["cells"] if c.get("diverged"))
    total = sum(c["n_seeds"] for c in report["cells"])
    return (f"error: {n} of {total} learners diverged (a non-finite loss, weight or optimizer state; they count as "
            f"diverged, not as a held-out figure): {where}")


def write_outputs(args, report: dict) -> int:
    """Write the requested files as one unit (core.atomic_io.write_files: all or none of them change); 0, or 1
    after one line on stderr when a file cannot be written."""
    jobs = [(args.report, "--report", report_json), (args.csv, "--csv", report_csv)]
    if args.png or args.svg:
        from core.sweep.render import render_png, render_svg

        jobs += [(args.png, "--png", render_png), (args.svg, "--svg", render_svg)]
    items = [(path, make(report)) for path, _, make in jobs if path]
    if not items:
        return 0
    try:
        write_files(items)
    except LabFileError as e:
        log.error(f"error: {e.message}; nothing was written (every previous output file is intact)")
        return 1
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    start_logging(args)
    if (why := check_device(args.sweep_device)) is not None:
        log.error(f"error: --device {args.sweep_device}: {why}")
        return 2
    if args.max_batch is None:
        args.max_batch = DEFAULT_MAX_BATCH[args.sweep_device]
    try:
        base = config_from_args(args, mode="online")
    except ConfigError as e:
        log.error(config_flag_error(e))
        return 2
    for flag in ("--report", "--csv", "--png", "--svg"):  # before any training, so no work is lost
        path = getattr(args, flag[2:])
        why = None if path is None else check_writable(path)
        if why is not None:
            log.error(f"error: {flag}: cannot write {path!r}: {why}")
            return 2
    for flag, v in (("--reach-window", args.reach_window), ("--max-batch", args.max_batch)):
        if v < 1:
            log.error(f"error: {flag}: must be >= 1")
            return 2
    axes = []
    for flag, spec in (("--x", args.x), ("--y", args.y)):
        if spec is None:
            continue
        try:
            axes.append(parse_axis(spec, base))
        except AxisError as e:
            log.error(f"error: {flag} {e}")
            return 2
    try:
        plan = plan_sweep(base, axes, args.seeds, max_batch=args.max_batch, reach_window=args.reach_window)
    except AxisError as e:
        log.error(f"error: {e}")
        return 2
    where, why = where_from_args(args, default=1 if args.sweep_device == "cuda" else None)
    if where is None:
        log.error(why)
        return 2
    if args.workers is None and where.scheduler is None and plan.learner_steps < SMALL_SWEEP:
        where = Where(1)  # a few seconds' work: starting workers would cost more than it saves
    import torch

    torch.set_num_threads(1)
    say = log.info  # on stderr unless --quiet, and in the log file
    n_cells = len(plan.cells)
    col = SweepCollector(plan)
    col.engine = engine_info(args.sweep_device, {c.cfg.train.rule for c in plan.cells})
    say(f"sweep: {n_cells} cells x {plan.seeds} seeds = {n_cells * plan.seeds} learners in {len(plan.batches)} "
        f"batch(es), {plan.learner_steps:,} learner-steps; {describe(col.engine)}, {where.describe()}")
    partial = False
    last = 0.0
    cells_done = 0
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl+C or kill -INT keeps what finished, even
    sigterm_as_interrupt()  # when started from a shell that ignores SIGINT for background jobs; SIGTERM too
    try:
        for ev in sweep_events(plan, col, where, args.sweep_device):
            if ev["type"] == "cell":
                say(cell_line(ev["cell"]))
                cells_done += 1
            elif time.perf_counter() - last >= 2.0:
                last = time.perf_counter()
                part = "batch" if where.in_process else "chunks done"
                at = ev["batch"] + 1 if where.in_process else ev["batch"]
                say(f"{part} {at}/{ev['n_batches']} - {cells_done}/{n_cells} cells - "
                    f"{100 * ev['done'] / max(1, ev['total']):.1f}% - "
                    f"{ev['done'] / max(ev['elapsed'], 1e-9):,.0f} learner-steps/s - ETA {_eta(ev['eta'])}")
    except KeyboardInterrupt:
        partial = True
        log.warning("interrupted: writing what finished (partial)")
    report = col.report(partial)
    rc = write_outputs(args, report)
    if (line := diverged_line(report)) is not None:
        log.error(line)
    if report["missing"]:
        log.error(f"error: {len(report['missing'])} learner(s) missing: a worker process died on them twice (their "
                  "cells are not done; no figure was made up)")
    print(json.dumps({"cells_done": report["cells_done"], "cells_total": report["cells_total"],
                      "partial": report["partial"], "elapsed_s": round(report["elapsed_s"], 2),
                      "learner_steps_per_second": round(report["learner_steps_per_second"] or 0, 1),
                      "peak_rss_mb": report["peak_rss_mb"], "device": args.sweep_device,
                      "diverged": report["diverged"], "missing": len(report["missing"]), **where.to_dict()}))
    return rc or (130 if partial else 4 if report["missing"] else 3 if report["diverged"] else 0)
