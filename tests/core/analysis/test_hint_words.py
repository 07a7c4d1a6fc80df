"""The hints' words, pinned whole (written against `make mutation`'s survivors in core/analysis/hints.py): what the
user reads is the specification, so each hint's title and text are compared with the full sentence for one
representative run, its figures worked out here (the base rate 0.75 of NOT x[t-1] at p = 0.25, the constant
guess's loss 0.25 x 0.75 = 0.1875, counts and steps as given). Also the boundaries of the statistical hints."""

import math

import numpy as np
import pytest

from core.analysis.hints import (
    BASE_RATE,
    INSTABILITY,
    LOSS_HIGH,
    LOSS_RISING,
    RAW_READOUT,
    SHORT_WINDOW,
    VANISHING_UPDATES,
    Rules,
    diagnose,
    has_learned,
    live_stats_from,
    param_snapshot,
    relative_update,
)
from core.analysis.story import Story
from core.analysis.verdict import Verdict, judge
from core.config import preset
from core.formatting import loss_text

Q, QF, A = preset("question"), preset("question-fixed"), preset("answer")
WHY_1 = ("Each update backpropagates through the last 1 step(s) only, but the target needs the input from 1 step(s) "
         "back, which entered the state outside that window, so no gradient teaches the network to store it. ")
STORY = Story(window=1000, steps=20000, best=1.0, best_step=3000, best_loss=0.002, first_solved_step=3000,
              last_solved_step=9000, lost_step=12500, last=0.8, last_loss=0.15)


def _by_code(hints):
    return {h.code: (h.level, h.title, h.text) for h in hints}


def test_instability_online_with_adam_and_a_rising_loss():
    got = _by_code(diagnose(QF, None, judge(QF, 0.8, 1000, story=STORY)))
    assert got[INSTABILITY] == ("warning", "The run learned, then lost it", (
        "Over 1,000 steps the training accuracy reached 1.000 (first 0.99 by step 3,000, the last by step 9,000), "
        "then fell: 0.800 over the last 1,000 steps, under 0.99 by step 12,500. The loss rose from 0.00200 over "
        "its best window to 0.150 over the last (a constant guess scores 0.188). Training went on moving the "
        "weights after the task was solved, and they drifted out of the solution. Adam keeps its steps near lr in "
        "size even when the gradients are tiny (adam_eps 1e-07), so a solved online run keeps moving. Lower the "
        "learning rate (0.001), or stop by step 9,000."))
    assert got[SHORT_WINDOW] == ("info", "The truncation window (1) does not reach back 1 step(s)", (
        WHY_1 + "The run learned anyway (by step 3,000: the state kept that input), but no gradient holds that "
        "memory in place, so later updates may wear it away. Use a window of at least 2 or the exact RTRL rule."))


def test_instability_in_batch_mode_with_sgd_and_a_flat_loss():
    cfg = A.replace(optimizer="sgd")
    st = Story(window=50, steps=900, best=0.995, best_step=300, best_loss=0.01, first_solved_step=300,
               last_solved_step=600, lost_step=700, last=0.8, last_loss=0.015)  # 1.5 x the best: not "rose"
    got = _by_code(diagnose(cfg, None, judge(cfg, 0.8, 1000, "val_accuracy", story=st)))
    assert got[INSTABILITY][2] == (
        "Over 50 minibatches the training accuracy reached 0.995 (first 0.99 by minibatch 300, the last by "
        "minibatch 600), then fell: 0.800 over the last 50 minibatches, under 0.99 by minibatch 700. Training went "
        "on moving the weights after the task was solved, and they drifted out of the solution. Lower the "
        "learning rate (0.001), or stop by minibatch 600.")
    assert "The loss rose" in _by_code(diagnose(cfg, None, judge(cfg, 0.8, 1000, story=Story(
        **{**st.__dict__, "last_loss": 0.0151}))))[INSTABILITY][2]  # just over 1.5 x: it rose
    for missing in ("first_solved_step", "last_solved_step", "lost_step"):  # a story that cannot be told
        partial = Story(**{**STORY.__dict__, missing: None})
        lost = Verdict("lost", 0.8, "heldout_accuracy", 1000, 0.1, "lost", 5000, partial)
        assert INSTABILITY not in _by_code(diagnose(QF.replace(window=2), None, lost)), missing
    told = Verdict("lost", 0.8, "heldout_accuracy", 1000, 0.1, "lost", 5000, STORY)
    assert INSTABILITY in _by_code(diagnose(QF.replace(window=2), None, told))


