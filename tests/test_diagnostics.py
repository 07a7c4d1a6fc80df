"""Each hint fires on its trigger and stays silent otherwise; the presets get the hints they deserve."""

import numpy as np
import pytest

from core.config import preset
from core.diagnostics import (
    BASE_RATE,
    LOSS_NONFINITE,
    LOSS_RISING,
    RAW_READOUT,
    SEVERITIES,
    SHORT_WINDOW,
    VANISHING_UPDATES,
    Hint,
    LiveStats,
    Rules,
    constant_loss,
    diagnose,
    hint_codes,
    live_stats_from,
    live_stats_from_records,
    param_snapshot,
    relative_update,
)
from core.tasks import base_rate

FIXED = preset("question-fixed")  # online, linear readout, NOT x[t-1], p = 0.25, window 1
LEARNED_OK = FIXED.replace(window=2)  # a window that reaches the answer: no config hint at all


def _stats(acc=1.0, loss=0.002, n=1000, steps=5000, ratio=3e-4, seed=0):
    """Online-looking stats: n recent 0/1 correctness values with the given accuracy, noisy losses."""
    rng = np.random.default_rng(seed)
    correct = (rng.random(n) < acc).astype(float)
    losses = loss * (0.5 + rng.random(n))
    return live_stats_from(losses, correct, steps, ratio)


def codes(cfg, stats=None):
    return hint_codes(diagnose(cfg, stats))


def test_healthy_learned_run_has_no_hints():
    assert diagnose(LEARNED_OK, _stats()) == []
    assert diagnose(LEARNED_OK) == []


# -- config hints -------------------------------------------------------------------------------------------

def test_raw_readout_fires_only_for_raw():
    raw = LEARNED_OK.replace(readout="raw")
    hints = diagnose(raw)
    assert [h.code for h in hints] == [RAW_READOUT] and hints[0].severity == "error"
    assert "-1 and 1" in hints[0].text and "linear" in hints[0].text
    assert RAW_READOUT not in codes(LEARNED_OK)
    assert RAW_READOUT in codes(raw.replace(mode="batch"))  # the readout is wrong in either mode


@pytest.mark.parametrize("lag,window,rule,mode,fires", [
    (1, 1, "tbptt", "online", True),
    (3, 3, "tbptt", "online", True),
    (3, 2, "tbptt", "online", True),
    (3, 4, "tbptt", "online", False),  # window > lag reaches the step that holds x[t-lag]
    (1, 2, "tbptt", "online", False),
    (0, 1, "tbptt", "online", False),  # lag 0: the answer is in the current step
    (3, 1, "rtrl", "online", False),  # exact RTRL has no truncation
    (3, 1, "tbptt", "batch", False),  # batch backpropagates through whole sequences
])
def test_short_window_fires_when_the_window_does_not_reach_the_lag(lag, window, rule, mode, fires):
    cfg = FIXED.replace(lag=lag, window=window, rule=rule, mode=mode)
    hints = [h for h in diagnose(cfg) if h.code == SHORT_WINDOW]
    assert bool(hints) == fires
    if fires:
        assert hints[0].severity == "warning" and str(lag + 1) in hints[0].text


# -- statistical hints --------------------------------------------------------------------------------------

def test_base_rate_fires_when_accuracy_sits_at_the_majority_rate():
    b = base_rate(FIXED.task)
    assert b == 0.75
    hints = [h for h in diagnose(LEARNED_OK, _stats(acc=b, loss=0.19)) if h.code == BASE_RATE]
    assert len(hints) == 1 and hints[0].title == "Accuracy is at the base rate"
    assert "majority class (1)" in hints[0].text and "0.750" in hints[0].text
    below = [h for h in diagnose(LEARNED_OK, _stats(acc=0.3, loss=0.3)) if h.code == BASE_RATE]
    assert below and below[0].title == "Accuracy is below the base rate"


