"""The claims' report: what `python main.py claims` (core/cli/claims.py) measures and writes.

This module owns the report (`run_all` -> a JSON-able dict: the claims with their configs, verdicts and
figures, the seeds, the machine's load, the total time, the app's version), its markdown table (`to_markdown`),
the shipped results (`load_shipped`: claims.json, shipped with the package and found through core.product.files;
resources/claims.json in a checkout, refreshed by this command), the time each claim took when last measured
(`expected_seconds`, for the command's ETA) and `thread_items`, the Qt-free list a window shows (title, quote,
config, what to look at, verdict). Progress is reported through callbacks (the command puts it on stderr); Ctrl+C
stops and keeps the claims already measured.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.product.about import CHECKOUT, version
from core.product.files import CLAIMS as CLAIMS_FILE
from core.product.files import shipped
from core.runs.claims import CLAIMS, THREAD_URL, VERDICTS, RunCache, claim_by_key, run_claim, runs_of
from core.workers.pool import Where

SHIPPED = shipped(CLAIMS_FILE)  # resources/claims.json in a checkout; gru_memory_lab_resources/claims.json installed
NOT_MEASURED = "not measured yet"


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def run_all(seeds: int = 8, keys=None, scale: float = 1.0, progress: Callable[[str], object] | None = None,
            on_run: Callable[[str], object] | None = None,
            on_claim: Callable[[str, float], object] | None = None, where: Where | None = None,
            on_prefetched: Callable[[], object] | None = None) -> dict:
    """Measure the claims (all, or those in `keys`) over seeds 0..seeds-1 and return the report dict.
    `progress` gets a line as each claim starts and ends, `on_run` a word after each training run, `on_claim`
    (key, seconds) after each claim, `on_prefetched` () once the workers have trained every run (then only the
    judging is left).

    where: workers or a cluster (core.workers) train every run the claims need first, one task each; the claims
    are then judged here from those runs (same verdicts and figures as in one process).
    A KeyboardInterrupt stops after the claim in progress is dropped; the report then holds the finished ones
    and "interrupted": true."""
    import torch

    say = progress or (lambda *_: None)
    todo = [claim_by_key(k) for k in keys] if keys else list(CLAIMS)
    seed_list = list(range(seeds))
    report: dict[str, Any] = {
        "thread": THREAD_URL, "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "seeds": seed_list, "scale": scale, "interrupted": False, "app_version": version(),
        "machine": {"cpus": os.cpu_count(), "load_start": _load(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads()},
        "where": (where or Where()).to_dict(), "claims": []}
    cache = RunCache(scale=scale, on_run=on_run)
    t0 = time.perf_counter()
    if where is not None and not where.in_process:
        say(f"training the claims' runs {where.describe()} ...")
        try:
            cache.prefetch([c for cl in todo for c in runs_of(cl)], seed_list, where)
        except KeyboardInterrupt:
            report["interrupted"] = True
            say("interrupted while training the claims' runs; no claim measured")
            todo = []
        if on_prefetched is not None:
            on_prefetched()
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
        if on_claim is not None:
            on_claim(claim.key, res.elapsed_s)
    report["elapsed_s"] = time.perf_counter() - t0
    report["machine"]["load_end"] = _load()
    return report


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _config_text(c: dict) -> str:
    t, m, tr = c["task"], c["model"], c["train"]
    cell = m.get("cell", "gru")  # a report written before the field ran the GRU
    head = (f"{t['kind']} lag {t['lag']}, P(x=1) {t['p']:g}; {m['units']} units"
            + (f" of cell {cell}" if cell != "gru" else "") + f", readout {m['readout']}, init {m['init']}")
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


def expected_seconds(keys, seeds: int, report: dict | None = None) -> dict[str, float]:
    """How long each claim should take at `seeds` seeds, from the shipped report's times (scaled by its seeds);
    a claim it lacks takes the mean of those it has (one second each when it has none)."""
    rep = report if report is not None else (load_shipped() or {})
    n = len(rep.get("seeds") or []) or 1
    known = {c.get("key"): float(c["elapsed_s"]) * seeds / n for c in rep.get("claims", [])
             if isinstance(c, dict) and isinstance(c.get("elapsed_s"), (int, float)) and c["elapsed_s"] > 0}
    mean = sum(known.values()) / len(known) if known else 1.0
    return {k: known.get(k, mean) for k in keys}


def refresh_command() -> str:
    """How a user measures the claims again: in a checkout, into the shipped file; installed, on this machine."""
    checkout = CHECKOUT / "resources" / CLAIMS_FILE
    if (CHECKOUT / "main.py").is_file() and Path(str(SHIPPED)) == checkout:
        return "python main.py claims --report resources/claims.json"
    return "gru-memory-lab claims --markdown claims.md"


def load_shipped(path: Path | str | None = None) -> dict | None:
    """The last report (the shipped claims.json unless `path`), or None when it is missing or unreadable."""
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