def test_short_window_words_without_evidence_with_a_verdict_and_with_numbers():
    sw = QF.replace(lag=3, window=2)
    why = ("Each update backpropagates through the last 2 step(s) only, but the target needs the input from 3 "
           "step(s) back, which entered the state outside that window, so no gradient teaches the network to store "
           "it. ")
    assert _by_code(diagnose(sw))[SHORT_WINDOW] == (
        "info", "The truncation window (2) does not reach back 3 step(s)",
        why + "It can still learn when the state keeps that input anyway (with lag 1 it often does): watch the "
        "accuracy. If it stays below 0.99, use a window of at least 4 or the exact RTRL rule.")
    warn = "Not learned, and the truncation window (2) does not reach back 3 step(s)"
    assert _by_code(diagnose(sw, None, judge(sw, 0.9, 1000)))[SHORT_WINDOW] == ("warning", warn, (
        "The run ended without learning (partly: held-out accuracy 0.900 (base rate 0.75, solved at 0.99)). "
        + why + "Use a window of at least 4 or the exact RTRL rule."))
    correct = np.array([1.0] * 900 + [0.0] * 100)
    stats = live_stats_from(np.full(1000, 0.1), correct, 6000)
    assert _by_code(diagnose(sw, stats))[SHORT_WINDOW] == ("warning", warn, (
        "After 6,000 steps the recent accuracy is 0.900, under 0.99. " + why
        + "Use a window of at least 4 or the exact RTRL rule."))
    patience = Rules().short_window_patience
    assert _by_code(diagnose(sw, live_stats_from(np.full(1000, 0.1), correct, patience)))[SHORT_WINDOW][0] == "warning"
    assert _by_code(diagnose(sw, live_stats_from(np.full(1000, 0.1), correct, patience - 1)))[SHORT_WINDOW][0] == "info"
    assert SHORT_WINDOW in _by_code(diagnose(sw.replace(window=3)))  # a window of lag steps falls short by one
    assert SHORT_WINDOW not in _by_code(diagnose(sw.replace(window=4)))  # lag + 1 reaches the input
    assert SHORT_WINDOW not in _by_code(diagnose(sw.replace(rule="rtrl")))
    assert SHORT_WINDOW not in _by_code(diagnose(sw.replace(lag=1)))


def test_raw_readout_words():
    raw = ("With the raw readout the loss compares every unit of the GRU state with the target. The state comes out "
           "of tanh and a gate mix, so it lies between -1 and 1, and every unit is pulled towards the same target")
    assert _by_code(diagnose(Q.replace(lag=0)))[RAW_READOUT] == ("info", "The loss is on the raw GRU state", raw + (
        ". With lag 0 nothing has to be remembered, so this can still work; the usual model puts a linear readout "
        "on the state (model.readout = linear)."))
    assert _by_code(diagnose(Q))[RAW_READOUT] == ("error", "The loss is on the raw GRU state", raw + (
        ", so no unit is free to keep the past input for later. The state may still carry traces of the past (the "
        "memory probe can show them), but the prediction, the units' mean, cannot use them. Put a linear readout "
        "on the state (model.readout = linear)."))
    assert RAW_READOUT not in _by_code(diagnose(QF))


