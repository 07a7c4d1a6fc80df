"""A diverged seed named in each claim's words, from hand-made run results (nothing is trained): every count of
seeds learned says which of them diverged ("2/3 seeds learned (seed 6 diverged)"), whichever run of the claim it
is in; a report that says only `final.diverged` (no verdict code) counts; a batch seed that diverged in exactly
the epoch a claim reads counts as diverged by then. The expected sentences are written out here by hand."""

import numpy as np

from core.runs.claim_runs import batch_figures
from core.runs.claims import _QF, claim_by_key, run_claim
from tests.core.runs.test_claim_evidence import gone_batch
from tests.core.runs.test_claim_verdicts import CAVEAT, HOLDS, Hand, batch, online, probe

NAN = float("nan")


def gone(verdict_code: bool = True) -> dict:
    """An online runner report of a run that diverged at step 700: no held-out figure, its running accuracy 0.9
    (never 0.99, so no steps to learn), `final.diverged` and, unless told not to, the 'diverged' verdict code."""
    final = {"heldout_accuracy": NAN, "heldout_loss": NAN, "heldout_steps": 0,
             "diverged": {"step": 700, "what": "the loss became nan"}}
    if verdict_code:
        final["verdict"] = {"code": "diverged"}
    return {"final": final, "history": {"step": [500], "accuracy": [0.9]}}


# -- cannot-cope ----------------------------------------------------------------------------------------------
def cannot_cope(q_reps, qf_reps):
    cl = claim_by_key("cannot-cope")
    ins = {"y_hat": np.array([0.5, 0.7, 0.1, 0.49, 0.9]), "h": np.zeros((5, 2)), "probe": probe(0.5, 0.93)}
    return run_claim(cl, [3, 5, 9], Hand([(cl.config, q_reps), (_QF, qf_reps)],
                                         [(cl.config, s, ins) for s in (3, 5, 9)]))


INSIDE = ("Seed {} predicts 1 on 60% of held-out steps (the majority class); the memory probe reads x[t-1] from h[t] "
          "at balanced accuracy 0.93 (0.5 = chance), but the units' mean cannot use it.")


def test_a_report_that_says_only_final_diverged_names_its_seed_as_diverged():
    """No 'diverged' verdict code: `final.diverged` alone makes the seed diverged, and the words say so."""
    res = cannot_cope([gone(verdict_code=False), online(0.75), online(0.76)],
                      [online(1.0), online(0.995), online(0.98)])
    assert res.figures["question"]["diverged_seeds"] == [3]
    assert res.measured == ("held-out accuracy median 0.755 [0.750, 0.760] (2/3 seeds have one) over 3 seeds"
                            " (base rate 0.75); 3/3 seeds failed (seed 3 diverged)")
    assert res.why == ("It reproduces, but the cell is not the cause: the loss is on the raw state. " + INSIDE.format(5)
                       + " The same cell with a linear readout learns 2/3 seeds.")


def test_cannot_cope_names_a_seed_that_diverged_with_the_linear_readout():
    res = cannot_cope([online(0.75), online(0.76), online(0.8)], [gone(), online(1.0), online(0.995)])
    assert res.verdict == CAVEAT
    assert res.why == ("It reproduces, but the cell is not the cause: the loss is on the raw state. " + INSIDE.format(3)
                       + " The same cell with a linear readout learns 2/3 seeds (seed 3 diverged).")


# -- readout-fixes --------------------------------------------------------------------------------------------
def test_readout_fixes_names_the_diverged_seeds_of_the_readout_and_of_the_raw_state():
    cl = claim_by_key("readout-fixes")
    raw = cl.compare[0][1]
    runs = [(cl.config, [online(1.0, 1500), gone(), online(0.99, 2000)]),
            (raw, [online(0.75), online(0.76), gone()])]
    res = run_claim(cl, [4, 6, 8], Hand(runs, [(cl.config, 4, {"probe": probe(0.5, 0.97)}),
                                                (raw, 4, {"probe": probe(0.5, 0.88)})]))
    assert res.verdict == CAVEAT
    assert res.measured == ("with a linear readout: 2/3 seeds learned (seed 6 diverged), held-out accuracy median "
                            "0.995 [0.990, 1.000] (2/3 seeds have one), steps to learn median 1,750 [1,500, 2,000], "
                            "1 never; raw state: 0/3 (seed 8 diverged)")


