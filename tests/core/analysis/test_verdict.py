"""core.analysis.verdict: the verdict's rule and words, the reference values, the held-out evaluation, the report."""

import json
import math

import pytest

from core.analysis.story import series_story
from core.analysis.verdict import (
    SOLVED,
    VERDICT_CODES,
    base_rate_band,
    constant_loss,
    heldout,
    heldout_verdict,
    judge,
    references,
    verdict_of_report,
)
from core.cli.train import main, train
from core.config import preset
from core.history import DecimatingSeries
from core.runs.seeds import seed_outcome
from core.train.trainer import OnlineTrainer, make_trainer

Q = preset("question")  # NOT x[t-1], p = 0.25: base rate 0.75, majority class 1


def test_references_for_the_question():
    r = references(Q)
    assert (r.base_rate, r.majority, r.solved) == (0.75, 1, SOLVED) and SOLVED == 0.99
    assert r.constant_loss == pytest.approx(0.25 * 0.75)  # mse of always predicting the mean target 0.75
    bce = constant_loss(Q.replace(loss="bce"))
    assert bce == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert references(Q.replace(kind="copy")).majority == 0
    assert constant_loss(Q.replace(kind="xor", lag=0)) == 0.0  # the target is always 0


def test_constant_loss_is_what_a_constant_prediction_scores():
    import numpy as np

    from core.tasks import BitStream

    _, y = BitStream(Q.task, seed=0).take(200_000)
    m = y.mean()
    assert constant_loss(Q) == pytest.approx(np.mean((y - m) ** 2), abs=2e-3)


@pytest.mark.parametrize("figure,code,text", [
    (1.0, "learned", "learned: held-out accuracy 1.000"),
    (0.99, "learned", "learned: held-out accuracy 0.990"),
    (0.9896, "partly", "partly: held-out accuracy 0.9896 (base rate 0.75, solved at 0.99)"),
    (0.91, "partly", "partly: held-out accuracy 0.910 (base rate 0.75, solved at 0.99)"),
    (0.75, "base-rate", "stuck at the base rate 0.75: held-out accuracy 0.750, no better than always answering 1"),
    (0.79, "base-rate", "stuck at the base rate 0.75: held-out accuracy 0.790, no better than always answering 1"),
    (0.80, "partly", "partly: held-out accuracy 0.800 (base rate 0.75, solved at 0.99)"),
    (0.5, "base-rate", "below the base rate 0.75: held-out accuracy 0.500, worse than always answering 1"),
])
def test_verdict_rule_and_words(figure, code, text):
    v = judge(Q, figure, 1000)
    assert (v.code, v.text) == (code, text) and v.figure == figure and v.code in VERDICT_CODES
    assert v.learned == (code == "learned")


def test_base_rate_band_is_binomial_noise_over_the_measured_targets():
    assert base_rate_band(0.75, 1000) == pytest.approx(3 * math.sqrt(0.75 * 0.25 / 1000))  # 0.041
    assert base_rate_band(0.75, 10**6) == 0.02  # never narrower than 0.02
    assert judge(Q, 0.79, 10**6).code == "partly"  # 0.04 above the base rate is real with a million targets


def test_diverged_and_not_run():
    v = judge(Q, 0.25, 1000, loss=float("nan"))
    assert v.code == "diverged" and v.text.startswith("diverged: the loss is nan")
    assert judge(Q, float("nan"), 0).code == "not-run"
    assert judge(Q, 1.0, 1000, loss=0.001).code == "learned"


def test_batch_and_training_fallback_words():
    assert judge(Q, 1.0, 32000, "val_accuracy").text == "learned: validation accuracy 1.000"
    assert judge(Q, 1.0, 200, "accuracy").text == "learned: training accuracy (no held-out data) 1.000"


def test_verdict_of_report_reads_the_runner_fields():
    online = {"final": {"heldout_accuracy": 0.76, "heldout_loss": 0.18, "heldout_steps": 1000}}
    assert verdict_of_report(Q, online).code == "base-rate"
    no_eval = {"final": {"heldout_accuracy": float("nan"), "heldout_steps": 0},
               "history": {"step": [2000, 4000], "loss": [0.1, 0.001], "accuracy": [0.9, 1.0]}}
    v = verdict_of_report(Q, no_eval)
    assert (v.code, v.metric, v.n) == ("learned", "accuracy", 2000)
    answer = preset("answer")  # the answer's data: P(x=1) = 0.5, so the base rate is 0.5
    v = verdict_of_report(answer, {"final": {"val_accuracy": 0.5, "val_loss": 0.25, "accuracy": 0.5}})
    assert (v.code, v.metric, v.n) == ("base-rate", "val_accuracy", 1000 * 32)
    diverged = {"final": {"val_accuracy": 0.25, "val_loss": float("nan"), "accuracy": 0.25, "loss": float("nan")}}
    assert verdict_of_report(answer, diverged).code == "diverged"


