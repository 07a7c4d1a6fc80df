"""core.analysis.story: the whole run's story (best windowed accuracy and when, first solved, lost), checked
against a brute-force oracle over the raw per-step values; and the verdict's words with a story (issue 20)."""

import math

import numpy as np

from core.analysis.story import run_story, series_story, story_window
from core.analysis.verdict import judge
from core.config import preset
from core.history import DecimatingSeries

Q = preset("question-fixed")


def _oracle(acc, window):
    """Every window of `window` consecutive steps, by plain Python sums: (end step, mean)."""
    return [(e, sum(acc[e - window:e]) / window) for e in range(window, len(acc) + 1)]


def _learned_then_lost(rng):
    """200 steps at chance, 600 solved (one error), 400 back at the base rate."""
    acc = list((rng.random(200) < 0.75).astype(float)) + [1.0] * 600 + list((rng.random(400) < 0.75).astype(float))
    acc[500] = 0.0
    return acc


def test_story_matches_a_brute_force_oracle():
    acc = _learned_then_lost(np.random.default_rng(0))
    loss = [1.0 - a for a in acc]
    st = run_story(np.array(acc), np.array(loss), stride=1, window=100)
    means = _oracle(acc, 100)
    best = max(m for _, m in means)
    solved = [e for e, m in means if m >= 0.99]
    assert st.window == 100 and st.steps == 1200
    assert st.best == best == 1.0 and st.best_step == next(e for e, m in means if m == best)
    assert st.first_solved_step == solved[0] and st.last_solved_step == solved[-1]
    assert st.lost_step == solved[-1] + 100  # a whole window after the last solved one, all below 0.99
    assert all(m < 0.99 for e, m in means if e >= st.lost_step)
    assert st.lost and math.isclose(st.last, means[-1][1]) and math.isclose(st.last_loss, 1 - means[-1][1])


def test_story_of_a_decimated_series_is_bounded_and_names_its_window():
    acc = _learned_then_lost(np.random.default_rng(1)) * 4  # 4,800 steps
    s_acc, s_loss = DecimatingSeries(capacity=64), DecimatingSeries(capacity=64)
    for a in acc:
        s_acc.append(a)
        s_loss.append(1 - a)
    assert s_acc.stride > 1 and len(s_acc) <= 64
    st = run_story(s_acc.values(), s_loss.values(), s_acc.stride, window=100)
    assert st.window % s_acc.stride == 0 and st.window >= 100  # whole points, and said so
    assert st.steps == len(s_acc) * s_acc.stride


def test_a_run_still_solved_at_its_end_is_not_lost_and_an_empty_one_has_no_story():
    acc = [0.0] * 100 + [1.0] * 300
    st = run_story(np.array(acc), np.zeros(400), 1, 50)
    assert st.first_solved_step == 150 and st.lost_step is None and not st.lost
    empty = run_story(np.zeros(0), np.zeros(0), 1, 50)
    assert math.isnan(empty.best) and empty.first_solved_step is None and not empty.lost


def test_lost_verdict_tells_the_story_and_a_solved_one_says_when():
    acc = _learned_then_lost(np.random.default_rng(0))
    st = run_story(np.array(acc), np.zeros(len(acc)), 1, 100)
    v = judge(Q, 0.741, 1000, loss=0.19, step=200_000, story=st)
    assert v.code == "lost"
    assert v.text == (f"learned by step {st.first_solved_step:,}, lost it by step {st.lost_step:,}: held-out "
                      "accuracy 0.741 at step 200,000, back at the base rate 0.75")
    d = v.to_dict()
    assert d["best"] == {"accuracy": 1.0, "step": st.best_step, "window": 100}
    assert d["first_solved_step"] == st.first_solved_step and d["step"] == 200_000
    ok = judge(Q, 1.0, 1000, step=20_000, story=run_story(np.ones(400), np.zeros(400), 1, 50))
    assert ok.code == "learned" and ok.text == "learned: held-out accuracy 1.000 at step 20,000 (solved by step 50)"
    # no story: the old words, and never 'lost'
    assert judge(Q, 0.741, 1000).code == "base-rate"


def test_story_window_is_the_plots_default_window():
    assert story_window(Q) == 500 and story_window(Q.replace(steps=200_000)) == 2000
    s = DecimatingSeries()
    assert series_story(Q, s, DecimatingSeries()).window == 500


def test_the_readout_text_of_a_huge_logit_under_bce_is_0_or_1_not_an_overflow():
    """A diverging run's readout can reach logits far past exp's range; σ is still 0 or 1 (the stress walk's
    'math range error' in the Inspector)."""
    from core.analysis.step_story import readout_text

    low = readout_text("linear", "bce", [1.0], w=[-1e6], b=0.0)
    high = readout_text("linear", "bce", [1.0], w=[1e6], b=0.0)
    assert "σ(w·h + b) = 0.000" in low and "σ(w·h + b) = 1.000" in high
