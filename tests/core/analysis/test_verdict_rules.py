"""core.analysis.verdict, rule by rule and at each boundary (written against `make mutation`'s survivors): every
figure, word and field the verdict hands on, each expected value worked out here from the documented rule."""

import math

import pytest

from core.analysis.story import Story
from core.analysis.verdict import (
    at_text,
    base_rate_band,
    constant_loss,
    heldout,
    heldout_verdict,
    judge,
    metric_words,
    references,
    unit_word,
    verdict_of_report,
)
from core.config import preset
from core.tasks import base_rate
from core.train.trainer import make_trainer

Q = preset("question")  # NOT x[t-1], p = 0.25: base rate 0.75, majority class 1
ANSWER = preset("answer")


def _story(**kw):
    """A run that solved the task by step 400 and lost it by 4,125 (last window 0.76), unless told otherwise."""
    base = dict(window=100, steps=5000, best=1.0, best_step=400, best_loss=0.01, first_solved_step=400,
                last_solved_step=4000, lost_step=4125, last=0.76, last_loss=0.2)
    base.update(kw)
    return Story(**base)


# -- references ---------------------------------------------------------------------------------------------
def test_constant_loss_is_zero_for_a_target_that_never_varies():
    assert constant_loss(Q.replace(kind="xor", lag=0, loss="bce")) == 0.0  # the target is always 0
    always_one = Q.replace(p=1e-20, loss="bce")  # NOT of a bit that is 1 with probability 1e-20: p1 = 1.0 in floats
    assert 1 - 1e-20 == 1.0 and constant_loss(always_one) == 0.0


def test_a_tie_makes_1_the_majority_class():
    assert references(ANSWER).majority == 1 and references(ANSWER).base_rate == 0.5  # P(y = 1) = 0.5 exactly


def test_metric_words_and_unit_words():
    assert metric_words("val_accuracy") == "validation accuracy" and metric_words("mystery") == "mystery"
    assert unit_word(ANSWER) == "minibatch" and unit_word(Q) == "step"


def test_base_rate_band_without_targets_and_with_one():
    assert base_rate_band(0.75, 0) == 0.02  # nothing measured: no standard error, the floor
    assert base_rate_band(0.75, 1) == pytest.approx(3 * math.sqrt(0.75 * 0.25))


# -- the unit judged, in words ----------------------------------------------------------------------------------
def _minibatches_per_epoch(cfg) -> int:
    """The oracle: count the minibatches of one real epoch."""
    tr = make_trainer(cfg)
    n = 1
    while tr.step().epoch_end is None:
        n += 1
    return n


def test_at_text_names_an_epoch_only_at_an_epochs_end():
    cfg = ANSWER.replace(n_sequences=200, seq_len=8, batch_size=32, epochs=3)  # 180 training sequences: 6 each
    per = _minibatches_per_epoch(cfg)
    assert per == 6
    assert at_text(cfg, 2 * per) == "after epoch 2" and at_text(cfg, per) == "after epoch 1"
    assert at_text(cfg, per + 1) == "at minibatch 7" and at_text(cfg, 3) == "at minibatch 3"
    assert at_text(cfg, 0) == "at minibatch 0"
    one = ANSWER.replace(n_sequences=200, seq_len=8, batch_size=32, epochs=1)
    assert at_text(one, 3) == "at minibatch 3" and at_text(one, 6) == "after epoch 1"
    single = ANSWER.replace(n_sequences=40, seq_len=8, batch_size=64, epochs=4)  # 36 sequences: one minibatch
    assert _minibatches_per_epoch(single) == 1
    assert at_text(single, 1) == "after epoch 1" and at_text(single, 3) == "after epoch 3"
    assert at_text(Q, 20_000) == "at step 20,000"


# -- judge: fields handed on ------------------------------------------------------------------------------------
@pytest.mark.parametrize("figure,code", [(1.0, "learned"), (0.9, "partly"), (0.75, "base-rate"),
                                         (float("nan"), "not-run")])
def test_the_verdict_keeps_the_loss_and_the_step_it_was_given(figure, code):
    v = judge(Q, figure, 1000, loss=0.125, step=300)
    assert (v.code, v.loss, v.step, v.n) == (code, 0.125, 300, 1000)
    lost = judge(Q, 0.76, 1000, loss=0.25, step=5000, story=_story())
    assert (lost.code, lost.loss, lost.step) == ("lost", 0.25, 5000) and lost.story == _story()


