"""`python main.py claims`: measure the thread's claims, write the JSON report and the markdown table.

    python main.py claims [--seeds 8] [--only KEY[,KEY]] [--report claims.json] [--markdown claims.md]

This module owns the report (`run_all` -> a JSON-able dict: the claims with their configs, verdicts and
figures, the seeds, the machine's load, the total time), its markdown table (`to_markdown`), the shipped
results (`load_shipped`: resources/claims.json, refreshed by this command) and `thread_items`, the Qt-free
list a window shows (title, quote, config, what to look at, verdict). Progress goes to stderr, one line per
claim; Ctrl+C stops and keeps the claims already measured.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.atomic_io import LabFileError, check_writable, write_bytes
from core.cli.train import MAX_THREADS, finite_or_null
from core.runs.claims import CLAIMS, THREAD_URL, VERDICTS, RunCache, claim_by_key, run_claim

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "claims.json"
NOT_MEASURED = "not measured yet"


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def run_all(seeds: int = 8, keys=None, scale: float = 1.0,
            progress: Callable[[str], object] | None = None) -> dict:
    """Measure the claims (all, or those in `keys`) over seeds 0..seeds-1 and return the report dict.

    A KeyboardInterrupt stops after the claim in progress is dropped; the report then holds the finished ones
    and "interrupted": true."""
    import torch

    say = progress or (lambda *_: None)
    todo = [claim_by_key(k) for k in keys] if keys else list(CLAIMS)
    seed_list = list(range(seeds))
    report = {"thread": THREAD_URL, "created": _dt.datetime.now().isoformat(timespec="seconds"),
              "seeds": seed_list, "scale": scale, "interrupted": False,
              "machine": {"cpus": os.cpu_count(), "load_start": _load(), "torch": torch.__version__,
                          "torch_threads": torch.get_num_threads()},
              "claims": []}
    cache = RunCache(scale=scale)
    t0 = time.perf_counter()
    for i, claim in enumerate(todo, 1):
        say(f"[{i}/{len(todo)}] {claim.key}: {claim.title} ({seeds} seeds) ...")
        try:
            res = run_claim(claim, seed_list, cache)
        except KeyboardInterrupt:
            report["interrupted"] = True
            say(f"interrupted during {claim.key}; keeping the {i - 1} claim(s) measured")
            break
        say(f"[{i}/{len(todo)}] {claim.key}: {res.verdict} ({res.elapsed_s:.1f} s)")
        report["claims"].append({**claim.to_dict(), **res.to_dict()})
    report["elapsed_s"] = time.perf_counter() - t0
    report["machine"]["load_end"] = _load()
    return report


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _config_text(c: dict) -> str:
    t, m, tr = c["task"], c["model"], c["train"]
    head = (f"{t['kind']} lag {t['lag']}, P(x=1) {t['p']:g}; {m['units']} units, readout {m['readout']}, "
            f"init {m['init']}")
    if tr["mode"] == "batch":
        return (f"{head}; batch {tr['batch_size']}, {tr['n_sequences']:,} x {tr['seq_len']}, {tr['epochs']} epochs, "
                f"validation {tr['validation_split']:g}")
    rule = "RTRL" if tr["rule"] == "rtrl" else f"window {tr['window']}"
    return f"{head}; online, {rule}, {tr['steps']:,} steps"


def _tested_text(c: dict) -> str:
    against = "; ".join(x["label"] for x in c.get("compare", []))
    return _config_text(c["config"]) + (f" (against: {against})" if against else "")


def to_markdown(report: dict) -> str:
    """The report as a table a user could paste into the thread, with a header saying how it was measured."""
    m = report["machine"]
    n = len(report["seeds"])
    lines = [f"# The thread, claim by claim ({THREAD_URL})", "",
             f"Measured {report['created']} by `python main.py claims --seeds {n}`: seeds "
             f"{report['seeds'][0]}-{report['seeds'][-1]}, {report['elapsed_s']:.0f} s in all on {m['cpus']} CPUs "
             f"(load average {m['load_start']} at the start, {m['load_end']} at the end), torch {m['torch']}."]
    if report.get("scale", 1) < 1:
        lines.append(f"**Smoke run at {report['scale']:g} of the steps: these verdicts mean nothing.**")
    if report.get("interrupted"):
        lines.append("**Interrupted: only the claims below were measured.**")
    lines += ["", "| # | who | claim | tested with | holds if | measured | verdict | why |",
              "|---|---|---|---|---|---|---|---|"]
    for i, c in enumerate(report["claims"], 1):
        lines.append("| " + " | ".join(_cell(v) for v in (
            i, c["who"], f"{c['title']}: \"{c['quote']}\"", _tested_text(c), c["holds_if"], c["measured"],
            f"**{c['verdict']}**", c["why"])) + " |")
    return "\n".join(lines) + "\n"


def load_shipped(path: Path | str | None = None) -> dict | None:
    """The last report (resources/claims.json unless `path`), or None when it is missing or unreadable."""
    p = Path(path) if path else SHIPPED
    try:
        rep = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return rep if isinstance(rep, dict) and isinstance(rep.get("claims"), list) else None


def thread_items(report: dict | None = None) -> list[dict]:
    """The claims in order for a window: key, title, who, quote, config (Config.to_dict()), look_at, holds_if,
    verdict (NOT_MEASURED when the report lacks it), measured and why ("" then), from `report` or the shipped
    one."""
    rep = report if report is not None else load_shipped()
    done = {c.get("key"): c for c in (rep or {}).get("claims", []) if isinstance(c, dict)}
    items = []
    for claim in CLAIMS:
        got = done.get(claim.key, {})
        verdict = got.get("verdict") if got.get("verdict") in VERDICTS else NOT_MEASURED
        items.append({**claim.to_dict(), "verdict": verdict, "measured": got.get("measured", ""),
                      "why": got.get("why", "")})
    return items


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"error: {message}\n")


def main(argv=None) -> int:
    p = _Parser(prog="main.py claims", description="Reproduce the seed thread's claims, each with a verdict.")
    p.add_argument("--seeds", type=int, default=8, metavar="N", help="seeds 0..N-1 per run (8)")
    p.add_argument("--only", default=None, metavar="KEY[,KEY]",
                   help="measure only these claims: " + ", ".join(c.key for c in CLAIMS))
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--markdown", metavar="FILE.md", help="write the markdown table here")
    p.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="fraction of each run's steps and epochs (1; less only for a smoke test)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch CPU threads (1)")
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
    keys = [k.strip() for k in a.only.split(",") if k.strip()] if a.only else None
    try:
        for k in keys or []:
            claim_by_key(k)
    except KeyError as e:
        print(f"error: --only: {e.args[0]}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(a.threads)
    report = run_all(a.seeds, keys, a.scale, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"{len(report['claims'])} claim(s) in {report['elapsed_s']:.1f} s (load average "
          f"{report['machine']['load_start']} -> {report['machine']['load_end']})", file=sys.stderr)
    md = to_markdown(report)
    for path, text in ((a.report, json.dumps(finite_or_null(report), indent=1, allow_nan=False)), (a.markdown, md)):
        if path:
            try:
                write_bytes(path, (text + ("" if text.endswith("\n") else "\n")).encode("utf-8"))
            except LabFileError as e:
                print(f"error: {e.message}; nothing was written (a previous file is intact)", file=sys.stderr)
                return 1
    for c in report["claims"]:
        print(f"{c['key']}: {c['verdict']} - {c['measured']}")
    return 130 if report["interrupted"] else 0
