"""The verdict's edge cases, each against an oracle worked out here: a batch run without a validation split, a
divergence found in the weights (the loss still finite), an infinite loss, the "always answering ... already
scores" note when the base rate itself counts as solved, and the held-out figure recomputed by torch's own nn.GRU
(not by the trainer's evaluate(), which heldout() calls)."""

import copy
import math

import numpy as np
import pytest
import torch

from core.analysis.verdict import heldout, heldout_verdict, judge, verdict_of_report
from core.config import preset
from core.gru.model import predict
from core.train import loop
from core.train.loop import WEIGHT_CHECK_EVERY, train_unit
from core.train.trainer import OnlineTrainer, make_trainer

Q = preset("question")  # NOT x[t-1], p = 0.25: base rate 0.75, majority class 1


def test_batch_run_without_a_validation_split_is_judged_on_its_training_accuracy():
    cfg = preset("answer").replace(n_sequences=200, seq_len=16, epochs=1, batch_size=32, validation_split=0.0)
    tr = make_trainer(cfg)
    tr.run_epoch()
    assert tr.heldout_count() == 0
    ev, v = heldout_verdict(cfg, tr)
    assert math.isnan(ev["accuracy"]) or ev["steps"] == 0  # nothing was held out
    last = tr.history["accuracy"][-1]
    assert v.metric == "accuracy" and v.figure == last
    assert v.n == 200 * 16  # every sequence trained on: all 200 x 16 targets
    assert "training accuracy (no held-out data)" in v.text and v.code != "not-run"
    # the same run read back from its report: the last training accuracy over the 3,200 training targets
    r = verdict_of_report(cfg, {"final": {"val_accuracy": None, "val_loss": None, "accuracy": last,
                                          "loss": tr.history["loss"][-1]}})
    assert (r.metric, r.figure, r.n, r.code) == ("accuracy", last, 200 * 16, v.code)


