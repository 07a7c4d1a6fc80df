"""Issue 10 (the views' part), headless: the live engine's verdict when a run reaches its end, hints that rest
on it, the plots' reference values, and the Inspector's readout and target in words (core.analysis.step_story)."""

import math

import numpy as np
import pytest

from core.analysis.step_story import readout_text, target_text
from core.analysis.verdict import references
from core.config import preset
from core.live.engine import LiveEngine


def _run_to_end(cfg) -> LiveEngine:
    eng = LiveEngine(cfg)
    eng.start()
    while eng.running:
        eng.advance(1.0)
    return eng


def _warnings(hints):
    return [h for h in hints if h.level in ("warning", "error")]


def test_question_fixed_reaches_its_steps_learned_without_a_warning():
    eng = _run_to_end(preset("question-fixed").replace(steps=3000, eval_steps=500))
    s = eng.snapshot()
    assert s.finished and s.step == 3000
    assert s.verdict is not None and s.verdict.code == "learned"
    # it names the step it judged (issue 20)
    assert s.verdict.text.startswith("learned: held-out accuracy 1.000 at step 3,000") and s.verdict.n == 500
    assert _warnings(s.analysis.hints) == []  # no window warning, no 'loss rising' on a learned run
    # the held-out steps were measured without moving the run: the window ends at the step total, Start continues
    assert s.view.t0 + len(s.view.x) == 3000 and eng.trainer.t == 3000
    eng.start()
    eng.advance(max_steps=5)
    assert eng.steps == 3005 and eng.verdict is not None


def test_a_new_run_clears_the_verdict():
    eng = _run_to_end(preset("question-fixed").replace(steps=300, eval_steps=100))
    assert eng.verdict is not None
    eng.reset(preset("question-fixed").replace(steps=300))
    assert eng.verdict is None and eng.snapshot().verdict is None


def test_question_ends_at_the_base_rate_with_the_raw_readout_error():
    eng = _run_to_end(preset("question").replace(steps=2000, eval_steps=500))
    s = eng.snapshot()
    assert s.verdict.code == "base-rate" and s.verdict.text.startswith("stuck at the base rate 0.75")
    levels = {h.code: h.level for h in s.analysis.hints}
    assert levels.get("raw-readout") == "error"


def test_batch_run_judged_by_val_accuracy_at_its_last_epoch():
    cfg = preset("answer").replace(n_sequences=400, epochs=2)
    eng = _run_to_end(cfg)
    s = eng.snapshot()
    assert s.finished and s.verdict is not None and s.verdict.metric == "val_accuracy"
    assert s.verdict.n == 40 * 32  # the validation split's targets
    # judged at its last epoch: the figure is that epoch's logged val_accuracy, and the text says "after epoch 2"
    assert eng.trainer.epoch == 2 and s.verdict.figure == eng.trainer.history["val_accuracy"][-1]
    assert len(eng.trainer.history["val_accuracy"]) == 2
    assert "validation accuracy" in s.verdict.text and "after epoch 2" in s.verdict.text, s.verdict.text


@pytest.mark.slow
def test_solved_rtrl_lag_3_run_gets_no_warning():
    eng = _run_to_end(preset("question-fixed").replace(lag=3, rule="rtrl", steps=12000, lr=3e-3, eval_steps=1000))
    s = eng.snapshot()
    assert s.verdict.code == "learned", s.verdict.text
    assert _warnings(s.analysis.hints) == []


@pytest.mark.parametrize("name, base, majority, constant", [
    ("question", 0.75, 1, 0.1875),   # P(x=1) 1/4, target NOT x[t-1]: 1 three times in four; mse p(1-p)
    ("answer", 0.5, 1, 0.25),        # P 0.5, target 1 - x
])
def test_reference_values_of_the_presets(name, base, majority, constant):
    ref = references(preset(name))
    assert ref.base_rate == pytest.approx(base) and ref.majority == majority and ref.solved == 0.99
    assert ref.constant_loss == pytest.approx(constant)


def test_target_text_for_each_kind():
    x = np.array([0, 1, 0, 0, 1])
    assert target_text("not", 3, x, 100, 4, 1) == "y = NOT x[t−3] = NOT 1 = 0"
    assert target_text("not", 3, x, 100, 3, 1) == "y = NOT x[t−3] = NOT 0 = 1"
    assert target_text("copy", 1, x, 100, 2) == "y = x[t−1] = 1"
    assert target_text("xor", 2, x, 100, 4) == "y = x[t] XOR x[t−2] = 1 XOR 0 = 1"
    assert target_text("not", 0, x, 100, 1) == "y = NOT x[t] = NOT 1 = 0"
    # before the stream's start an input counts as 0 (core.tasks); before the window it is not known here
    assert target_text("not", 3, x, 0, 1, 1).startswith("y = NOT x[t−3] = NOT 0 = 1 (x[t−3] is before the stream")
    assert "before the recorded window" in target_text("not", 3, x, 100, 1, 1)


def test_readout_text_linear_raw_and_bce():
    h = np.array([0.5, -0.25])
    text = readout_text("linear", "mse", h, np.array([1.0, 2.0]), 0.1, y_hat=0.1)
    assert text == "ŷ = w·h[t] + b = 1.000·0.500 + 2.000·(−0.250) + 0.100 = 0.100"
    raw = readout_text("raw", "mse", h, y_hat=0.125)
    assert raw == "ŷ = mean of the 2 units' h[t] = 0.125"
    bce = readout_text("linear", "bce", h, np.array([1.0, 2.0]), 0.1, y_hat=1 / (1 + math.exp(-0.1)))
    assert bce.endswith("ŷ = σ(w·h + b) = 0.525")
    stale = readout_text("linear", "mse", h, np.array([1.0, 2.0]), 0.1, y_hat=0.2)
    assert "the step itself predicted 0.200, before its update" in stale


def test_snapshot_carries_the_readout_weights():
    eng = LiveEngine(preset("question-fixed"))
    eng.step(3)
    w, b = eng.snapshot().readout
    assert w.shape == (16,) and math.isfinite(b)
    eng.reset(preset("question"))
    assert eng.snapshot().readout is None