def test_seed_summaries_use_the_same_verdict():
    report = {"final": {"heldout_accuracy": 0.995, "heldout_loss": 0.01, "heldout_steps": 1000}}
    v = verdict_of_report(Q, report)
    assert seed_outcome(Q, report) == (v.learned, v.metric, v.figure) == (True, "heldout_accuracy", 0.995)


def test_heldout_leaves_the_trainer_where_it_was():
    cfg = preset("question-fixed").replace(steps=300, eval_steps=200)
    a, b = OnlineTrainer(cfg), OnlineTrainer(cfg)
    for _ in range(300):
        a.step()
        b.step()
    ev = heldout(a, 200)
    assert ev["steps"] == 200  # its figures: test_verdict_edges.py checks them against torch's nn.GRU
    assert b.t == 300  # b never measured (a's twin below shows what measuring left behind: nothing)
    c = OnlineTrainer(cfg)
    for _ in range(300):
        c.step()
    after = [a.step() for _ in range(50)]
    again = [c.step() for _ in range(50)]  # a trainer that never evaluated
    assert [r.loss for r in after] == [r.loss for r in again] and a.t == c.t == 350
    ev2, v = heldout_verdict(cfg, c)
    assert ev2["steps"] == 200 and v.metric == "heldout_accuracy" and v.n == 200


def test_heldout_in_batch_mode_is_the_validation_split():
    cfg = preset("answer").replace(n_sequences=200, seq_len=16, epochs=1, batch_size=32)
    tr = make_trainer(cfg)
    tr.run_epoch()
    ev, v = heldout_verdict(cfg, tr)
    assert ev["accuracy"] == tr.history["val_accuracy"][-1] and ev["steps"] == 20 * 16
    assert v.metric == "val_accuracy" and v.n == 320


def test_report_of_question_fixed_is_learned_without_warning(tmp_path):
    out = tmp_path / "r.json"
    assert main(["--preset", "question-fixed", "--quiet", "--report", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["final"]["verdict"]["code"] == "learned"
    v = r["final"]["verdict"]  # it names the step it judged and when the run first solved the task
    assert v["text"] == (f"learned: held-out accuracy {r['final']['heldout_accuracy']:.3f} at step 20,000 "
                         f"(solved by step {v['first_solved_step']:,})")
    assert [h for h in r["hints"] if h["level"] != "info"] == []


def test_report_of_question_says_base_rate_and_holds_the_raw_readout_error():
    lines = []
    r = train(Q, log_every=Q.train.steps, out=lines.append)
    v = r["final"]["verdict"]
    assert v["code"] == "base-rate" and v["text"].startswith("stuck at the base rate 0.75")
    assert {"code": "raw-readout", "level": "error"}.items() <= r["hints"][0].items()
    assert all(set(h) == {"code", "level", "title", "text"} for h in r["hints"])
    assert f"verdict: {v['text']}" in lines and "error: The loss is on the raw GRU state" in lines


def test_the_runner_and_a_live_trainer_get_the_same_verdict():
    cfg = preset("question-fixed").replace(steps=600, eval_steps=300)
    report = train(cfg, log_every=600, out=lambda *_: None)
    tr = OnlineTrainer(cfg)
    acc, loss = DecimatingSeries(), DecimatingSeries()  # the whole-run series, as the window's engine keeps them
    for _ in range(600):
        rec = tr.step()
        acc.append(rec.score)
        loss.append(rec.loss)
    # what the window calls when the run reaches its step total
    ev, v = heldout_verdict(cfg, tr, step=600, story=series_story(cfg, acc, loss))
    assert report["final"]["verdict"] == v.to_dict()
    assert report["final"]["heldout_accuracy"] == ev["accuracy"] and report["final"]["heldout_loss"] == ev["loss"]