def test_a_non_finite_loss_is_diverged_when_anything_was_measured():
    v = judge(Q, float("nan"), 1, loss=math.inf)  # no figure, but one target measured
    assert v.code == "diverged" and math.isinf(v.loss)
    v = judge(Q, 0.9, 0, loss=math.inf)  # a figure, no count
    assert v.code == "diverged"
    assert judge(Q, float("nan"), 0, loss=math.inf).code == "not-run"  # nothing at all: not run
    v = judge(Q, 0.5, 100, loss=float("nan"), step=300)
    assert v.text == "diverged at step 300: the loss is nan; lower the learning rate and start again"
    assert math.isnan(v.loss)


def test_not_run_words():
    v = judge(Q, float("nan"), 0, loss=0.3)
    assert (v.code, v.text, v.loss) == ("not-run", "not run: nothing was measured", 0.3)


def test_the_figure_is_written_against_the_solved_line_given():
    # 0.8996 rounds to 0.900, the solved line given: 4 decimals, so the text never shows it as solved
    assert judge(Q, 0.8996, 1000, solved=0.9).text.endswith("0.8996 (base rate 0.75, solved at 0.90)")


def test_the_already_scores_note_at_a_base_rate_equal_to_solved_and_with_a_story():
    rare = Q.replace(p=0.005)
    b = base_rate(rare.task)
    v = judge(rare, 1.0, 1000, solved=b)
    assert v.text == f"learned: held-out accuracy 1.000 (always answering 1 already scores {b:.3f})"
    both = judge(rare, 1.0, 1000, story=_story(lost_step=None, last=1.0))
    assert both.text == ("learned: held-out accuracy 1.000 (always answering 1 already scores 0.995) "
                         "(solved by step 400)")
    batch = judge(ANSWER, 1.0, 320, "val_accuracy", story=_story(lost_step=None, last=1.0))
    assert batch.text.endswith("(solved by minibatch 400)")


# -- lost --------------------------------------------------------------------------------------------------------
def test_lost_words_back_at_the_base_rate_and_above_it():
    band = base_rate_band(0.75, 1000)
    v = judge(Q, 0.75 + band, 1000, step=5000, story=_story())  # exactly at the band's top: still "back at"
    assert v.code == "lost"
    assert v.text == (f"learned by step 400, lost it by step 4,125: held-out accuracy {0.75 + band:.3f} at step "
                      "5,000, back at the base rate 0.75")
    v = judge(Q, 0.9, 1000, step=5000, story=_story(last=0.9))
    assert v.text == ("learned by step 400, lost it by step 4,125: held-out accuracy 0.900 at step 5,000 "
                      "(base rate 0.75)")


def test_a_last_window_exactly_at_solved_is_not_lost():
    v = judge(Q, 0.95, 1000, story=_story(last=0.99))
    assert v.code == "partly"


# -- base rate boundaries -----------------------------------------------------------------------------------------
def test_the_base_rate_band_boundaries():
    band = base_rate_band(0.75, 1000)
    assert judge(Q, 0.75 + band, 1000).code == "base-rate"  # the band's top is still "at the base rate"
    assert judge(Q, 0.75 - band, 1000).text.startswith("stuck at the base rate")  # its bottom is not "below"
    assert judge(Q, 0.75 - band - 1e-9, 1000).text.startswith("below the base rate")


# -- measuring ---------------------------------------------------------------------------------------------------
class _Trainer:
    heldout_metric = "heldout_accuracy"

    def __init__(self, ev=None, figure=None):
        self.asked, self.ev, self.figure = [], ev, figure

    def heldout(self, n=None):
        self.asked.append(n)
        return self.ev

    def training_figure(self):
        return self.figure


def test_heldout_asks_the_trainer_for_the_count_given():
    tr = _Trainer(ev={"accuracy": 1.0, "loss": 0.0, "steps": 7})
    assert heldout(tr, 7.0) == tr.ev and tr.asked == [7] and isinstance(tr.asked[0], int)


def test_heldout_verdict_takes_figures_already_measured():
    tr = _Trainer(ev={"accuracy": 0.0, "loss": 9.0, "steps": 1})
    ev = {"accuracy": 1.0, "loss": 0.001, "steps": 500}
    got, v = heldout_verdict(Q, tr, ev=ev)
    assert got is ev and tr.asked == [] and (v.code, v.n, v.loss) == ("learned", 500, 0.001)


