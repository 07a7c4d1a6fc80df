"""Each hint fires on the evidence it names and stays silent otherwise; a run that has learned gets no warning."""

import numpy as np
import pytest

from core.analysis.hints import (
    BASE_RATE,
    LEVELS,
    LOSS_HIGH,
    LOSS_NONFINITE,
    LOSS_RISING,
    RAW_READOUT,
    SHORT_WINDOW,
    VANISHING_UPDATES,
    Hint,
    LiveStats,
    Rules,
    diagnose,
    has_learned,
    live_stats_from,
    param_snapshot,
    relative_update,
)
from core.analysis.verdict import constant_loss, judge
from core.cli.train import train
from core.config import preset
from core.tasks import base_rate
from core.train.loop import UPDATE_RATIO_EVERY, train_unit
from core.train.trainer import OnlineTrainer

FIXED = preset("question-fixed")  # online, linear readout, NOT x[t-1], p = 0.25, window 1
LEARNED_OK = FIXED.replace(window=2)  # a window that reaches the answer: no config hint at all


def _stats(acc=1.0, loss=0.002, n=1000, steps=5000, ratio=3e-4, seed=0):
    """Online-looking stats: n recent 0/1 correctness values with the given accuracy, noisy losses."""
    rng = np.random.default_rng(seed)
    correct = (rng.random(n) < acc).astype(float)
    losses = loss * (0.5 + rng.random(n))
    return live_stats_from(losses, correct, steps, ratio)


def codes(cfg, stats=None, verdict=None):
    return {h.code for h in diagnose(cfg, stats, verdict)}


def warnings_of(hints):
    return [(h.code, h.level) for h in hints if h.level != "info"]


def test_healthy_learned_run_has_no_hints():
    assert diagnose(LEARNED_OK, _stats()) == []
    assert diagnose(LEARNED_OK) == []


def test_hints_are_sorted_by_level_and_well_formed():
    hints = diagnose(preset("question"), _stats(acc=0.75, loss=0.19))
    ranks = [LEVELS.index(h.level) for h in hints]
    assert ranks == sorted(ranks, reverse=True)
    for h in hints:
        assert isinstance(h, Hint) and h.level in LEVELS and h.title and len(h.text) > 40
        assert h.to_dict() == {"code": h.code, "level": h.level, "title": h.title, "text": h.text}
        assert not hasattr(h, "severity")  # one name for it: the window reads .level


# -- config hints -------------------------------------------------------------------------------------------

def test_raw_readout_is_an_error_only_for_raw_with_something_to_remember():
    raw = LEARNED_OK.replace(readout="raw")
    hints = diagnose(raw)
    assert [h.code for h in hints] == [RAW_READOUT] and hints[0].level == "error"
    assert "-1 and 1" in hints[0].text and "linear" in hints[0].text
    assert RAW_READOUT not in codes(LEARNED_OK)
    assert RAW_READOUT in codes(raw.replace(mode="batch"))  # the readout is wrong in either mode
    lag0 = diagnose(raw.replace(lag=0))  # nothing to remember: a note, not an error
    assert [(h.code, h.level) for h in lag0] == [(RAW_READOUT, "info")]


def test_raw_readout_error_goes_once_the_run_learned():
    raw = LEARNED_OK.replace(readout="raw")
    assert RAW_READOUT not in codes(raw, _stats(acc=1.0))
    assert RAW_READOUT not in codes(raw, None, judge(raw, 1.0, 1000))