def test_base_rate_words_from_a_verdict_and_from_recent_numbers():
    assert _by_code(diagnose(QF, None, judge(QF, 0.75, 1000)))[BASE_RATE] == (
        "warning", "Accuracy is at the base rate", "The held-out accuracy is 0.750, and always answering the "
        "majority class (1) scores 0.750: the network has learned the class balance, not the memory.")
    assert _by_code(diagnose(QF, None, judge(QF, 0.5, 1000)))[BASE_RATE][1] == "Accuracy is below the base rate"
    at = live_stats_from(np.full(1000, 0.18), [1.0] * 750 + [0.0] * 250, 2000, pred_ones=0.97)
    assert _by_code(diagnose(QF, at))[BASE_RATE] == ("warning", "Accuracy is at the base rate", (
        "Recent accuracy is 0.750, and always answering the majority class (1) scores 0.750: the network has "
        "learned the class balance, not the memory. It predicts the majority class instead of using the past "
        "input. It predicted 1 on 97% of the recent steps."))
    below = live_stats_from(np.full(1000, 0.18), [1.0] * 600 + [0.0] * 400, 2000)
    assert _by_code(diagnose(QF, below))[BASE_RATE] == ("warning", "Accuracy is below the base rate", (
        "Recent accuracy is 0.600, and always answering the majority class (1) scores 0.750: it does worse than "
        "that constant guess."))


def test_base_rate_band_edges_from_recent_numbers():
    """The band is max(0.01, 2 standard errors of the mean accuracy), capped at half the way to 1."""
    n = 1000
    for ones in (750, 780, 790, 800):
        c = np.array([1.0] * ones + [0.0] * (n - ones))
        se = c.std(ddof=1) / math.sqrt(n)
        band = min(max(0.01, 2 * se), 0.125)
        fires = BASE_RATE in _by_code(diagnose(QF, live_stats_from(np.full(n, 0.1), c, 2000)))
        assert fires == (c.mean() <= 0.75 + band), (ones, band)
    rare = QF.replace(p=0.01)  # base rate 0.99: the band is capped at (1 - 0.99) / 2 = 0.005, not 0.01
    c = np.array([1.0] * 1968 + [0.0] * 32)  # 0.984 over 2,000: below 0.99 - 0.005 (not below 0.99 - 0.01)
    got = _by_code(diagnose(rare, live_stats_from(np.full(2000, 0.1), c, 2000)))
    assert got[BASE_RATE][1] == "Accuracy is below the base rate"
    c = np.array([1.0] * 1972 + [0.0] * 28)  # 0.986: within the capped band
    got = _by_code(diagnose(rare, live_stats_from(np.full(2000, 0.1), c, 2000)))
    assert got[BASE_RATE][1] == "Accuracy is at the base rate"


def test_loss_words_and_their_edges():
    const = 0.25 * 0.75
    high = live_stats_from(np.full(1000, 2 * const), [1.0] * 900 + [0.0] * 100, 2000)
    assert _by_code(diagnose(QF, high))[LOSS_HIGH] == ("warning", "The loss is worse than a constant guess", (
        "The recent loss (0.375) is 2.0 times that of always predicting the mean target (0.188): the updates make "
        "the predictions worse than knowing nothing. The learning rate (0.001) is most likely too high; lower it."))
    just_under = live_stats_from(np.full(1000, 2 * const * 0.999), [1.0] * 900 + [0.0] * 100, 2000)
    assert LOSS_HIGH not in _by_code(diagnose(QF, just_under))
    rng = np.random.default_rng(3)
    rising = np.concatenate([0.1 + 0.001 * rng.standard_normal(500), 0.3 + 0.001 * rng.standard_normal(500)])
    got = _by_code(diagnose(QF, live_stats_from(rising, [1.0] * 900 + [0.0] * 100, 2000)))
    m1, m2 = rising[:500].mean(), rising[500:].mean()
    assert got[LOSS_RISING] == ("warning", "The loss is rising", (
        f"The recent loss went up from {loss_text(m1)} to {loss_text(m2)} and stayed up, against 0.188 for a "
        "constant guess. A loss that climbs while training usually means the learning rate (0.001) is too high: "
        "each update overshoots. Lower it."))
    assert LOSS_HIGH not in got  # rising is the stronger word
    tiny = live_stats_from(np.full(1000, const), [1.0] * 900 + [0.0] * 100, 2000, update_ratio=5e-6)
    assert _by_code(diagnose(QF.replace(optimizer="sgd"), tiny))[VANISHING_UPDATES] == (
        "warning", "The updates have vanished", (
            "Each update changes the weights by about 5.0e-06 of their size, yet the loss (0.188) is still near that "
            "of a constant guess (0.188). The steps are too small to learn from: the learning rate (0.001) is too "
            "low, or the gradient has vanished (a saturated network). Try a larger learning rate or Adam."))
    assert _by_code(diagnose(QF, tiny))[VANISHING_UPDATES][2].endswith("Try a larger learning rate.")
    at_edge = live_stats_from(np.full(1000, const), [1.0] * 900 + [0.0] * 100, 2000, update_ratio=1e-5)
    assert VANISHING_UPDATES not in _by_code(diagnose(QF, at_edge))  # 1e-5 is not below 1e-5