class _NaNWeights:
    """A trainer whose loss stays finite while a weight is NaN: only the weight check can see the divergence."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.model = torch.nn.GRU(1, 2)
        with torch.no_grad():
            self.model.weight_hh_l0[0, 0] = float("nan")

    def advance(self):
        class Unit:
            loss, score = 0.25, 1.0
        return Unit()

    def finish(self):
        return None

    def state_dict(self):
        return {}, {}

    def heldout_count(self):
        return 0


@pytest.mark.parametrize("done", [0, WEIGHT_CHECK_EVERY - 1])
def test_a_nan_weight_is_a_divergence_though_the_loss_is_finite(done):
    assert WEIGHT_CHECK_EVERY >= 2
    got = train_unit(_NaNWeights(Q), done)
    assert got.diverged is not None, "the NaN weight went unseen"
    assert got.diverged.step == done + 1
    assert got.diverged.what == "the weights hold nan (weight_hh_l0)"
    assert loop.first_bad_weight(torch.nn.GRU(1, 2)) is None  # finite weights: no divergence


@pytest.mark.parametrize("loss", [math.inf, -math.inf, math.nan])
def test_a_non_finite_loss_is_diverged(loss):
    v = judge(Q, 0.9, 1000, loss=loss)
    assert v.code == "diverged" and v.text.startswith(f"diverged: the loss is {'nan' if loss != loss else ''}")
    assert ("inf" in v.text) == math.isinf(loss)
    online = {"final": {"heldout_accuracy": 0.9, "heldout_loss": loss, "heldout_steps": 1000}}
    assert verdict_of_report(Q, online).code == "diverged"
    batch = {"final": {"val_accuracy": 0.9, "val_loss": loss, "accuracy": 0.9, "loss": 0.1}}
    assert verdict_of_report(preset("answer"), batch).code == "diverged"


def test_an_infinite_loss_stops_the_run_loop():
    class Inf(_NaNWeights):
        def __init__(self, cfg):
            super().__init__(cfg)
            self.model = torch.nn.GRU(1, 2)  # finite weights: the loss alone says it

        def advance(self):
            class Unit:
                loss, score = math.inf, 0.0
            return Unit()

    got = train_unit(Inf(Q), 5)
    assert got.diverged is not None and got.diverged.what == "the loss became inf" and got.diverged.step == 6


def test_the_note_when_always_answering_the_majority_already_counts_as_solved():
    # XOR of a bit with itself (lag 0) is always 0: always answering 0 scores 1.000, which is solved already
    xor0 = Q.replace(kind="xor", lag=0)
    v = judge(xor0, 1.0, 1000)
    assert v.text == "learned: held-out accuracy 1.000 (always answering 0 already scores 1.000)"
    # NOT x[t-1] with P(x=1) = 0.005: the target is 1 with probability 0.995, so always answering 1 scores 0.995
    rare = Q.replace(p=0.005)
    v = judge(rare, 0.999, 1000)
    assert v.text == "learned: held-out accuracy 0.999 (always answering 1 already scores 0.995)"
    # a base rate below solved (0.75) says nothing of the kind
    assert "already scores" not in judge(Q, 1.0, 1000).text


def test_heldout_equals_torch_gru_on_the_next_steps_with_the_state_carried():
    """The oracle: torch's nn.GRU (not the trainer's NumPy engine) run over the next n inputs of a copy of the
    stream from the carried state, weights as trained, prediction >= 0.5 compared with the target."""
    cfg = preset("question-fixed").replace(steps=300, eval_steps=200)
    tr = OnlineTrainer(cfg)
    for _ in range(300):
        tr.step()
    stream = copy.deepcopy(tr.stream)
    xy = np.array([stream.next() for _ in range(200)], dtype=np.float32)
    h0 = tr.h.detach().clone().reshape(1, -1)
    with torch.no_grad():
        out, _ = tr.model(torch.from_numpy(xy[:, :1]).reshape(1, 200, 1), h0)
        y_hat = predict(out, cfg.model.readout, cfg.train.loss).reshape(-1).numpy()
    want_acc = float(np.mean((y_hat >= 0.5) == (xy[:, 1] == 1)))
    want_loss = float(np.mean((y_hat - xy[:, 1]) ** 2)) if cfg.train.loss == "mse" else None
    assert 0.0 < want_acc < 1.0 or want_acc == 1.0
    ev = heldout(tr, 200)
    assert ev["steps"] == 200
    assert ev["accuracy"] == pytest.approx(want_acc, abs=1 / 200)  # at most one prediction within float noise of 0.5
    if want_loss is not None:
        assert ev["loss"] == pytest.approx(want_loss, rel=1e-4)
    assert tr.t == 300  # the position is restored


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_a_report_the_runner_stopped_as_diverged_is_diverged_though_its_last_logged_accuracy_was_perfect(mode):
    # eval_steps 0 / validation_split 0: without the record the last logged accuracy (1.0) would be judged learned
    cfg = preset("answer").replace(mode=mode, eval_steps=0, validation_split=0.0)
    message = "diverged at step 40: the loss became nan (lr 10 is likely too high for sgd; try 0.01)"
    final = {"accuracy": 1.0, "loss": 0.01, "heldout_steps": 0,
             "diverged": {"step": 40, "what": "the loss became nan", "message": message}}
    report = {"final": final, "history": {"step": [20, 40], "accuracy": [1.0, 1.0], "loss": [0.02, 0.01]}}
    v = verdict_of_report(cfg, report)
    assert (v.code, v.learned, v.text) == ("diverged", False, message)
    assert math.isnan(v.figure) and math.isnan(v.loss) and v.n == 0
    assert v.metric == {"online": "heldout_accuracy", "batch": "val_accuracy"}[mode]
    final["diverged"] = {}  # a record without its message (an older report) still says diverged
    assert (verdict_of_report(cfg, report).code, verdict_of_report(cfg, report).text) == ("diverged", "diverged")
    del final["diverged"]  # the same report without the record: the logged figure is judged
    assert verdict_of_report(cfg, report).code == "learned"