@pytest.mark.parametrize("acc", [0.85, 0.95, 1.0])
def test_base_rate_is_silent_when_accuracy_beats_it(acc):
    assert BASE_RATE not in codes(LEARNED_OK, _stats(acc=acc, loss=0.05))


def test_base_rate_needs_evidence():
    assert BASE_RATE not in codes(LEARNED_OK, _stats(acc=0.75, steps=500))  # too few updates
    assert BASE_RATE not in codes(LEARNED_OK, _stats(acc=0.75, n=100))  # too few recent values
    assert BASE_RATE in codes(LEARNED_OK, _stats(acc=0.75, n=Rules().min_recent, steps=Rules().min_steps))


def test_base_rate_silent_when_the_majority_is_everything():
    cfg = LEARNED_OK.replace(kind="xor", lag=0)  # target always 0: base rate 1
    assert base_rate(cfg.task) == 1.0
    assert BASE_RATE not in codes(cfg, _stats(acc=1.0))


def test_base_rate_in_batch_mode_uses_minibatch_accuracies():
    cfg = preset("answer").replace(p=0.25)  # base rate 0.75 (the answer itself has p = 0.5)
    flat = live_stats_from(np.full(50, 0.2), np.full(50, 0.75) + 0.001 * np.sin(np.arange(50)), steps=200)
    assert BASE_RATE in codes(cfg, flat)
    learned = live_stats_from(np.full(50, 0.01), np.full(50, 0.999), steps=200)
    assert BASE_RATE not in codes(cfg, learned)
    assert BASE_RATE not in codes(cfg, live_stats_from(np.full(50, 0.2), np.full(50, 0.75), steps=50))


def test_non_finite_loss_fires_at_once_and_hides_the_rest():
    losses = np.r_[np.full(20, 0.2), np.nan]
    st = live_stats_from(losses, np.full(21, 0.0), steps=21)
    hints = diagnose(LEARNED_OK, st)
    assert [h.code for h in hints] == [LOSS_NONFINITE] and hints[0].severity == "error"
    st_inf = live_stats_from([0.1, np.inf], [1, 0], steps=2)
    assert LOSS_NONFINITE in codes(LEARNED_OK, st_inf)
    assert LOSS_NONFINITE not in codes(LEARNED_OK, _stats())


def test_loss_rising_fires_when_the_loss_climbs():
    rng = np.random.default_rng(0)
    losses = np.r_[0.02 * rng.random(500), 0.3 * rng.random(500)]  # the second half ~15x the first
    st = live_stats_from(losses, np.ones(1000), steps=4000)
    hints = [h for h in diagnose(LEARNED_OK, st) if h.code == LOSS_RISING]
    assert hints and "learning rate" in hints[0].text


def test_loss_rising_is_silent_for_flat_or_falling_or_noisy_losses():
    rng = np.random.default_rng(1)
    flat = rng.exponential(0.1, 1000)
    falling = np.linspace(0.3, 0.01, 1000) * (0.5 + rng.random(1000))
    spiky = flat.copy()
    spiky[700] = 50.0  # one spike lifts the mean but is not a trend
    for losses in (flat, falling, spiky):
        assert LOSS_RISING not in codes(LEARNED_OK, live_stats_from(losses, np.ones(1000), steps=4000))
    rising = np.r_[0.02 * rng.random(500), 0.3 * rng.random(500)]
    assert LOSS_RISING not in codes(LEARNED_OK, live_stats_from(rising, np.ones(1000), steps=800))


def test_vanishing_updates_fire_when_updates_are_tiny_and_the_loss_high():
    high = constant_loss(FIXED)  # p(1-p) = 0.1875 for mse
    assert high == pytest.approx(0.1875)
    hints = [h for h in diagnose(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=1e-7)) if h.code == VANISHING_UPDATES]
    assert hints and "1.0e-07" in hints[0].text
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=3e-4))  # normal steps
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=1.0, loss=0.002, ratio=1e-7))  # learned
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=float("nan")))
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=1e-7, steps=100))


