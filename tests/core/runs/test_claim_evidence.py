"""Each claim's words against its evidence, from hand-made run results (nothing is trained): the "why" says what the
seeds did in every case (all fail, some learn, all learn), and a seed that diverged (a batch run stopped before its
last epoch, an online run whose report says so) is judged as diverged, never learned, and said so; no traceback.
The expected verdicts and sentences are written out here by hand."""

import numpy as np
import pytest

from core.runs.claim_runs import batch_figures, dist, dist_text, online_figures
from core.runs.claims import _QF, claim_by_key, run_claim
from tests.core.runs.test_claim_verdicts import CAVEAT, HOLDS, NOT, Hand, batch, online, probe

NAN = float("nan")


def gone_online() -> dict:
    """An online runner report of a run that diverged: no held-out figure, final.diverged and its verdict."""
    return {"final": {"heldout_accuracy": NAN, "heldout_loss": NAN, "heldout_steps": 0,
                      "diverged": {"step": 700, "what": "the loss became nan"}, "verdict": {"code": "diverged"}},
            "history": {"step": [500], "accuracy": [0.995]}}


def gone_batch(marks: dict[int, float], done: int, params: int = 33, epochs: int = 50) -> dict:
    """A batch runner report of a run that diverged in epoch done + 1: `done` epochs of history (batch()'s)."""
    r = batch(marks, 0.001, params=params, epochs=epochs)
    return {"params": params, "history": {k: v[:done] for k, v in r["history"].items()},
            "final": {"diverged": {"step": 3}, "verdict": {"code": "diverged"}}}


# -- cannot-cope: the why opens with what the seeds did ---------------------------------------------------------
def cannot_cope(q_reps, qf=(1.0, 0.995, 0.98)):
    cl = claim_by_key("cannot-cope")
    ins = {"y_hat": np.array([0.5, 0.7, 0.1, 0.49, 0.9]), "h": np.zeros((5, 2)), "probe": probe(0.5, 0.93)}
    return run_claim(cl, [3, 5, 9], Hand([(cl.config, q_reps), (_QF, [online(a) for a in qf])],
                                         [(cl.config, s, ins) for s in (3, 5, 9)]))


INSIDE = ("Seed {} predicts 1 on 60% of held-out steps (the majority class); the memory probe reads x[t-1] from h[t] "
          "at balanced accuracy 0.93 (0.5 = chance), but the units' mean cannot use it.")


@pytest.mark.parametrize("accs, verdict, why", [
    ((0.75, 0.76, 0.8), CAVEAT, "It reproduces, but the cell is not the cause: the loss is on the raw state. "
                                + INSIDE.format(3) + " The same cell with a linear readout learns 2/3 seeds."),
    ((1.0, 0.75, 0.8), NOT, "It does not reproduce on every seed: 1/3 seeds learned on the raw state, so the cell "
                            "can cope. " + INSIDE.format(5) + " The same cell with a linear readout learns 2/3 seeds."),
    ((1.0, 0.99, 1.0), NOT, "It does not reproduce: every seed learned on the raw state (3/3), so the cell copes "
                            "here. The same cell with a linear readout learns 2/3 seeds."),
])
def test_cannot_cope_s_why_says_what_the_seeds_did(accs, verdict, why):
    res = cannot_cope([online(a) for a in accs])
    assert res.verdict == verdict and res.why == why
    assert ("It reproduces" in res.why) == (verdict == CAVEAT)


def test_cannot_cope_with_a_readout_that_fails_too_does_not_blame_the_loss():
    res = cannot_cope([online(0.75)] * 3, qf=(0.75, 0.8, 0.7))
    assert res.verdict == CAVEAT and "the cell is not the cause" not in res.why
    assert res.why.startswith("It reproduces, and with a linear readout the same cell fails too, so these runs do "
                              "not show whether the cell or the loss on the raw state is the cause. Seed 3 ")
    assert res.why.endswith(" The same cell with a linear readout learns 0/3 seeds.")


def test_cannot_cope_names_a_diverged_seed_and_looks_inside_one_that_failed_as_the_question_did():
    res = cannot_cope([gone_online(), online(0.75), online(0.76)])
    assert res.verdict == CAVEAT and res.figures["question"]["diverged_seeds"] == [3]
    assert res.measured == ("held-out accuracy median 0.755 [0.750, 0.760] (2/3 seeds have one) over 3 seeds"
                            " (base rate 0.75); 3/3 seeds failed (seed 3 diverged)")
    assert INSIDE.format(5) in res.why


