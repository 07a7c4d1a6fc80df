"""The seed-batched engine: learner s of a batch is the single fast run of seed s (losses, held-out verdict)."""

import tracemalloc

import numpy as np
import pytest

from core.config import TaskConfig, preset
from core.runs.seeds import seed_outcome
from core.seed_batched.engine import BatchedTBPTT
from core.seed_batched.learners import BatchedLearners, BatchStreams
from core.seed_batched.shape import BatchShape, batch_shape
from core.seed_batched.table import NUMPY_ENGINES, make_batched_engine
from core.tasks import BitStream
from core.train.online import OnlineTrainer
from tests.helpers import mixed_batch

# "The same losses to float32 rounding": the batched engine sums in another order than the single one (torch's
# fused Adam kernel, one [J; dL/dh J] S product under RTRL), so the two trajectories part by rounding, which
# training amplifies a little. The scale of that: the single fast engine moves its own losses by up to 5e-6
# over 1,000 steps (RTRL, lr 1e-2) when its initial weights move by one ulp; these tolerances allow that.
RTOL, ATOL, COMPARED = 1e-4, 2e-5, 1000


def assert_same_losses(batched, single, msg=""):
    np.testing.assert_allclose(batched[:COMPARED], single[:COMPARED], rtol=RTOL, atol=ATOL, err_msg=msg)


def _single(cfg, steps, eval_steps):
    tr = OnlineTrainer(cfg)  # the fast engine, as `main.py train` uses
    assert tr.engine.name == "fast"
    losses = np.array([tr.step().loss for _ in range(steps)])
    ev = tr.evaluate(eval_steps)
    report = {"final": {"heldout_accuracy": ev["accuracy"], "heldout_steps": ev["steps"]}}
    return losses, ev["accuracy"], seed_outcome(cfg, report)[0]


# UORO amplifies rounding more than the other rules at high rates: its single fast engine moves its own losses by
# 3.7e-4 over 1,000 steps (lag 3, lr 1e-2) when its initial weights move by one ulp, beyond the tolerance above.
# Its batch mixes lags (0 to 3) and rates up to 3e-3 (the maps use 1e-3), where rounding stays rounding.
UORO_LAGS, UORO_LRS = (0, 2, 1, 3, 0, 2), (3e-3, 1e-3, 3e-3, 2e-3, 1e-3, 3e-3)


@pytest.mark.parametrize("rule,window", [("tbptt", 1), ("tbptt", 4), ("rtrl", 1), ("snap1", 1), ("uoro", 1)])
def test_learner_s_is_the_single_run_of_seed_s(rule, window):
    """Mixed lags and learning rates in one batch: each learner's per-step losses over the first 1,000 of 1,500
    steps equal the single fast run's to float32 rounding, and the held-out accuracy and verdict are the same."""
    steps, eval_steps = 1500, 400
    cfgs = mixed_batch(rule, window, steps, eval_steps)
    if rule == "uoro":
        cfgs = [c.replace(lag=lag, lr=lr) for c, lag, lr in zip(cfgs, UORO_LAGS, UORO_LRS)]
    bl = BatchedLearners(cfgs)
    losses = np.zeros((steps, len(cfgs)))
    for _ in bl.train(losses=losses):
        pass
    for _ in bl.evaluate():
        pass
    results = bl.results()
    verdicts = []
    for s, cfg in enumerate(cfgs):
        single_losses, acc, learned = _single(cfg, steps, eval_steps)
        assert_same_losses(losses[:, s], single_losses, f"learner {s}")
        assert bl.heldout_acc[s] == acc
        assert results[s].learned == learned and results[s].seed == cfg.train.seed
        verdicts.append(learned)
    assert any(verdicts) and not all(verdicts)  # the verdict comparison covers both outcomes


@pytest.mark.parametrize("rule,window,readout,loss,opt", [
    ("tbptt", 2, "raw", "mse", "adam"), ("tbptt", 1, "linear", "bce", "sgd"), ("tbptt", 3, "raw", "bce", "sgd"),
    ("rtrl", 1, "raw", "bce", "adam"), ("rtrl", 1, "linear", "bce", "sgd"), ("snap1", 1, "raw", "mse", "adam"),
    ("snap1", 1, "linear", "bce", "sgd"), ("uoro", 1, "raw", "bce", "adam"), ("uoro", 1, "linear", "mse", "sgd")])
