"""Issue 21, item 1: a result is judged after the last update. A divergence on the last unit (whose loss was
computed before the update) must still be a divergence, in every command and mode, with exit 3; oracles look
at the trained weights themselves (torch.isfinite), not at what the runner says."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.cli.sweep import main as sweep_main
from core.cli.train import main as train_main
from core.config import preset
from core.runs.headless import train
from core.seed_batched.learners import BatchedLearners
from core.train.loop import WEIGHT_CHECK_EVERY, first_bad_tensor, train_unit
from core.train.trainer import make_trainer

SGD100 = ["--preset", "question-fixed", "--optimizer", "sgd", "--lr", "100", "--steps", "8"]


def test_the_last_unit_is_checked_whole_even_off_the_weight_check_grid():
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=100.0, steps=8)
    assert 8 % WEIGHT_CHECK_EVERY != 0  # the periodic check alone would not see step 8
    tr = make_trainer(cfg)
    results = [train_unit(tr, i) for i in range(8)]
    assert all(np.isfinite(r.unit.loss) for r in results)  # every loss was finite: the last update broke it
    assert not all(bool(torch.isfinite(p).all()) for p in tr.model.parameters())  # the oracle: NaN weights
    assert [r.diverged is not None for r in results] == [False] * 7 + [True]
    assert results[-1].diverged.step == 8


class _Fake:
    """A trainer whose weights stay finite but whose optimizer state holds inf at its end (unit 2)."""

    def __init__(self):
        self.cfg, self.model, self.t = preset("question-fixed"), torch.nn.Linear(1, 1), 0

    def advance(self):
        self.t += 1
        return type("U", (), {"loss": 0.5, "score": 1.0})()

    def finish(self):
        return "end" if self.t == 2 else None

    def state_dict(self):
        return {"model.w": torch.zeros(2), "optim.v": torch.tensor([1.0, float("inf")])}, {}

    def heldout_count(self):
        return 0


def test_non_finite_optimizer_state_at_the_end_is_a_divergence():
    tr = _Fake()
    assert train_unit(tr, 0).diverged is None
    d = train_unit(tr, 1).diverged
    assert d is not None and "optimizer" in d.what and "optim.v" in d.what
    assert first_bad_tensor({"optim.m": torch.zeros(3)}) is None


@pytest.mark.parametrize("extra", [[], ["--eval-steps", "0"]])
def test_train_exits_3_on_a_divergence_at_the_last_step(extra, capsys, tmp_path):
    rep = tmp_path / "r.json"
    assert train_main(SGD100 + extra + ["--quiet", "--report", str(rep)]) == 3
    err = capsys.readouterr().err
    assert "diverged at step 8" in err
    final = json.loads(rep.read_text())["final"]
    assert final["verdict"]["code"] == "diverged" and final["diverged"]["step"] == 8
    assert final["heldout_accuracy"] is None  # no held-out figure from diverged weights


def test_seeds_exit_3_and_name_each_diverged_seed(capsys, tmp_path):
    rep = tmp_path / "r.json"
    assert train_main(SGD100 + ["--seeds", "3", "--quiet", "--report", str(rep)]) == 3
    err = capsys.readouterr().err
    assert [f"seed {s}:" in err for s in (0, 1, 2)] == [True] * 3
    final = json.loads(rep.read_text())["final"]
    assert final["diverged"] == 3 and final["diverged_seeds"] == [0, 1, 2]


def test_batch_val_loss_inf_is_a_divergence(capsys):
    argv = ["--preset", "answer", "--optimizer", "sgd", "--lr", "100", "--batch-size", "1000", "--n-sequences",
            "8889", "--epochs", "1", "--quiet"]
    assert train_main(argv) == 3
    assert "diverged at step" in capsys.readouterr().err


def test_headless_verdict_diverged_always_carries_the_step():
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=100.0, steps=8, eval_steps=0)
    r = train(cfg, out=lambda *_: None)
    assert r["final"]["verdict"]["code"] == "diverged"
    assert r["final"]["diverged"]["step"] == 8


def test_batched_learner_diverging_at_its_last_update_has_no_figure_and_others_keep_theirs():
    base = preset("question-fixed").replace(steps=8, eval_steps=0, optimizer="sgd")  # no held-out loss to see
    cfgs = [base.replace(lr=100.0), base.replace(lr=1e-3, seed=1)]
    bl = BatchedLearners(cfgs, reach_window=4)
    for _ in bl.run(chunk=3):
        pass
    theta = np.asarray(bl.engine.theta)
    assert not np.isfinite(theta[0]).all() and np.isfinite(theta[1]).all()  # the oracle: the weights
    r0, r1 = bl.results()
    assert r0.diverged and not r0.learned and np.isnan(r0.value) and r0.diverged_step == 8
    assert not r1.diverged and np.isfinite(r1.value)


def test_sweep_counts_diverged_learners_and_exits_3(capsys, tmp_path):
    rep = tmp_path / "s.json"
    argv = ["--x", "lag=1,2", "--seeds", "2", "--steps", "300", "--optimizer", "sgd", "--lr", "100", "--quiet",
            "--report", str(rep)]
    assert sweep_main(argv) == 3
    out = json.loads(rep.read_text())
    assert out["diverged"] == 4
    assert all(c["heldout"]["median"] is None and c["diverged_seeds"] == [0, 1] for c in out["cells"])
    assert "4 of 4 learners diverged" in capsys.readouterr().err