def test_cannot_cope_when_every_seed_diverged_says_so_and_looks_inside_none():
    res = cannot_cope([gone_online()] * 3)
    assert res.measured.endswith("; 3/3 seeds failed (seeds 3, 5, 9 diverged)")
    assert res.why == ("No seed learned, but every seed diverged: not the question's failure, the accuracy on the "
                       "base rate. The same cell with a linear readout learns 2/3 seeds.")
    assert res.figures["pred_ones"] is None and res.figures["probe_lag1"] is None


def test_an_online_seed_that_diverged_never_counts_as_learned():
    """Its last logged running accuracy (0.995) would pass the verdict rule read off the report alone."""
    class One(Hand):
        def reports(self, cfg, seeds):
            return [gone_online()]

    f = online_figures(One([]), _QF, [4])
    assert (f["learned"], f["failed_seeds"], f["diverged_seeds"]) == (0, [4], [4])


# -- answer-learns and eight-units: a batch seed that stopped before its last epoch -----------------------------
def answer(reps, seeds=(2, 4, 7)):
    cl = claim_by_key("answer-learns")
    return run_claim(cl, seeds, Hand([(cl.config, reps)]))


def test_answer_learns_judges_a_seed_that_diverged_before_its_last_epoch():
    res = answer([batch({1: 0.6, 10: 0.329, 50: 0.005}, 0.004), batch({1: 0.5, 10: 0.35, 50: 0.02}, 0.05),
                  gone_batch({1: 1.137, 10: 0.4}, 12)])
    assert res.verdict == CAVEAT  # 2 of 3 learned; the diverged one did not
    assert res.measured == ("33 parameters; training loss epoch 1: median 0.600 [0.500, 1.137]; epoch 10: median "
                            "0.350 [0.329, 0.400]; epoch 50: median 0.013 [0.005, 0.020] (2/3 seeds have one); "
                            "val_loss at epoch 50: median 0.0270 [0.0040, 0.0500] (2/3 seeds have one); 0/3 "
                            "seeds stalled above 0.1; 1/3 diverged (seed 7 in epoch 13)")
    assert res.why == ("The answer's printed run is one draw: 1.137 at epoch 1 is inside our seeds' range, 0.329 at "
                       "epoch 10 is inside our seeds' range, 0.01 at epoch 50 is inside our seeds' range. Diverged, "
                       "so not learned: seed 7 in epoch 13.")
    assert res.figures["diverged_seeds"] == [7] and res.figures["diverged_at"] == [13]


def test_answer_learns_when_every_seed_diverged_in_its_first_epoch():
    res = answer([gone_batch({}, 0), gone_batch({}, 0)], seeds=(0, 1))
    assert res.verdict == NOT
    assert res.measured == ("33 parameters; training loss epoch 1: no figure from any seed; epoch 10: no figure from "
                            "any seed; epoch 50: no figure from any seed; val_loss at epoch 50: no figure from any "
                            "seed; 0/2 seeds stalled above 0.1; 2/2 diverged (seed 0 in epoch 1, seed 1 in epoch 1)")
    assert res.why == ("The answer's printed run is one draw: 1.137 at epoch 1: no seed of ours has a loss there, "
                       "0.329 at epoch 10: no seed of ours has a loss there, 0.01 at epoch 50: no seed of ours has a "
                       "loss there. Diverged, so not learned: seed 0 in epoch 1, seed 1 in epoch 1.")


def test_answer_learns_counts_a_seed_its_report_calls_diverged_even_with_a_fine_last_val_loss():
    full = batch({}, 0.01)
    full["final"] = {"verdict": {"code": "diverged"}}
    res = answer([full, batch({}, 0.01)], seeds=(0, 1))
    assert res.verdict == CAVEAT and res.measured.endswith("; 1/2 diverged (seed 0 in epoch 50)")


