"""The seed thread's claims, each with the run that tests it, what counts as holding, and a measured verdict.

This module owns the list of claims (`CLAIMS`: title, who said it, the quote, the config to load, what to look
at, what counts as holding; no Qt, for the command line and the window) and their measurement (`run_claim`):
each claim trains its configs over several seeds with `core.runs.headless.train` (runs shared between claims through
a `RunCache`, core/runs/claim_runs.py), and a few "why" figures come from one seed's model trained again by hand
(the memory probe, the range of the raw state, how often it predicts 1). A verdict is one of VERDICTS, by the rule
in `holds_if`. The question's words across the three cells are measured in core/runs/claims_cells.py.
The report, the markdown table and the `main.py claims` command live in core/runs/claims_report.py.
On workers or a cluster (core.workers), `RunCache.prefetch` trains every (config, seed) the claims need
(`runs_of`) as one task each before the claims are judged; each run is the same wherever it ran, so the verdicts
and figures are too. A run a dead worker took twice is trained here when a claim asks for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.config import Config, preset
from core.runs.claim_runs import (
    PROBE_STEPS,
    STALL,
    VERDICTS,
    RunCache,
    batch_figures,
    by_count,
    dist_text,
    online_figures,
    scaled,
    stl_text,
)
from core.runs.claims_cells import CELL_RUNS, measure_cells
from core.tasks import base_rate

THREAD_URL = "https://ai.stackexchange.com/questions/33995/is-my-intuition-about-rnn-wrong"
THREAD_LOSS = {1: 1.137, 10: 0.329, 50: 0.010}  # the answer's one printed run


@dataclass(frozen=True)
class Claim:
    key: str
    title: str
    who: str  # "question", "answer" or "this app"
    quote: str
    config: Config  # the run to load in the window
    look_at: str  # one line: what to look at in the window
    holds_if: str
    compare: tuple[tuple[str, Config], ...] = ()  # the other runs it is measured against
    label: str = ""  # what its own run is called beside the others ("" : just "Run")

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "who": self.who, "quote": self.quote,
                "config": self.config.to_dict(), "look_at": self.look_at, "holds_if": self.holds_if,
                "compare": [{"label": lab, "config": c.to_dict()} for lab, c in self.compare], "label": self.label}


@dataclass(frozen=True)
class ClaimResult:
    key: str
    verdict: str
    measured: str  # the distributions, in words
    why: str
    seeds: tuple[int, ...]
    elapsed_s: float
    figures: dict = field(default_factory=dict)  # the numbers behind `measured`, per run and seed

    def to_dict(self) -> dict:
        return {"key": self.key, "verdict": self.verdict, "measured": self.measured, "why": self.why,
                "seeds": list(self.seeds), "elapsed_s": self.elapsed_s, "figures": self.figures}


_Q, _QF, _A = preset("question"), preset("question-fixed"), preset("answer")
_LAG3 = _QF.replace(lag=3, steps=30000)

CLAIMS: tuple[Claim, ...] = (
    Claim("cannot-cope", "Online, the GRU cannot learn NOT of the previous bit", "question",
          "RNN cells can not cope with this simple task.", _Q,
          "the accuracy sits on the base-rate line (0.75) and the prediction is 1 almost everywhere; the Hints "
          "tab names the raw readout",
          "no seed reaches a held-out accuracy of 0.99 in 20,000 online steps (the failure reproduces)"),
    Claim("answer-learns", "A batch GRU of 2 units (33 parameters) learns Y = 1 - X; its one printed run: loss "
          "1.137, 0.329, 0.010 at epochs 1, 10, 50", "answer", "I got this batch-based GRU to work", _A,
          "the per-epoch val_loss falls towards 0.01; the portrait of the 2 units splits in two by x[t]",
          "33 parameters and every seed's val_loss below 0.1 after 50 epochs (a caveat if only some)"),
    Claim("eight-units", "8 units converge faster", "answer",
          "Using 8 units helps it to converge faster, after 10 epochs the loss is about 0.1",
          _A.replace(units=8, epochs=10),
          "pin the 2-unit run (Compare) and start this one: its loss falls faster over the first 10 epochs",
          "the median loss after 10 epochs is lower with 8 units than with 2, and between 0.05 and 0.2",
          (("2 units", _A),)),
    Claim("readout-fixes", "A readout fixes the online version", "answer",
          "Adding [a readout] to your online version seems to fix it", _QF,
          "the accuracy leaves the base-rate line and reaches 1; the memory probe shows x[t-1] in h[t]",
          "every seed reaches a held-out accuracy of 0.99 (a caveat if only some)", (("raw state", _Q),)),
    Claim("unreliable", "Online learning is unreliable because of the batch size of one", "answer",
          "the learning is quite unreliable, maybe due to the batch size of one", _QF,
          "run several seeds (Seeds): lag 1 learns every seed; at lag 3 window 1 some seeds stay at the base "
          "rate, while window 4 and RTRL, still one sample per update, learn them all",
          "some seeds of the online version with a readout (lag 1, window 1) fail, and so do batch-1 runs with "
          "a full gradient (window > lag, or RTRL); a caveat if only the first",
          (("lag 1, window 2", _QF.replace(window=2)), ("lag 3, window 1", _LAG3),
           ("lag 3, window 4", _LAG3.replace(window=4)), ("lag 3, RTRL", _LAG3.replace(rule="rtrl")))),
    Claim("tanh-range", "The raw state cannot leave [-1, 1]", "answer",
          "the GRU's activation function is tanh, so it cannot even produce values outside of the range "
          "from -1 to 1", _Q,
          "the hidden heatmap stays within [-1, 1]; with lag 0 (the question's SAME = True) the raw state "
          "learns, so the range is not what stops it",
          "the raw state stays within [-1, 1]; a caveat if the raw state still learns targets inside that range "
          "(lag 0), i.e. the range is not the cause", (("raw state, lag 0 (SAME)", _Q.replace(lag=0)),)),
    Claim("window-vs-rtrl", "Lag 3: a window shorter than the lag is unreliable, RTRL is not", "this app",
          "A truncation window that does not reach the remembered input cannot teach the memory; a window of "
          "lag + 1 or RTRL's exact gradient learns every seed.", _LAG3.replace(rule="rtrl"),
          "the memory probe reaches k = 3 and the portrait splits in two by x[t-3]; with window 1 a failing "
          "seed's does not",
          "RTRL and window 4 learn every seed in 30,000 steps while window 1 misses some (a caveat if window 1 "
          "learns every seed too)", (("window 1", _LAG3), ("window 4", _LAG3.replace(window=4)))),
    Claim("cells-cope", "Every classic cell (the simple RNN, the LSTM, the GRU), online with window 1: raw state "
          "against a readout", "question", "RNN cells can not cope with this simple task.", CELL_RUNS[0][1],
          "run each cell on its raw state, then with a readout: with the readout the accuracy leaves the base-rate "
          "line (0.75); on the raw state it stays there",
          "no seed of any cell learns NOT x[t-1] in 20,000 online steps (window 1), on the raw state or with a "
          "readout; does not hold if every cell learns every seed in one of the two (a caveat in between)",
          CELL_RUNS[1:], CELL_RUNS[0][0]),
)


def claim_by_key(key: str) -> Claim:
    for c in CLAIMS:
        if c.key == key:
            return c
    raise KeyError(f"unknown claim {key!r}; choose from {', '.join(c.key for c in CLAIMS)}")


def runs_of(claim: Claim) -> tuple[Config, ...]:
    """The configs a claim trains over its seeds (its measurement asks the cache for exactly these)."""
    own = () if claim.key == "tanh-range" else (claim.config,)  # tanh-range looks inside its config's one seed
    extra = (_QF,) if claim.key == "cannot-cope" else ()
    return own + tuple(c for _, c in claim.compare) + extra



# -- the measurements, one per claim: (verdict, measured, why, figures) ---------------------------------------
def _cannot_cope(cl, seeds, cache):
    q, qf = online_figures(cache, cl.config, seeds), online_figures(cache, _QF, seeds)
    ins = cache.inside(cl.config, seeds[0])
    ones = float(np.mean(ins["y_hat"] >= 0.5))
    bal1 = float(ins["probe"].balanced_accuracy[1])
    failed = q["n"] - q["learned"]
    verdict = VERDICTS[1] if failed == q["n"] else VERDICTS[2]
    measured = (f"held-out accuracy {dist_text(q['heldout'])} over {q['n']} seeds (base rate "
                f"{base_rate(cl.config.task):.2f}); {failed}/{q['n']} seeds failed")
    why = (f"It reproduces, but the cell is not the cause: the loss is on the raw state. Seed {seeds[0]} predicts 1 "
           f"on {100 * ones:.0f}% of held-out steps (the majority class); the memory probe reads x[t-1] from h[t] "
           f"at balanced accuracy {bal1:.2f} (0.5 = chance), but the units' mean cannot use it. The same cell with "
           f"a linear readout learns {qf['learned']}/{qf['n']} seeds.")
    return verdict, measured, why, {"question": q, "question-fixed": qf, "pred_ones": ones, "probe_lag1": bal1}


def _answer_learns(cl, seeds, cache):
    b = batch_figures(cache, cl.config, seeds)
    ok = b["n"] - b["stalled"]
    verdict = by_count(ok, b["n"]) if b["params"] == 33 else VERDICTS[2]
    ep = sorted(b["loss"])
    measured = (f"{b['params']} parameters; training loss " +
                "; ".join(f"epoch {e}: {dist_text(b['loss'][e])}" for e in ep) +
                f"; val_loss at epoch {ep[-1]}: {dist_text(b['val_loss'][ep[-1]], '.4f')}; "
                f"{b['stalled']}/{b['n']} seeds stalled above {STALL}")
    parts = [f"{THREAD_LOSS[e]} at epoch {e} is " + ("inside" if b["loss"][e]["min"] <= THREAD_LOSS[e] <=
                                                     b["loss"][e]["max"] else "outside") + " our seeds' range"
             for e in ep if e in THREAD_LOSS]
    why = "The answer's printed run is one draw: " + ", ".join(parts) + "."
    if b["stalled_seeds"]:
        last = dict(zip(seeds, b["val_loss"][ep[-1]]["values"]))
        stalled = ", ".join(f"seed {s} at {last[s]:.3f}" for s in b["stalled_seeds"])
        why += f" Stalled: {stalled}, against {b['constant_loss']:.3f} for always predicting the mean target"
        near = all(abs(last[s] - b["constant_loss"]) <= 0.1 * b["constant_loss"] for s in b["stalled_seeds"])
        why += f": no better than that guess, the state had not picked up x[t] after {ep[-1]} epochs." if near else "."
    return verdict, measured, why, b


def _eight_units(cl, seeds, cache):
    # the epoch both runs reach (10 unless a smoke scale shortens one of them), read off each
    e = min(10, *(scaled(c, cache.scale).train.epochs for c in (cl.config, cl.compare[0][1])))
    b8, b2 = batch_figures(cache, cl.config, seeds, e), batch_figures(cache, cl.compare[0][1], seeds, e)
    m8, m2 = b8["loss"][e]["median"], b2["loss"][e]["median"]
    faster = sum(a < b for a, b in zip(b8["loss"][e]["values"], b2["loss"][e]["values"]))
    about = 0.05 <= m8 <= 0.2
    verdict = VERDICTS[0] if m8 < m2 and about else (VERDICTS[1] if m8 < m2 else VERDICTS[2])
    measured = (f"training loss after {e} epochs: 8 units {dist_text(b8['loss'][e])}, 2 units "
                f"{dist_text(b2['loss'][e])}; 8 units lower on {faster}/{b8['n']} seeds")
    why = (f"Faster: {'yes' if m8 < m2 else 'no'} (median {m8:.3f} against {m2:.3f}, lower on {faster}/{b8['n']} "
           f"seeds); 'about 0.1': {'yes' if about else 'no'} (read as 0.05 to 0.2).")
    return verdict, measured, why, {"8 units": b8, "2 units": b2, "epoch": e}


def _readout_fixes(cl, seeds, cache):
    qf, q = online_figures(cache, cl.config, seeds), online_figures(cache, cl.compare[0][1], seeds)
    b_fixed = float(cache.inside(cl.config, seeds[0])["probe"].balanced_accuracy[1])
    b_raw = float(cache.inside(cl.compare[0][1], seeds[0])["probe"].balanced_accuracy[1])
    verdict = by_count(qf["learned"], qf["n"])
    measured = (f"with a linear readout: {qf['learned']}/{qf['n']} seeds learned, held-out accuracy "
                f"{dist_text(qf['heldout'])}, {stl_text(qf['steps_to_learn'])}; raw state: "
                f"{q['learned']}/{q['n']}")
    why = (f"Both states carry x[t-1]: the memory probe reads it from h[t] at balanced accuracy {b_fixed:.2f} with "
           f"the readout and {b_raw:.2f} from the raw state. The raw state fails because every unit is pulled to "
           f"the same target, so the units' mean cannot turn those traces into NOT x[t-1]; a linear readout "
           f"weighs them.")
    return verdict, measured, why, {"question-fixed": qf, "question": q, "probe_lag1": [b_fixed, b_raw]}


def _unreliable(cl, seeds, cache):
    runs = {"lag 1, window 1": online_figures(cache, cl.config, seeds)}
    runs.update({lab: online_figures(cache, c, seeds) for lab, c in cl.compare})
    base = runs["lag 1, window 1"]
    full = [runs[k] for k in ("lag 1, window 2", "lag 3, window 4", "lag 3, RTRL")]
    full_ok = all(r["learned"] == r["n"] for r in full)
    if base["learned"] == base["n"]:
        verdict = VERDICTS[2]
    else:
        verdict = VERDICTS[1] if full_ok else VERDICTS[0]
    measured = "; ".join(f"{k}: {r['learned']}/{r['n']} learned" for k, r in runs.items())
    measured += f" (lag 1, window 1: {stl_text(base['steps_to_learn'])})"
    w1 = runs["lag 3, window 1"]
    why = ("Every update here sees one sample (batch 1). " +
           ("With a window reaching past the lag or RTRL, batch 1 learned every seed, so the batch size is not "
            "the cause; " if full_ok else "Even full-gradient batch-1 runs missed seeds; ") +
           f"what fails is a truncation window that does not reach the remembered input (lag 3, window 1: "
           f"{w1['learned']}/{w1['n']}). At lag 1, window 1 works because the previous state is itself a "
           f"function of the previous input.")
    return verdict, measured, why, runs


def _tanh_range(cl, seeds, cache):
    ins = cache.inside(cl.config, seeds[0])
    hmax = float(np.abs(ins["h"]).max())
    lab, lag0 = cl.compare[0]
    z = online_figures(cache, lag0, seeds)
    inside_range = hmax <= 1.0
    verdict = VERDICTS[2] if not inside_range else (VERDICTS[1] if z["learned"] > 0 else VERDICTS[0])
    measured = (f"max |h| over {PROBE_STEPS} held-out steps of seed {seeds[0]}: {hmax:.3f}; {lab}: "
                f"{z['learned']}/{z['n']} seeds learned (held-out {dist_text(z['heldout'])})")
    why = (f"{'True' if inside_range else 'Not true'} of the state: h' = (1 - z) n + z h with n = tanh(...) stays in "
           f"[-1, 1]. But the targets 0 and 1 lie in that range, and with lag 0 the raw state learned "
           f"{z['learned']}/{z['n']} seeds")
    why += (", so the range is not what stops the question: every unit is pulled to the same target, and the "
            "traces of x[t-1] the state keeps (claim 1's probe) never reach the units' mean." if z["learned"] else
            ", so these runs cannot tell whether the range matters.")
    return verdict, measured, why, {"max_abs_h": hmax, "lag0": z}


def _window_vs_rtrl(cl, seeds, cache):
    rtrl = online_figures(cache, cl.config, seeds)
    runs = {"RTRL": rtrl, **{lab: online_figures(cache, c, seeds) for lab, c in cl.compare}}
    w1, w4 = runs["window 1"], runs["window 4"]
    if rtrl["learned"] < rtrl["n"] or w4["learned"] < w4["n"]:
        verdict = VERDICTS[2]
    else:
        verdict = VERDICTS[0] if w1["learned"] < w1["n"] else VERDICTS[1]
    measured = "; ".join(f"{k}: {r['learned']}/{r['n']} learned, held-out {dist_text(r['heldout'])}"
                         for k, r in runs.items())
    b_rtrl = float(cache.inside(cl.config, seeds[0])["probe"].balanced_accuracy[3])
    why = f"The memory probe reads x[t-3] from h[t] at balanced accuracy {b_rtrl:.2f} under RTRL (seed {seeds[0]})"
    figures = {**runs, "probe_lag3_rtrl": b_rtrl}
    if w1["failed_seeds"]:
        s = w1["failed_seeds"][0]
        b_w1 = float(cache.inside(cl.compare[0][1], s)["probe"].balanced_accuracy[3])
        why += f" and at {b_w1:.2f} for window 1's failing seed {s}: no gradient reached the step that holds it."
        figures["probe_lag3_window1_failed"] = b_w1
    else:
        why += "; window 1 learned every seed here: a short window can work when the state keeps the input anyway."
    return verdict, measured, why, figures


MEASURES = {"cannot-cope": _cannot_cope, "answer-learns": _answer_learns, "eight-units": _eight_units,
            "readout-fixes": _readout_fixes, "unreliable": _unreliable, "tanh-range": _tanh_range,
            "window-vs-rtrl": _window_vs_rtrl, "cells-cope": measure_cells}


def run_claim(claim: Claim, seeds, cache: RunCache | None = None) -> ClaimResult:
    """Measure one claim over the given seeds (at least one) and give its verdict."""
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("at least one seed is needed")
    cache = cache or RunCache()
    cache.take_charged()
    t0 = time.perf_counter()
    verdict, measured, why, figures = MEASURES[claim.key](claim, seeds, cache)
    # its cost in one process: the time here plus the training of the runs it first used that workers trained
    # (so the next ETA, which reads these times, is right whether or not workers were used)
    cost = time.perf_counter() - t0 + cache.take_charged()
    return ClaimResult(claim.key, verdict, measured, why, seeds, cost, figures)