def test_other_readouts_losses_and_optimizers_match_too(rule, window, readout, loss, opt):
    steps = 300
    cfgs = mixed_batch(rule, window, steps, 100, readout=readout, loss=loss, optimizer=opt)
    if rule == "uoro":
        cfgs = [c.replace(lag=lag, lr=lr) for c, lag, lr in zip(cfgs, UORO_LAGS, UORO_LRS)]
    bl = BatchedLearners(cfgs)
    losses = np.zeros((steps, len(cfgs)))
    for _ in bl.train(losses=losses):
        pass
    for _ in bl.evaluate():
        pass
    for s, cfg in enumerate(cfgs):
        single_losses, acc, _ = _single(cfg, steps, 100)
        assert_same_losses(losses[:, s], single_losses)
        assert bl.heldout_acc[s] == acc


def test_uoro_learners_draw_the_single_engines_signs():
    """Each learner's sign stream is UOROEngine's for its seed, step by step across the block refills (odd units:
    the generator's spare 32-bit half carries between draws)."""
    from core.rules.approximate import UOROEngine
    from core.seed_batched.approximate import SIGN_BLOCK

    cfgs = [preset("question-fixed").replace(rule="uoro", units=5, seed=s) for s in (3, 0, 3, 77)]
    bl = BatchedLearners(cfgs)
    singles = [OnlineTrainer(c).engine for c in cfgs]
    assert all(isinstance(e, UOROEngine) for e in singles)
    for _ in range(2 * SIGN_BLOCK + 7):
        np.testing.assert_array_equal(bl.engine.signs(), np.stack([e.signs() for e in singles]))


def test_uoro_needs_the_seeds():
    shape = BatchShape("uoro", 4, "linear", "mse", "adam")
    theta = np.zeros((2, shape.layout.size), np.float32)
    with pytest.raises(ValueError, match="seeds"):
        make_batched_engine(shape, theta, 1e-3)
    assert make_batched_engine(shape, theta, 1e-3, seeds=[1, 2]).rule == "uoro"


def test_rtrl_decay_matches():
    cfgs = mixed_batch("rtrl", 1, 200, 0, rtrl_decay=0.9)[:3]
    bl = BatchedLearners(cfgs)
    losses = np.zeros((200, 3))
    for _ in bl.train(losses=losses):
        pass
    for s, cfg in enumerate(cfgs):
        assert_same_losses(losses[:, s], _single(cfg, 200, 0)[0])


@pytest.mark.parametrize("kind,lag,p", [("not", 0, 0.25), ("not", 3, 0.25), ("copy", 5, 0.7), ("xor", 2, 0.5)])
def test_streams_equal_bitstream(kind, lag, p):
    task = TaskConfig(kind=kind, lag=lag, p=p)
    bs = BatchStreams([task, task], [7, 8])
    xs = np.concatenate([bs.block(n)[0] for n in (3, 5000, 97)], axis=1)
    bs2 = BatchStreams([task, task], [7, 8])
    ys = np.concatenate([bs2.block(n)[1] for n in (5100,)], axis=1)
    for row, seed in enumerate((7, 8)):
        x, y = BitStream(task, seed).take(5100)
        np.testing.assert_array_equal(xs[row], x)
        np.testing.assert_array_equal(ys[row], y)


def test_learners_of_different_shapes_cannot_share_a_batch():
    a = preset("question-fixed")
    with pytest.raises(ValueError, match="share"):
        BatchedLearners([a, a.replace(window=2)])
    with pytest.raises(ValueError, match="share"):
        BatchedLearners([a, a.replace(units=8)])
    assert batch_shape(a.replace(lag=3, lr=0.1, seed=5, p=0.4, kind="xor")) == batch_shape(a)
    u = a.replace(rule="uoro")  # window and rtrl_decay do not change the approximate rules
    assert batch_shape(u.replace(window=3, rtrl_decay=0.5)) == batch_shape(u)