def test_evidence_and_learned_edges():
    c = [1.0] * 990 + [0.0] * 10  # 0.990: exactly solved
    assert has_learned(QF, live_stats_from(np.full(1000, 0.01), c, 1000))
    assert not has_learned(QF, live_stats_from(np.full(1000, 0.01), c, 999))  # too few updates
    assert not has_learned(QF, live_stats_from(np.full(499, 0.01), c[:499], 5000))  # too few recent values
    assert not has_learned(QF, live_stats_from(np.full(1000, 0.01), [1.0] * 989 + [0.0] * 11, 5000))
    assert has_learned(QF, None, judge(QF, 0.995, 1000))
    assert not has_learned(QF, live_stats_from(np.full(1000, 0.01), c, 5000), judge(QF, 0.5, 1000))  # verdict first
    assert has_learned(QF, live_stats_from(np.full(1000, 0.01), c, 5000), judge(QF, float("nan"), 0))  # not run
    batch = live_stats_from(np.full(20, 0.01), np.full(20, 0.995), 100)
    assert has_learned(A, batch) and not has_learned(A, live_stats_from(np.full(19, 0.01), np.full(19, 0.995), 100))
    assert not has_learned(A, live_stats_from(np.full(20, 0.01), np.full(20, 0.995), 99))


def test_stats_and_update_sizes_are_plain_float_vectors():
    s = live_stats_from([[1, 2], [3, 4]], [[1, 0]], 7.9, 0.5, 0.25)
    assert s.losses.dtype == np.float64 and s.losses.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert s.correct.tolist() == [1.0, 0.0] and s.steps == 7 and s.accuracy == 0.5
    assert relative_update(np.array([3, 4]), np.array([3, 5])) == pytest.approx(1 / 5)
    assert relative_update(np.array([3, 4]), np.array([3, 5]), updates=2) == pytest.approx(1 / 10)
    assert math.isnan(relative_update(np.zeros(2), np.ones(2)))
    import torch

    m = torch.nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, 2.0]]))
        m.bias.fill_(3.0)
    snap = param_snapshot(m)
    assert snap.dtype == np.float64 and snap.tolist() == [1.0, 2.0, 3.0]
    assert param_snapshot(torch.nn.Module()).tolist() == []


def test_errors_come_first_then_warnings_then_information():
    stats = live_stats_from(np.full(1000, 0.18), [1.0] * 750 + [0.0] * 250, 2000)
    levels = [h.level for h in diagnose(Q, stats)]
    assert levels == sorted(levels, key=["error", "warning", "info"].index) and levels[0] == "error"
    broken = diagnose(Q, live_stats_from([0.1, math.nan], [1, 1], 2000))
    assert [h.code for h in broken] == [RAW_READOUT, "loss-nonfinite"]
    assert [h.code for h in diagnose(Q.replace(lag=0), None, judge(Q.replace(lag=0), 1.0, 100))] == [RAW_READOUT]


def test_non_finite_loss_words():
    got = _by_code(diagnose(QF, live_stats_from([0.1, math.inf], [1, 1], 10)))
    assert got["loss-nonfinite"] == ("error", "The loss is not finite", (
        "The loss became NaN or infinite: the weights diverged, most likely because the learning rate is too high. "
        "Lower the learning rate and restart."))