@pytest.mark.parametrize("lag,window,rule,mode,applies", [
    (1, 1, "tbptt", "online", True),
    (3, 3, "tbptt", "online", True),
    (3, 2, "tbptt", "online", True),
    (3, 4, "tbptt", "online", False),  # window > lag reaches the step that holds x[t-lag]
    (1, 2, "tbptt", "online", False),
    (0, 1, "tbptt", "online", False),  # lag 0: the answer is in the current step
    (3, 1, "rtrl", "online", False),  # exact RTRL has no truncation
    (3, 1, "tbptt", "batch", False),  # batch backpropagates through whole sequences
])
def test_short_window_without_evidence_is_information_not_a_warning(lag, window, rule, mode, applies):
    cfg = FIXED.replace(lag=lag, window=window, rule=rule, mode=mode)
    hints = [h for h in diagnose(cfg) if h.code == SHORT_WINDOW]
    assert bool(hints) == applies
    if applies:
        assert hints[0].level == "info" and str(lag + 1) in hints[0].text and "watch the accuracy" in hints[0].text


def test_short_window_becomes_a_warning_only_after_steps_without_learning():
    cfg = FIXED.replace(lag=3, window=1)
    patience = Rules().short_window_patience

    def level(stats=None, verdict=None):
        return [h.level for h in diagnose(cfg, stats, verdict) if h.code == SHORT_WINDOW]

    assert level(_stats(acc=0.85, steps=patience - 1)) == ["info"]  # too early to blame the window
    warned = [h for h in diagnose(cfg, _stats(acc=0.85, steps=patience)) if h.code == SHORT_WINDOW]
    assert warned[0].level == "warning" and "accuracy is 0.8" in warned[0].text and "5,000 steps" in warned[0].text
    assert level(_stats(acc=1.0, steps=10 * patience)) == []  # learned anyway: no hint at all
    assert level(None, judge(cfg, 0.85, 1000)) == ["warning"]  # ended without learning
    assert level(None, judge(cfg, 1.0, 1000)) == []
    raw = cfg.replace(readout="raw")  # the raw readout's error explains the failure; the window stays a note
    assert [h.level for h in diagnose(raw, _stats(acc=0.75, steps=patience)) if h.code == SHORT_WINDOW] == ["info"]


# -- statistical hints --------------------------------------------------------------------------------------

def test_base_rate_fires_when_accuracy_sits_at_the_majority_rate():
    b = base_rate(FIXED.task)
    assert b == 0.75
    hints = [h for h in diagnose(LEARNED_OK, _stats(acc=b, loss=0.19)) if h.code == BASE_RATE]
    assert len(hints) == 1 and hints[0].title == "Accuracy is at the base rate" and hints[0].level == "warning"
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


def test_base_rate_from_a_held_out_verdict():
    v = judge(LEARNED_OK, 0.76, 1000)
    assert v.code == "base-rate"
    hints = [h for h in diagnose(LEARNED_OK, None, v) if h.code == BASE_RATE]
    assert hints and "held-out accuracy is 0.760" in hints[0].text
    assert BASE_RATE not in codes(LEARNED_OK, _stats(acc=0.75), judge(LEARNED_OK, 0.9, 1000))  # the verdict wins
    below = [h for h in diagnose(LEARNED_OK, None, judge(LEARNED_OK, 0.3, 1000)) if h.code == BASE_RATE]
    assert below[0].title == "Accuracy is below the base rate"


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
    assert [h.code for h in hints] == [LOSS_NONFINITE] and hints[0].level == "error"
    assert LOSS_NONFINITE in codes(LEARNED_OK, live_stats_from([0.1, np.inf], [1, 0], steps=2))
    assert LOSS_NONFINITE not in codes(LEARNED_OK, _stats())
    assert codes(LEARNED_OK, None, judge(LEARNED_OK, 0.25, 1000, loss=float("nan"))) == {LOSS_NONFINITE}


def test_loss_rising_fires_when_the_loss_climbs_high_and_stays_up():
    rng = np.random.default_rng(0)
    losses = np.r_[0.02 * rng.random(500), 0.3 * rng.random(500)]  # the second half ~15x the first
    st = live_stats_from(losses, np.full(1000, 0.9), steps=4000)
    hints = [h for h in diagnose(LEARNED_OK, st) if h.code == LOSS_RISING]
    assert hints and "learning rate" in hints[0].text and hints[0].level == "warning"