def test_answer_learns_counts_a_seed_whose_last_val_loss_is_nan_as_diverged():
    """A batch run that diverged in its last epoch: its NaN val_loss is not below 0.1 (it counted as learned), and
    it is no stall at 'nan' either."""
    res = answer([batch({}, NAN)], seeds=(0,))
    assert res.verdict == NOT and res.figures["stalled_seeds"] == [] and res.figures["diverged_seeds"] == [0]
    assert res.measured.endswith("; val_loss at epoch 50: no figure from any seed; 0/1 seeds stalled above 0.1; "
                                 "1/1 diverged (seed 0 in epoch 50)")
    assert res.why.endswith("our seeds' range. Diverged, so not learned: seed 0 in epoch 50.")


def eight(r8, r2):
    cl = claim_by_key("eight-units")
    return run_claim(cl, range(len(r8)), Hand([(cl.config, r8), (cl.compare[0][1], r2)]))


def e8(v):
    return batch({10: v}, 0.01, params=273, epochs=10)


def e2(v):
    return batch({10: v}, 0.01)


def test_eight_units_counts_an_8_unit_seed_that_diverged_as_not_lower():
    res = eight([e8(0.08), gone_batch({}, 4, params=273, epochs=10), e8(0.1)], [e2(0.3)] * 3)
    assert res.verdict == HOLDS  # median over 3 seeds, the diverged one highest: 0.1
    assert res.measured == ("training loss after 10 epochs: 8 units median 0.090 [0.080, 0.100] (2/3 seeds have one), "
                            "2 units median 0.300 [0.300, 0.300]; 8 units lower on 2/3 seeds; "
                            "diverged by epoch 10: 8 units seed 1, 2 units none")
    assert res.why == ("Faster: yes (median 0.100 against 0.300, lower on 2/3 seeds, a diverged seed counted above "
                       "any loss); 'about 0.1': yes (read as 0.05 to 0.2).")


def test_eight_units_does_not_hold_when_most_8_unit_seeds_diverged():
    d8 = gone_batch({}, 2, params=273, epochs=10)
    res = eight([d8, d8, e8(0.1)], [e2(0.3)] * 3)
    assert res.verdict == NOT
    assert res.why == ("Faster: no (median diverged against 0.300, lower on 1/3 seeds, a diverged seed counted above "
                       "any loss); 'about 0.1': no (read as 0.05 to 0.2).")
    assert res.measured.endswith("; 8 units lower on 1/3 seeds; diverged by epoch 10: 8 units seed 0, seed 1, "
                                 "2 units none")


def test_eight_units_is_faster_than_a_2_unit_run_that_diverged_before_epoch_10():
    res = eight([e8(0.1)], [gone_batch({}, 4)])
    assert res.verdict == HOLDS
    assert res.why.startswith("Faster: yes (median 0.100 against diverged, lower on 1/1 seeds, a diverged seed")
    assert res.measured.endswith("2 units no figure from any seed; 8 units lower on 1/1 seeds; diverged by epoch "
                                 "10: 8 units none, 2 units seed 0")


# -- the other claims' words against their counts --------------------------------------------------------------
def readout(qf_accs, q_accs):
    cl = claim_by_key("readout-fixes")
    raw = cl.compare[0][1]
    runs = [(cl.config, [online(a) for a in qf_accs]), (raw, [online(a) for a in q_accs])]
    return run_claim(cl, [4, 6], Hand(runs, [(cl.config, 4, {"probe": probe(0.5, 0.97)}),
                                             (raw, 4, {"probe": probe(0.5, 0.88)})]))


@pytest.mark.parametrize("qf, q, tail", [
    ((1.0, 1.0), (0.75, 0.75), "The raw state fails because every unit is pulled to the same target, so the units' "
                               "mean cannot turn those traces into NOT x[t-1]; a linear readout weighs them."),
    ((0.7, 0.75), (0.75, 0.75), "The raw state fails because every unit is pulled to the same target, so the units' "
                                "mean cannot turn those traces into NOT x[t-1]; a linear readout learned to weigh "
                                "them on no seed here."),
    ((1.0, 1.0), (1.0, 1.0), "The raw state learned 2/2 seeds here, so the units' mean can turn those traces into "
                             "NOT x[t-1]; a linear readout weighs them."),
    ((0.7, 0.75), (1.0, 0.75), "The raw state learned 1/2 seeds here, so the units' mean can turn those traces into "
                               "NOT x[t-1]; a linear readout learned to weigh them on no seed here."),
])
def test_readout_fixes_says_the_raw_state_fails_and_the_readout_works_only_when_they_do(qf, q, tail):
    assert readout(qf, q).why.endswith("from the raw state. " + tail)