def test_hints_are_sorted_by_severity_and_well_formed():
    cfg = preset("question")
    hints = diagnose(cfg, _stats(acc=0.75, loss=0.19))
    ranks = [SEVERITIES.index(h.severity) for h in hints]
    assert ranks == sorted(ranks, reverse=True)
    for h in hints:
        assert isinstance(h, Hint) and h.severity in SEVERITIES and h.title and len(h.text) > 40


def test_relative_update_and_snapshots():
    import torch

    m = torch.nn.Linear(3, 2)
    before = param_snapshot(m)
    assert before.shape == (8,)
    with torch.no_grad():
        m.weight.add_(0.01)
    after = param_snapshot(m)
    assert relative_update(before, after) == pytest.approx(np.linalg.norm(np.full(6, 0.01)) / np.linalg.norm(before))
    assert relative_update(before, after, updates=2) == pytest.approx(relative_update(before, after) / 2)
    assert np.isnan(relative_update(np.zeros(3), np.ones(3)))


def test_live_stats_from_records_reads_trainer_records():
    from core.trainers import OnlineTrainer

    tr = OnlineTrainer(FIXED.replace(steps=50))
    recs = [tr.step() for _ in range(30)] + [tr.step(train=False) for _ in range(10)]
    st = live_stats_from_records(recs)
    assert isinstance(st, LiveStats) and st.steps == 30  # evaluation steps are not updates
    np.testing.assert_allclose(st.losses, [r.loss for r in recs])
    assert st.accuracy == pytest.approx(np.mean([r.correct for r in recs]))
    assert st.pred_ones == pytest.approx(np.mean([r.y_hat >= 0.5 for r in recs]))


def _run(cfg, steps, probe_every=100):
    """Train online for `steps`, returning LiveStats over the last 1000 steps with a measured update ratio."""
    from core.trainers import OnlineTrainer

    tr = OnlineTrainer(cfg)
    recs, ratios = [], []
    for i in range(steps):
        if i % probe_every == 0:
            before = param_snapshot(tr.model)
            recs.append(tr.step())
            ratios.append(relative_update(before, param_snapshot(tr.model)))
        else:
            recs.append(tr.step())
    return live_stats_from_records(recs[-1000:], steps=steps, update_ratio=float(np.median(ratios[-10:])))


def test_question_preset_gets_raw_readout_and_base_rate_hints():
    cfg = preset("question")
    st = _run(cfg, 3000)
    assert abs(st.accuracy - 0.75) < 0.03 and st.pred_ones > 0.95  # it answers the majority class, 1
    got = codes(cfg, st)
    assert {RAW_READOUT, BASE_RATE, SHORT_WINDOW} <= got
    assert not got & {LOSS_NONFINITE, LOSS_RISING, VANISHING_UPDATES}


def test_question_fixed_after_learning_has_no_raw_or_base_rate_hint():
    cfg = preset("question-fixed")
    st = _run(cfg, 4000)
    assert st.accuracy == 1.0
    got = codes(cfg, st)
    assert not got & {RAW_READOUT, BASE_RATE, LOSS_NONFINITE, LOSS_RISING, VANISHING_UPDATES}
    assert got == set()  # every hint is gone once it has learned (the short-window hint included)
    assert SHORT_WINDOW in codes(cfg, None)  # before any evidence, the config alone still warns


def test_raising_the_learning_rate_mid_run_gives_loss_rising():
    from core.trainers import OnlineTrainer

    cfg = preset("question-fixed")
    tr = OnlineTrainer(cfg)
    recs = [tr.step() for _ in range(3000)]
    tr.set_lr(0.1)
    recs += [tr.step() for _ in range(600)]
    st = live_stats_from_records(recs[-1000:], steps=3600)
    assert LOSS_RISING in codes(cfg.replace(lr=0.1), st)


def test_tiny_sgd_steps_give_vanishing_updates():
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=1e-6)
    st = _run(cfg, 1500)
    assert st.update_ratio < 1e-5
    assert VANISHING_UPDATES in codes(cfg, st)