def test_loss_rising_is_silent_for_flat_falling_spiky_early_or_small_losses():
    rng = np.random.default_rng(1)
    flat = rng.exponential(0.1, 1000)
    falling = np.linspace(0.3, 0.01, 1000) * (0.5 + rng.random(1000))
    spiky = flat.copy()
    spiky[700] = 50.0  # one spike lifts the mean but is not a sustained rise
    bump = np.r_[0.02 * rng.random(500), 0.3 * rng.random(250), 0.02 * rng.random(250)]  # up, then back down
    for losses in (flat, falling, spiky, bump):
        assert LOSS_RISING not in codes(LEARNED_OK, live_stats_from(losses, np.full(1000, 0.9), steps=4000))
    rising = np.r_[0.02 * rng.random(500), 0.3 * rng.random(500)]
    assert LOSS_RISING not in codes(LEARNED_OK, live_stats_from(rising, np.full(1000, 0.9), steps=800))  # early
    # the solved run: 0.00027 -> 0.00089, tiny against the constant guess's 0.1875
    solved = np.r_[0.00054 * rng.random(500), 0.00178 * rng.random(500)]
    assert LOSS_RISING not in codes(LEARNED_OK, live_stats_from(solved, np.full(1000, 0.9), steps=20000))


def test_loss_high_fires_when_the_loss_is_worse_than_a_constant_guess():
    cfg = FIXED.replace(lag=3, window=1)
    st = _stats(acc=0.6, loss=0.5, steps=Rules().short_window_patience)  # ~2.7x the constant guess's 0.1875
    hints = diagnose(cfg, st)
    high = [h for h in hints if h.code == LOSS_HIGH]
    assert high and high[0].level == "warning" and "learning rate" in high[0].text
    # a loss worse than a guess explains the failure better than the window: the window stays a note
    assert [h.level for h in hints if h.code == SHORT_WINDOW] == ["info"]
    assert LOSS_HIGH not in codes(cfg, _stats(acc=0.6, loss=0.25))  # near the guess: no claim
    assert LOSS_HIGH not in codes(cfg, _stats(acc=0.6, loss=0.5, steps=500))  # too early


def test_vanishing_updates_fire_when_updates_are_tiny_and_the_loss_high():
    high = constant_loss(FIXED)  # p(1-p) = 0.1875 for mse
    assert high == pytest.approx(0.1875)
    hints = [h for h in diagnose(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=1e-7)) if h.code == VANISHING_UPDATES]
    assert hints and "1.0e-07" in hints[0].text
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=3e-4))  # normal steps
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=1.0, loss=0.002, ratio=1e-7))  # learned
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=float("nan")))
    assert VANISHING_UPDATES not in codes(LEARNED_OK, _stats(acc=0.9, loss=high, ratio=1e-7, steps=100))


def test_a_learned_run_gets_no_warning_whatever_its_numbers():
    rng = np.random.default_rng(2)
    rising = np.r_[0.02 * rng.random(500), 0.3 * rng.random(500)]
    st = live_stats_from(rising, np.ones(1000), steps=4000, update_ratio=1e-8)
    cfg = FIXED.replace(lag=3, window=1)
    assert has_learned(cfg, st)
    assert diagnose(cfg, st) == []
    assert diagnose(cfg, _stats(acc=0.75), judge(cfg, 1.0, 1000)) == []  # the held-out verdict decides


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


# -- real runs, through the path the runner and the window use (train_unit, the analysis window) -----------

class Evidence:
    """A trainer advanced by the one run loop (core.train.loop.train_unit), and the LiveStats the runner and the
    window read from it: the trainer's analysis window, the units trained and the last measured update."""

    def __init__(self, cfg):
        self.tr, self.steps, self.ratio = OnlineTrainer(cfg), 0, float("nan")

    def train(self, n: int = 1) -> list:
        recs = []
        for _ in range(n):
            done = train_unit(self.tr, self.steps)
            self.steps += 1
            if done.update_ratio is not None:
                self.ratio = done.update_ratio
            recs.append(done.unit)
        return recs

    def stats(self) -> LiveStats:
        w = self.tr.analysis_window(np.zeros(0), np.zeros(0))
        return live_stats_from(w.losses, w.correct, self.steps, self.ratio, w.pred_ones)