def test_without_held_out_data_the_story_stands_in_and_the_trainer_figure_first():
    none = {"accuracy": float("nan"), "loss": float("nan"), "steps": 0}
    st = _story(lost_step=None, last=0.995, last_loss=0.004, window=250)
    _, v = heldout_verdict(Q, _Trainer(ev=none), step=900, story=st)
    assert (v.code, v.metric, v.figure, v.n, v.loss, v.step, v.story) == (
        "learned", "accuracy", 0.995, 250, 0.004, 900, st)
    figure = {"accuracy": 0.8, "loss": 0.1, "steps": 64}
    _, v = heldout_verdict(Q, _Trainer(ev=none, figure=figure), story=st)
    assert (v.figure, v.n, v.loss) == (0.8, 64, 0.1)  # the trainer's own figure comes before the story's
    _, v = heldout_verdict(Q, _Trainer(ev=none), story=_story(steps=0))
    assert v.code == "not-run"  # an empty story stands in for nothing
    one_step = _story(steps=1, lost_step=None, last=0.5, last_loss=0.3, window=1)
    _, v = heldout_verdict(Q, _Trainer(ev=none), story=one_step)
    assert (v.code, v.figure, v.n) == ("base-rate", 0.5, 1)
    _, v = heldout_verdict(Q, _Trainer(ev=none), story=_story(lost_step=None, last=0.9, last_loss=math.inf))
    assert v.code == "diverged"  # the stand-in's loss is judged too


# -- a report read back --------------------------------------------------------------------------------------------
def test_verdict_of_report_online_without_held_out_steps_reads_the_last_log_interval():
    r = {"final": {"heldout_steps": 0},
         "history": {"step": [2000, 4000, 7000], "accuracy": [0.5, 0.7, 1.0], "loss": [0.3, 0.2, 0.001]}}
    v = verdict_of_report(Q, r)
    assert (v.code, v.figure, v.n, v.loss, v.metric) == ("learned", 1.0, 3000, 0.001, "accuracy")
    one = verdict_of_report(Q, {"final": {}, "history": {"step": [500], "accuracy": [0.9], "loss": [0.1]}})
    assert (one.figure, one.n) == (0.9, 500)
    blown = {"final": {}, "history": {"step": [10, 20, 30], "accuracy": [0.9, 0.9, 0.9],
                                      "loss": [0.1, 0.1, math.inf]}}
    assert verdict_of_report(Q, blown).code == "diverged"  # the last logged loss, not another
    assert verdict_of_report(Q, {"final": {"heldout_steps": 0}, "history": {}}).code == "not-run"
    assert verdict_of_report(Q, {}).code == "not-run"
    v = verdict_of_report(Q, {"final": {"heldout_accuracy": 0.95, "heldout_loss": "n/a", "heldout_steps": 100}},
                          solved=0.9)
    assert v.code == "learned" and math.isnan(v.loss)  # judged against the solved line given; "n/a" is unknown


def test_verdict_of_report_batch_without_val_figures_counts_the_training_split():
    cfg = ANSWER.replace(n_sequences=1000, seq_len=32, validation_split=0.1)  # 900 training, 100 validation
    v = verdict_of_report(cfg, {"final": {"val_accuracy": float("nan"), "accuracy": 0.6, "loss": 0.2}})
    assert (v.metric, v.figure, v.n, v.loss) == ("accuracy", 0.6, 900 * 32, 0.2)
    bad = verdict_of_report(cfg, {"final": {"val_accuracy": None, "accuracy": 0.6, "loss": math.inf}})
    assert bad.code == "diverged"


def test_a_loss_logged_without_a_step_is_no_measurement():
    r = {"final": {"heldout_steps": 0}, "history": {"loss": [math.inf]}}  # no step, no accuracy: nothing counted
    v = verdict_of_report(Q, r)
    assert (v.code, v.n) == ("not-run", 0)


def test_to_dict_carries_the_storys_headline_figures():
    st = _story()
    d = judge(Q, 0.76, 1000, step=5000, story=st).to_dict()
    assert d["best"] == {"accuracy": st.best, "step": st.best_step, "window": st.window}
    assert (d["first_solved_step"], d["lost_step"]) == (400, 4125)
    assert (d["code"], d["figure"], d["n"], d["step"]) == ("lost", 0.76, 1000, 5000)
    plain = judge(Q, 0.76, 1000).to_dict()
    assert plain["best"] is None and plain["first_solved_step"] is None and plain["lost_step"] is None