def test_a_base_rate_verdict_makes_the_short_window_a_warning():
    assert _by_code(diagnose(QF, None, judge(QF, 0.75, 1000)))[SHORT_WINDOW][0] == "warning"


def test_a_target_that_never_varies_gets_no_base_rate_or_loss_hint():
    xor0 = QF.replace(kind="xor", lag=0)  # always 0: the base rate is 1 and a constant guess's loss 0
    stats = live_stats_from(np.full(1000, 0.3), [1.0] * 500 + [0.0] * 500, 2000, update_ratio=1e-7)
    got = _by_code(diagnose(xor0, stats))
    assert BASE_RATE not in got and LOSS_HIGH not in got and VANISHING_UPDATES not in got


def test_the_base_rate_bands_exact_edges():
    n = 100_000  # 2 standard errors (0.0027) under the 0.01 floor: the band is exactly 0.01
    top = live_stats_from(np.full(n, 0.1), np.r_[np.ones(76_000), np.zeros(24_000)], 2000)  # 0.76 = 0.75 + 0.01
    assert _by_code(diagnose(QF, top))[BASE_RATE][1] == "Accuracy is at the base rate"
    bottom = live_stats_from(np.full(n, 0.1), np.r_[np.ones(74_000), np.zeros(26_000)], 2000)  # 0.74 = 0.75 - 0.01
    assert _by_code(diagnose(QF, bottom))[BASE_RATE][1] == "Accuracy is at the base rate"  # not yet "below"


def test_the_loss_rules_exact_edges():
    const = 0.25 * 0.75
    ok = [1.0] * 900 + [0.0] * 100
    # the quarters at exactly 1.5 x the first half's mean (0.25 -> 0.375, both exact in binary): not a rise
    flat_halves = live_stats_from(np.r_[np.full(500, 0.25), np.full(500, 0.375)], ok, 2000)
    assert LOSS_RISING not in _by_code(diagnose(QF, flat_halves))
    # a rise from a spiky first half that is not clear of its noise (0.1 -> 0.2, 4 standard errors = 0.18)
    spiky = np.zeros(500)
    spiky[::100] = 10.0
    assert LOSS_RISING not in _by_code(diagnose(QF, live_stats_from(np.r_[spiky, np.full(500, 0.2)], ok, 2000)))
    # the recent loss is the last quarter's: three low quarters, then one worse than a guess
    late = live_stats_from(np.r_[np.full(750, 0.01), np.full(250, 0.4)], ok, 2000)
    got = _by_code(diagnose(QF, late))
    assert LOSS_HIGH in got and LOSS_RISING not in got and "(0.400) is 2.1 times" in got[LOSS_HIGH][2]
    # vanishing updates at a loss of exactly half a guess's (0.09375, exact in binary)
    half = live_stats_from(np.full(1000, 0.5 * const), ok, 2000, update_ratio=1e-6)
    assert VANISHING_UPDATES in _by_code(diagnose(QF, half))


def test_diagnose_uses_the_rules_it_is_given():
    quick = Rules(min_steps=10, min_recent=10)
    learned = live_stats_from(np.full(20, 0.001), np.ones(20), 50)
    assert diagnose(QF, learned, rules=quick) == []  # learned on the evidence these rules ask for
    assert [h.code for h in diagnose(QF, learned)] == [SHORT_WINDOW]  # not enough evidence under the defaults


def test_a_rise_to_exactly_the_smallest_loss_worth_a_word_counts():
    rules = Rules(rise_min_loss=0.25)  # 0.25 x 0.1875 = 0.046875 = 3/64: exact, and so is its mean
    edge = 0.25 * 0.25 * 0.75
    stats = live_stats_from(np.r_[np.full(500, 0.01), np.full(500, edge)], [1.0] * 900 + [0.0] * 100, 2000)
    assert LOSS_RISING in _by_code(diagnose(QF, stats, rules=rules))