def test_the_run_loop_records_what_the_trainer_did():
    ev, twin = Evidence(FIXED), OnlineTrainer(FIXED)
    recs = ev.train(1200)
    assert [r.loss for r in recs] == [twin.step().loss for _ in range(1200)]  # the same steps as trainer.step()
    st = ev.stats()
    assert isinstance(st, LiveStats) and st.steps == 1200 and len(st.losses) == 1000  # the last 1,000 steps
    np.testing.assert_allclose(st.losses, [r.loss for r in recs[-1000:]], rtol=1e-6)
    assert st.accuracy == pytest.approx(np.mean([r.correct for r in recs[-1000:]]))
    assert st.pred_ones == pytest.approx(np.mean([r.y_hat >= 0.5 for r in recs[-1000:]]))
    assert np.isfinite(st.update_ratio) and st.update_ratio > 0


def test_the_update_ratio_is_one_units_change_measured_mid_span():
    cfg = FIXED.replace(optimizer="sgd", lr=0.05)
    ev, twin = Evidence(cfg), OnlineTrainer(cfg)
    half = UPDATE_RATIO_EVERY // 2
    ev.train(half + 1)
    for _ in range(half):
        twin.step()
    before = param_snapshot(twin.model)
    twin.step()
    assert ev.ratio == relative_update(before, param_snapshot(twin.model))  # the unit after `half` done


def _hints_along(cfg, steps, every):
    """The hints the window would show every `every` steps of a run (evidence: the last 1,000 steps)."""
    ev, seen = Evidence(cfg), []
    for i in range(1, steps + 1):
        ev.train()
        if i % every == 0:
            seen.append((i, diagnose(cfg, ev.stats())))
    return seen


def test_question_fixed_never_gets_a_warning_from_step_0():
    cfg = preset("question-fixed")
    assert warnings_of(diagnose(cfg)) == []  # before any step: the short window is a note only
    seen = _hints_along(cfg, cfg.train.steps, every=500)
    assert [(i, warnings_of(h)) for i, h in seen if warnings_of(h)] == []
    assert seen[-1][1] == []  # learned: not even the note


def test_question_gets_the_raw_readout_error_and_the_base_rate_warning():
    cfg = preset("question")
    (_, hints), = _hints_along(cfg, 3000, every=3000)
    got = {(h.code, h.level) for h in hints}
    assert {(RAW_READOUT, "error"), (BASE_RATE, "warning"), (SHORT_WINDOW, "info")} == got


@pytest.mark.slow
def test_solved_rtrl_lag_3_run_gets_no_warning():
    cfg = preset("question-fixed").replace(lag=3, rule="rtrl", steps=15000)
    seen = _hints_along(cfg, cfg.train.steps, every=1000)
    late = [(i, warnings_of(h)) for i, h in seen if i >= 6000 and warnings_of(h)]
    assert late == []  # once solved (by ~4,000 steps), no rising-loss or other warning
    report = train(cfg, log_every=cfg.train.steps, out=lambda *_: None)
    assert report["final"]["verdict"]["code"] == "learned" and report["hints"] == []


def test_raising_the_learning_rate_mid_run_gives_loss_rising():
    cfg = preset("question-fixed")
    ev = Evidence(cfg)
    ev.train(3000)
    ev.tr.set_lr(0.1)
    ev.train(400)
    assert LOSS_RISING in codes(cfg.replace(lr=0.1), ev.stats())


def test_tiny_sgd_steps_give_vanishing_updates():
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=1e-6)
    ev = Evidence(cfg)
    ev.train(1500)
    st = ev.stats()
    assert st.update_ratio < 1e-5
    assert VANISHING_UPDATES in codes(cfg, st)
