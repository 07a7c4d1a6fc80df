"""The question's words, "RNN cells can not cope with this simple task", tested on each classic cell.

This module owns the runs of the claim `cells-cope` (`CELL_RUNS`: the question's task, NOT x[t-1] with
P(x=1) = 1/4, online with window 1 (TBPTT(1)) for the 20,000 steps of the other online claims, on the raw state
and with a linear readout, for the simple RNN, the GRU and the LSTM) and its measurement (`measure_cells`): each
run's seeds are judged by the one verdict rule (core.runs.claim_runs.online_figures), each cell gets its words
(`cell_words`: "rnn: learns with a readout, fails on the raw state") and the claim its verdict (`cells_verdict`)
from those counts, never from a fixed answer. core/runs/claims.py lists the claim with the others.
"""

from __future__ import annotations

from core.config import Config, preset
from core.runs.claim_runs import VERDICTS, RunCache, dist_text, diverged_text, online_figures

CELL_ORDER = ("rnn", "gru", "lstm")  # the README map's order (--y cell=rnn,gru,lstm)
RAW, READOUT = "raw state", "readout"


def _runs() -> tuple[tuple[str, Config], ...]:
    q, qf = preset("question"), preset("question-fixed")  # raw state / linear readout; the rest the same
    return tuple((f"{cell}, {what}", cfg.replace(cell=cell)) for cell in CELL_ORDER
                 for what, cfg in ((RAW, q), (READOUT, qf)))


CELL_RUNS = _runs()  # ("rnn, raw state", cfg), ("rnn, readout", cfg), ... : the claim's own run first


def _part(learned: int, n: int, where: str) -> str:
    if learned == n:
        return f"learns {where}"
    return f"fails {where}" if learned == 0 else f"learns {where} on {learned}/{n} seeds"


def cell_words(cell: str, readout: tuple[int, int], raw: tuple[int, int]) -> str:
    """One cell's verdict in words from (seeds learned, seeds) with a readout and on the raw state, e.g.
    'rnn: learns with a readout, fails on the raw state'."""
    return f"{cell}: {_part(*readout, 'with a readout')}, {_part(*raw, 'on the raw state')}"


def cells_verdict(counts: dict[str, dict[str, tuple[int, int]]]) -> str:
    """The claim's verdict from each cell's (learned, seeds) per run ({cell: {RAW: (k, n), READOUT: (k, n)}}):
    'holds' when no seed of any cell learns in either run; 'does not hold' when every cell learns every seed in
    one of them (it copes); 'holds with a caveat' in between."""
    def copes(c: dict) -> bool:
        return any(k == n for k, n in c.values())

    if all(copes(c) for c in counts.values()):
        return VERDICTS[2]
    if all(k == 0 for c in counts.values() for k, _ in c.values()):
        return VERDICTS[0]
    return VERDICTS[1]


def measure_cells(cl, seeds, cache: RunCache):
    """(verdict, measured, why, figures) of the claim: its own run and those it is measured against, read off the
    configs (cell, readout), so its labels name nothing the figures rest on."""
    runs: dict[str, dict[str, dict]] = {}
    for cfg in (cl.config, *(c for _, c in cl.compare)):
        what = RAW if cfg.model.readout == "raw" else READOUT
        runs.setdefault(cfg.model.cell, {})[what] = online_figures(cache, cfg, seeds)
    counts = {cell: {w: (f["learned"], f["n"]) for w, f in r.items()} for cell, r in runs.items()}
    words = {cell: cell_words(cell, c[READOUT], c[RAW]) for cell, c in counts.items()}
    verdict = cells_verdict(counts)
    measured = "; ".join(
        f"{cell}: raw state {r[RAW]['learned']}/{r[RAW]['n']} learned{diverged_text(r[RAW]['diverged_seeds'])} "
        f"(held-out {dist_text(r[RAW]['heldout'])}), readout {r[READOUT]['learned']}/{r[READOUT]['n']}"
        f"{diverged_text(r[READOUT]['diverged_seeds'])} (held-out {dist_text(r[READOUT]['heldout'])})"
        for cell, r in runs.items())
    steps = next(iter(next(iter(runs.values())).values()))["steps"]
    why = f"Per cell, each seed judged on its held-out steps after {steps:,} online steps with window 1: "
    why += "; ".join(words.values()) + ". "
    raw_is_why = [cell for cell, c in counts.items() if c[RAW][0] == 0 and c[READOUT][0] == c[READOUT][1]]
    if len(raw_is_why) == len(counts):
        why += ("Every cell fails on its raw state and learns with a readout, so the cells cope: the loss on the "
                "raw state is what fails (claim 1), whichever the cell.")
    elif verdict == VERDICTS[0]:
        why += "No cell learned with or without a readout in these steps."
    else:
        cope = [cell for cell, c in counts.items() if any(k == n for k, n in c.values())]
        rest = [cell for cell in counts if cell not in cope]
        why += (f"Every seed learned in one of the two runs for: {', '.join(cope) or 'no cell'}; not for: "
                f"{', '.join(rest) or 'no cell'}.")
    figures = {cell: {**r, "verdict": words[cell]} for cell, r in runs.items()}
    return verdict, measured, why, {**figures, "verdicts": words}