def unreliable(base, w1):
    cl = claim_by_key("unreliable")
    other = dict(cl.compare)
    runs = [(cl.config, [online(1.0 if i < base else 0.8) for i in range(2)]),
            (other["lag 3, window 1"], [online(1.0 if i < w1 else 0.8) for i in range(2)])]
    runs += [(other[k], [online(1.0)] * 2) for k in ("lag 1, window 2", "lag 3, window 4", "lag 3, RTRL")]
    return run_claim(cl, [0, 1], Hand(runs))


def test_unreliable_never_says_window_1_fails_when_it_learned_every_seed():
    res = unreliable(2, 2)
    assert res.verdict == NOT and "what fails" not in res.why
    assert res.why == ("Every update here sees one sample (batch 1). With a window reaching past the lag or RTRL, "
                       "batch 1 learned every seed, and so did a truncation window that does not reach the "
                       "remembered input (lag 3, window 1: 2/2). At lag 1, window 1 works because the previous "
                       "state is itself a function of the previous input.")


def test_tanh_range_does_not_call_a_diverged_state_outside_the_range():
    cl = claim_by_key("tanh-range")
    lag0 = cl.compare[0][1]
    res = run_claim(cl, [3], Hand([(lag0, [online(0.7)])], [(cl.config, 3, {"h": np.array([[NAN, 0.2]])})]))
    assert res.verdict == HOLDS and "seed 3: nan;" in res.measured
    assert res.why.startswith("Not measured: seed 3's state is not a number (its run diverged); by construction h' = ")
    assert "Not true" not in res.why


def test_window_vs_rtrl_does_not_probe_a_window_1_seed_that_diverged():
    cl = claim_by_key("window-vs-rtrl")
    other = dict(cl.compare)
    runs = [(cl.config, [online(1.0, steps=30_000)] * 2), (other["window 1"], [gone_online(), online(1.0)]),
            (other["window 4"], [online(1.0)] * 2)]
    res = run_claim(cl, [3, 5], Hand(runs, [(cl.config, 3, {"probe": probe(1, 1, 1, 0.99)})]))
    assert res.verdict == HOLDS and "window 1: 1/2 learned (seed 3 diverged), held-out median 1.000 [1.000, " \
                                   "1.000] (1/2 seeds have one)" in res.measured
    assert res.why.endswith("(seed 3); window 1's failing seeds diverged, so no probe of theirs says why.")


def test_cells_cope_names_a_diverged_seed():
    cl = claim_by_key("cells-cope")
    runs = [(c, [gone_online(), online(0.75)] if c.model.cell == "lstm" and c.model.readout == "raw"
             else [online(0.75)] * 2) for c in (cl.config, *(c for _, c in cl.compare))]
    res = run_claim(cl, [0, 1], Hand(runs))
    assert res.verdict == HOLDS
    assert res.measured.endswith("lstm: raw state 0/2 learned (seed 0 diverged) (held-out median 0.750 [0.750, "
                                 "0.750] (1/2 seeds have one)), readout 0/2 (held-out median 0.750 "
                                 "[0.750, 0.750])")


# -- the figures --------------------------------------------------------------------------------------------------
def test_dist_leaves_a_nan_out_of_its_median_and_range_and_the_text_says_so():
    d = dist([NAN, 0.5, 0.25, NAN, 1.0])
    assert (d["median"], d["min"], d["max"]) == (0.5, 0.25, 1.0) and d["values"][1:3] == [0.5, 0.25]
    assert dist_text(d) == "median 0.500 [0.250, 1.000] (3/5 seeds have one)"
    assert dist_text(dist([NAN])) == "no figure from any seed"


def test_batch_figures_of_a_seed_that_stopped_early_read_nan_where_it_has_no_epoch():
    class Two(Hand):
        def reports(self, cfg, seeds):
            return [batch({1: 0.5, 10: 0.2}, 0.02), gone_batch({1: 0.6}, 3)]

    f = batch_figures(Two([]), claim_by_key("answer-learns").config, [5, 6])
    assert f["loss"][1]["values"] == [0.5, 0.6] and f["loss"][10]["values"][0] == 0.2
    assert np.isnan(f["loss"][10]["values"][1]) and np.isnan(f["val_loss"][50]["values"][1])
    assert (f["stalled_seeds"], f["diverged_seeds"], f["diverged_at"]) == ([], [6], [4])