def test_the_table_dispatches_by_name(monkeypatch):
    shape = BatchShape("tbptt", 4, "linear", "mse", "adam")
    theta = np.zeros((2, shape.layout.size), np.float32)
    assert isinstance(make_batched_engine(shape, theta, [1e-3, 1e-2]), BatchedTBPTT)
    with pytest.raises(ValueError, match="no batched engine for rule 'nope'"):
        make_batched_engine(BatchShape("nope", 4, "linear", "mse", "adam"), theta, 1e-3)

    class Frozen(BatchedTBPTT):  # a new rule plugs in by its row in the table
        rule = "test-frozen"

        def _update(self):
            pass

    monkeypatch.setitem(NUMPY_ENGINES, "test-frozen", Frozen)
    eng = make_batched_engine(BatchShape("test-frozen", 4, "linear", "mse", "adam"), theta + 0.1, 1e-3)
    before = eng.theta.copy()
    eng.step(np.array([1, 0]), np.array([0, 1]), True)
    np.testing.assert_array_equal(eng.theta, before)


class _Oracle:
    """A stand-in engine that predicts wrong before step `good_from` and right from then on."""

    def __init__(self, good_from, S=2):
        self.good_from, self.t = good_from, 0
        self.theta = np.zeros((S, 1), np.float32)  # the engine contract: (S, P) weights, checked after training

    def step(self, x, y, train=True):
        self.t += 1
        right = self.t > self.good_from
        y_hat = np.where(right, y, 1 - y).astype(float)
        return y_hat, np.zeros(len(y))

    def step_many(self, xs, ys, train=True):  # the engine contract BatchedLearners uses: (S, n) blocks in, (n, S) out
        out = [self.step(xs[:, i], ys[:, i], train) for i in range(xs.shape[1])]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def test_reach_step_is_the_first_step_with_rolling_accuracy_at_threshold():
    cfg = preset("question-fixed").replace(steps=3000, eval_steps=200)
    bl = BatchedLearners([cfg, cfg.replace(seed=1)], reach_window=100,
                         engine_factory=lambda shape, theta, lr, **_: _Oracle(1000))
    for _ in bl.train():
        pass
    for _ in bl.evaluate():
        pass
    # correct from step 1001 on: 99 of the last 100 right first at step 1099
    assert [r.reach_step for r in bl.results()] == [1099, 1099]
    assert all(r.learned and r.value == 1.0 for r in bl.results())


def test_memory_does_not_grow_with_steps():
    cfgs = mixed_batch("tbptt", 2, 10**6, 0)

    def peak(steps):
        bl = BatchedLearners(cfgs, reach_window=200)
        tracemalloc.start()
        for _ in bl.train(steps=steps, chunk=250):
            pass
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    short, long = peak(300), peak(1500)
    assert long < short * 1.2 + 64 * 1024, (short, long)


def test_fused_adam_rows_follow_flat_adam_with_their_own_rates():
    """Rows with the same rate need not be adjacent: each row steps as FlatAdam with its rate, to rounding."""
    from core.gru.derivatives import FlatAdam
    from core.seed_batched.adam import FusedBatchedAdam, lr_runs

    lr = np.array([1e-2, 1e-2, 1e-3, 1e-2, 5e-3])
    assert lr_runs(lr) == [(1e-2, [(0, 2), (3, 4)]), (1e-3, [(2, 3)]), (5e-3, [(4, 5)])]
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((5, 40)).astype(np.float32)
    rows = [theta[s].copy() for s in range(5)]
    fused, flats = FusedBatchedAdam(theta.shape), [FlatAdam(40) for _ in range(5)]
    for _ in range(50):
        g = rng.standard_normal((5, 40)).astype(np.float32)
        fused.update(theta, g, lr)
        for s in range(5):
            flats[s].update(rows[s], g[s], lr[s])
    np.testing.assert_allclose(theta, np.stack(rows), rtol=0, atol=1e-6)
    np.testing.assert_allclose(fused.m, np.stack([f.m for f in flats]), rtol=1e-6, atol=1e-7)


def test_every_rule_a_sweep_may_plan_has_a_batched_engine():
    from core.config import Config
    from core.seed_batched.shape import BATCHED_RULES

    assert set(BATCHED_RULES) == set(NUMPY_ENGINES)
    for rule in BATCHED_RULES:  # and every rule the config offers is one of them
        Config().replace(rule=rule).validate()
