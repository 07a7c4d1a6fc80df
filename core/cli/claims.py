"""`python main.py claims`: measure the thread's claims (core.runs.claims_report), write the JSON report and the
markdown table.

    python main.py claims [--seeds 8] [--only KEY[,KEY]] [--report claims.json] [--markdown claims.md] [--quiet]
                          [--workers N | --scheduler ADDRESS]

Progress goes to stderr: a line as each claim starts and ends, each with the time so far and an ETA (from the
shipped report's times per claim, corrected by the speed seen), and on a terminal a live line after each training
run; --quiet leaves only warnings and errors. The result goes to stdout as one JSON line (each claim's key, verdict
and measured figure). Ctrl+C stops and keeps the claims already measured. A bad flag or an output path that cannot
be written exits 2 with one line, before anything is measured. The training runs go to N worker processes
(--workers; default: the cores this process may use) or a Dask cluster (--scheduler), one task per run; the claims
are then judged here from them, with the same verdicts and figures (core/runs/claims.py).
"""

from __future__ import annotations

import json
import logging
import sys

from core.atomic_io import LabFileError, check_writable, write_files
from core.cli.flags import MAX_THREADS, Parser, nonempty, report_json, start_logging, strict_float, strict_int
from core.cli.progress import Eta, LiveLine
from core.cli.where import add_where_flags, sigterm_as_interrupt, where_from_args
from core.runs.claims import CLAIMS, claim_by_key
from core.runs.claims_report import expected_seconds, run_all, to_markdown

EXIT_CODES = {0: "done", 1: "an output could not be written (every previous output file is intact)",
              2: "a bad flag or output path (checked before measuring)",
              130: "interrupted (Ctrl-C): the claims measured so far are written"}
log = logging.getLogger(__name__)


def build_parser() -> Parser:
    p = Parser("claims", exit_codes=EXIT_CODES,
               description="Reproduce the seed thread's claims, each with a verdict (about 4 minutes on 2 cores at "
               "8 seeds). Progress with an ETA goes to stderr, the verdicts (one JSON line) to stdout.")
    p.add_argument("--seeds", type=strict_int, default=8, metavar="N", help="seeds 0..N-1 per run (8)")
    p.add_argument("--only", default=None, metavar="KEY[,KEY]", type=nonempty,
                   help="measure only these claims: " + ", ".join(c.key for c in CLAIMS))
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--markdown", metavar="FILE.md", help="write the markdown table here")
    p.add_argument("--scale", type=strict_float, default=1.0, metavar="F",
                   help="fraction of each run's steps and epochs (1; less only for a smoke test)")
    p.add_argument("--threads", type=strict_int, default=1, metavar="N",
                   help="torch CPU threads (1; in this process, i.e. with --workers 1)")
    add_where_flags(p, "claims' training runs")
    p.add_argument("--quiet", action="store_true", help="no progress (warnings and errors still on stderr)")
    return p


def check(a) -> tuple[str | None, list[str] | None]:
    """(the first problem as its one line, or None; the claim keys asked for, or None for all)."""
    if not 1 <= a.seeds <= 1000:
        return "error: --seeds: must be between 1 and 1000", None
    if not 0 < a.scale <= 1:
        return "error: --scale: must be in (0, 1]", None
    if not 1 <= a.threads <= MAX_THREADS:
        return f"error: --threads: must be between 1 and {MAX_THREADS}", None
    for flag, path in (("--report", a.report), ("--markdown", a.markdown)):  # before measuring anything
        why = None if path is None else check_writable(path)
        if why is not None:
            return f"error: {flag}: cannot write {path!r}: {why}", None
    keys = [k.strip() for k in a.only.split(",")] if a.only is not None else None
    if keys is not None and not all(keys):
        return f"error: --only: an empty claim key in {a.only!r}; keys: {', '.join(c.key for c in CLAIMS)}", None
    try:
        for k in keys or []:
            claim_by_key(k)
    except KeyError as e:
        return f"error: --only: {e.args[0]}", None
    return None, keys


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    start_logging(a)
    problem, keys = check(a)
    if problem is not None:
        log.error(problem)
        return 2
    where, why = where_from_args(a)
    if where is None:
        log.error(why)
        return 2
    import torch

    torch.set_num_threads(a.threads)
    import signal

    todo = keys or [c.key for c in CLAIMS]
    # on workers the runs go in parallel first (then the claims are only judged): the expected time is shared
    share = 1 if where.in_process else max(1, where.workers)
    eta = Eta({k: s * a.scale / share for k, s in expected_seconds(todo, a.seeds).items()})
    live = LiveLine(sys.stderr, live=None if not a.quiet else False)

    def say(line: str) -> None:
        live.clear()
        log.info(f"{line} - {eta.text()}")

    def ran(what: str) -> None:
        live.show(f"  ... {what} done - {eta.text()}")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C now keeps the claims measured so far
    sigterm_as_interrupt()
    report = run_all(a.seeds, keys, a.scale, progress=say, on_run=ran, on_claim=lambda k, _s: eta.finished(k),
                     where=where, on_prefetched=lambda: eta.finish_all(todo))
    live.clear()
    log.info(f"{len(report['claims'])} claim(s) in {report['elapsed_s']:.1f} s (load average "
             f"{report['machine']['load_start']} -> {report['machine']['load_end']})")
    md = to_markdown(report)
    items = [(path, data + (b"" if data.endswith(b"\n") else b"\n"))
             for path, data in ((a.report, report_json(report)), (a.markdown, md.encode("utf-8"))) if path]
    try:
        write_files(items)  # one unit: both or neither change
    except LabFileError as e:
        log.error(f"error: {e.message}; nothing was written (every previous output file is intact)")
        return 1
    print(json.dumps({"claims": [{"key": c["key"], "verdict": c["verdict"], "measured": c["measured"]}
                                 for c in report["claims"]], "interrupted": report["interrupted"],
                      "elapsed_s": round(report["elapsed_s"], 1)}, ensure_ascii=False))
    return 130 if report["interrupted"] else 0
