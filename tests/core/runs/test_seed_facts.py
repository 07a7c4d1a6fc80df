"""The seed thread's facts, reproduced headless (issue 2's 'Must show'); these train to convergence."""

import statistics

import pytest

from core.cli.train import train
from core.config import preset

pytestmark = pytest.mark.slow


def quiet(_):
    pass


def heldout(cfg):
    return train(cfg, log_every=10**9, out=quiet)["final"]["heldout_accuracy"]


def test_answer_33_params_and_converges():
    reports = [train(preset("answer").replace(seed=s), out=quiet) for s in (0, 1, 2)]
    assert all(r["params"] == 33 for r in reports)
    assert statistics.median(r["final"]["val_loss"] for r in reports) < 0.05


def test_question_fails_and_fixed_learns():
    for s in (0, 1, 2):
        assert heldout(preset("question-fixed").replace(seed=s)) >= 0.99
        assert heldout(preset("question").replace(seed=s)) <= 0.85  # the base rate: the seed's failure


def test_lag3_window4_learns_every_seed():
    base = preset("question-fixed").replace(lag=3, steps=30000)
    assert all(heldout(base.replace(window=4, seed=s)) >= 0.99 for s in (0, 1, 2))


def test_same_seed_same_report():
    cfg = preset("question-fixed").replace(steps=1500, eval_steps=200)
    a, b = train(cfg, out=quiet), train(cfg, out=quiet)
    for key in ("config", "params", "history", "final"):
        assert a[key] == b[key]