# -- unreliable -----------------------------------------------------------------------------------------------
def test_unreliable_names_each_run_s_diverged_seeds_and_every_full_gradient_run_that_missed():
    cl = claim_by_key("unreliable")
    other = dict(cl.compare)
    runs = [(cl.config, [online(1.0, 1000), online(1.0, 2000), online(0.8)]),
            (other["lag 1, window 2"], [online(0.8), online(1.0, 1000), online(1.0, 1000)]),
            (other["lag 3, window 1"], [online(1.0, 1000), online(0.8), gone()]),
            (other["lag 3, window 4"], [online(1.0, 1000)] * 3),
            (other["lag 3, RTRL"], [gone(), online(0.8), online(1.0, 1000)])]
    res = run_claim(cl, [0, 1, 2], Hand(runs))
    assert res.verdict == HOLDS
    assert res.measured == ("lag 1, window 1: 2/3 learned; lag 1, window 2: 2/3 learned; lag 3, window 1: 1/3 "
                            "learned (seed 2 diverged); lag 3, window 4: 3/3 learned; lag 3, RTRL: 1/3 learned "
                            "(seed 0 diverged) (lag 1, window 1: steps to learn median 1,500 [1,000, 2,000], 1 never)")
    assert res.why == ("Every update here sees one sample (batch 1). Even full-gradient batch-1 runs missed seeds "
                       "(lag 1, window 2: 2/3, lag 3, RTRL: 1/3), so a truncation window that does not reach the "
                       "remembered input is not all that fails (lag 3, window 1: 1/3). At lag 1, window 1 learned 2/3 "
                       "seeds, although the previous state is itself a function of the previous input.")


# -- tanh-range -----------------------------------------------------------------------------------------------
def test_tanh_range_names_a_lag_0_seed_that_diverged():
    cl = claim_by_key("tanh-range")
    lag0 = cl.compare[0][1]
    res = run_claim(cl, [3, 4], Hand([(lag0, [online(1.0), gone()])],
                                     [(cl.config, 3, {"h": np.array([[0.2, -0.95]])})]))
    assert res.verdict == CAVEAT
    assert res.measured == ("max |h| over 2000 held-out steps of seed 3: 0.950; raw state, lag 0 (SAME): 1/2 seeds "
                            "learned (seed 4 diverged) (held-out median 1.000 [1.000, 1.000] (1/2 seeds have one))")


# -- cells-cope -----------------------------------------------------------------------------------------------
def test_cells_cope_names_a_seed_that_diverged_with_a_readout():
    cl = claim_by_key("cells-cope")
    runs = [(c, [gone(), online(0.75)] if c.model.cell == "gru" and c.model.readout == "linear"
             else [online(0.75)] * 2) for c in (cl.config, *(c for _, c in cl.compare))]
    res = run_claim(cl, [0, 1], Hand(runs))
    assert res.verdict == HOLDS
    assert res.measured == (
        "rnn: raw state 0/2 learned (held-out median 0.750 [0.750, 0.750]), readout 0/2 (held-out median 0.750 "
        "[0.750, 0.750]); gru: raw state 0/2 learned (held-out median 0.750 [0.750, 0.750]), readout 0/2 (seed 0 "
        "diverged) (held-out median 0.750 [0.750, 0.750] (1/2 seeds have one)); lstm: raw state 0/2 learned "
        "(held-out median 0.750 [0.750, 0.750]), readout 0/2 (held-out median 0.750 [0.750, 0.750])")


# -- eight-units ----------------------------------------------------------------------------------------------
def test_eight_units_counts_a_seed_that_diverged_in_epoch_10_itself_as_diverged_by_epoch_10():
    """9 epochs of history: the seed diverged in the 10th, the one the claim reads."""
    cl = claim_by_key("eight-units")
    r8 = [batch({10: 0.08}, 0.01, params=273, epochs=10), gone_batch({}, 9, params=273, epochs=10),
          batch({10: 0.1}, 0.01, params=273, epochs=10)]
    res = run_claim(cl, [0, 1, 2], Hand([(cl.config, r8), (cl.compare[0][1], [batch({10: 0.3}, 0.01)] * 3)]))
    assert res.figures["8 units"]["diverged_at"] == [10]
    assert res.verdict == HOLDS
    assert res.measured == ("training loss after 10 epochs: 8 units median 0.090 [0.080, 0.100] (2/3 seeds have one), "
                            "2 units median 0.300 [0.300, 0.300]; 8 units lower on 2/3 seeds; "
                            "diverged by epoch 10: 8 units seed 1, 2 units none")
    assert res.why == ("Faster: yes (median 0.100 against 0.300, lower on 2/3 seeds, a diverged seed counted above "
                       "any loss); 'about 0.1': yes (read as 0.05 to 0.2).")


# -- a batch run without a validation split ---------------------------------------------------------------------
def test_batch_figures_without_a_validation_split_do_not_call_its_nan_val_loss_a_divergence():
    """With validation_split 0 every val_loss is NaN (no validation data): that is no sign of divergence."""
    cfg = claim_by_key("answer-learns").config.replace(validation_split=0.0)
    rep = batch({50: 0.001}, NAN)
    rep["history"]["val_loss"] = [NAN] * 50
    f = batch_figures(Hand([(cfg, [rep])]), cfg, [0])
    assert (f["diverged_seeds"], f["diverged_at"]) == ([], [])
