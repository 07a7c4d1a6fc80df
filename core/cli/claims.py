"""`python main.py claims`: measure the thread's claims (core.runs.claims_report), write the JSON report and the
markdown table.

    python main.py claims [--seeds 8] [--only KEY[,KEY]] [--report claims.json] [--markdown claims.md]

Progress goes to stderr, one line per claim; Ctrl+C stops and keeps the claims already measured. A bad flag or an
output path that cannot be written exits 2 with one line, before anything is measured.
"""

from __future__ import annotations

import sys

from core.atomic_io import LabFileError, check_writable, write_files
from core.cli.flags import MAX_THREADS, Parser, nonempty, report_json, strict_float, strict_int
from core.runs.claims import CLAIMS, claim_by_key
from core.runs.claims_report import run_all, to_markdown


def main(argv=None) -> int:
    p = Parser(prog="main.py claims", description="Reproduce the seed thread's claims, each with a verdict.")
    p.add_argument("--seeds", type=strict_int, default=8, metavar="N", help="seeds 0..N-1 per run (8)")
    p.add_argument("--only", default=None, metavar="KEY[,KEY]", type=nonempty,
                   help="measure only these claims: " + ", ".join(c.key for c in CLAIMS))
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--markdown", metavar="FILE.md", help="write the markdown table here")
    p.add_argument("--scale", type=strict_float, default=1.0, metavar="F",
                   help="fraction of each run's steps and epochs (1; less only for a smoke test)")
    p.add_argument("--threads", type=strict_int, default=1, metavar="N", help="torch CPU threads (1)")
    a = p.parse_args(argv)
    if not 1 <= a.seeds <= 1000:
        print("error: --seeds: must be between 1 and 1000", file=sys.stderr)
        return 2
    if not 0 < a.scale <= 1:
        print("error: --scale: must be in (0, 1]", file=sys.stderr)
        return 2
    if not 1 <= a.threads <= MAX_THREADS:
        print(f"error: --threads: must be between 1 and {MAX_THREADS}", file=sys.stderr)
        return 2
    for flag, path in (("--report", a.report), ("--markdown", a.markdown)):  # before measuring anything
        why = None if path is None else check_writable(path)
        if why is not None:
            print(f"error: {flag}: cannot write {path!r}: {why}", file=sys.stderr)
            return 2
    keys = [k.strip() for k in a.only.split(",")] if a.only is not None else None
    if keys is not None and not all(keys):
        print(f"error: --only: an empty claim key in {a.only!r}; keys: {', '.join(c.key for c in CLAIMS)}",
              file=sys.stderr)
        return 2
    try:
        for k in keys or []:
            claim_by_key(k)
    except KeyError as e:
        print(f"error: --only: {e.args[0]}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(a.threads)
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C now keeps the claims measured so far
    report = run_all(a.seeds, keys, a.scale, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"{len(report['claims'])} claim(s) in {report['elapsed_s']:.1f} s (load average "
          f"{report['machine']['load_start']} -> {report['machine']['load_end']})", file=sys.stderr)
    md = to_markdown(report)
    items = [(path, data + (b"" if data.endswith(b"\n") else b"\n"))
             for path, data in ((a.report, report_json(report)), (a.markdown, md.encode("utf-8"))) if path]
    try:
        write_files(items)  # one unit: both or neither change
    except LabFileError as e:
        print(f"error: {e.message}; nothing was written (every previous output file is intact)", file=sys.stderr)
        return 1
    for c in report["claims"]:
        print(f"{c['key']}: {c['verdict']} - {c['measured']}")
    return 130 if report["interrupted"] else 0
