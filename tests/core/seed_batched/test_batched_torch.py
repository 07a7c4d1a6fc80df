"""The torch seed-batched engine: learner s equals learner s of the NumPy batched engine (hence the single run),
on torch's CPU device here and on CUDA where a GPU is present; `sweep --device` picks the engine."""

import functools
import json

import numpy as np
import pytest
import torch

from core.cli.sweep import main as sweep_main
from core.seed_batched.learners import BatchedLearners
from core.seed_batched.shape import BatchShape
from core.seed_batched.table import TORCH_ENGINES, make_batched_engine, make_torch_engine
from tests.helpers import mixed_batch

# Both engines do the same float32 arithmetic in another summation order (torch's bmm and reductions vs NumPy's
# matmul and pairwise sums), so they part by rounding, which training amplifies a little (see
# tests/test_batched_engine.py for the scale: one ulp in the initial weights moves RTRL's losses by up to 5e-6).
RTOL, ATOL = 1e-4, 1e-5
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def _run(cfgs, steps, factory=None):
    bl = BatchedLearners(cfgs, **({} if factory is None else {"engine_factory": factory}))
    losses = np.zeros((steps, len(cfgs)))
    for _ in bl.train(losses=losses):
        pass
    for _ in bl.evaluate():
        pass
    return bl, losses


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule,window,extra", [("tbptt", 1, {}), ("tbptt", 4, {}), ("rtrl", 1, {}),
                                               ("rtrl", 1, {"rtrl_decay": 0.9})])
def test_learner_s_equals_the_numpy_engines_learner_s(device, rule, window, extra):
    """Mixed lags and learning rates in one batch: per-step losses over 1,000 steps equal the NumPy batched
    engine's to float32 rounding; held-out accuracy and verdict are the same."""
    steps = 1000
    cfgs = mixed_batch(rule, window, steps, 300, **extra)
    ref, ref_losses = _run(cfgs, steps)
    bl, losses = _run(cfgs, steps, functools.partial(make_torch_engine, device=device))
    assert bl.engine.rule == rule and bl.engine.device.type == device
    np.testing.assert_allclose(losses, ref_losses, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(bl.heldout_acc, ref.heldout_acc)
    verdicts = [r.learned for r in bl.results()]
    assert verdicts == [r.learned for r in ref.results()]
    assert any(verdicts) and not all(verdicts)  # the verdict comparison covers both outcomes


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule,window,readout,loss,opt", [
    ("tbptt", 2, "raw", "mse", "adam"), ("tbptt", 1, "linear", "bce", "sgd"), ("tbptt", 3, "raw", "bce", "sgd"),
    ("rtrl", 1, "raw", "bce", "adam"), ("rtrl", 1, "linear", "bce", "sgd")])
def test_other_readouts_losses_and_optimizers_match_too(device, rule, window, readout, loss, opt):
    steps = 300
    cfgs = mixed_batch(rule, window, steps, 100, readout=readout, loss=loss, optimizer=opt)
    ref, ref_losses = _run(cfgs, steps)
    bl, losses = _run(cfgs, steps, functools.partial(make_torch_engine, device=device))
    np.testing.assert_allclose(losses, ref_losses, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(bl.heldout_acc, ref.heldout_acc)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule,window", [("tbptt", 3), ("rtrl", 1)])
def test_step_many_is_step_after_step(device, rule, window):
    """One upload and one download for n steps: the same outputs and weights as n calls of step()."""
    shape = BatchShape(rule, 5, "linear", "mse", "adam", window=window)
    rng = np.random.default_rng(0)
    theta = (rng.standard_normal((4, shape.layout.size)) * 0.3).astype(np.float32)
    lr = [1e-2, 1e-3, 1e-2, 3e-3]
    xs, ys = rng.integers(0, 2, (4, 40)), rng.integers(0, 2, (4, 40))
    a, b = (make_torch_engine(shape, theta, lr, device=device) for _ in range(2))
    one = [a.step(xs[:, i], ys[:, i], i < 30) for i in range(40)]
    y_hat, loss = b.step_many(xs[:, :30], ys[:, :30], True)
    y_hat2, loss2 = b.step_many(xs[:, 30:], ys[:, 30:], False)
    np.testing.assert_array_equal(np.concatenate([y_hat, y_hat2]), np.stack([o[0] for o in one]))
    np.testing.assert_array_equal(np.concatenate([loss, loss2]), np.stack([o[1] for o in one]))
    np.testing.assert_array_equal(a.theta_numpy, b.theta_numpy)
    assert y_hat.dtype == np.float64 and y_hat.shape == (30, 4)


def test_one_step_outputs_are_numpy_float64_per_learner():
    shape = BatchShape("tbptt", 4, "linear", "bce", "adam")
    eng = make_torch_engine(shape, np.zeros((3, shape.layout.size), np.float32), 1e-3, device="cpu")
    y_hat, loss = eng.step(np.array([1, 0, 1], np.int8), np.array([0, 1, 1], np.int8))
    assert isinstance(y_hat, np.ndarray) and y_hat.dtype == np.float64 and y_hat.shape == (3,)
    np.testing.assert_allclose(loss, np.log(2.0))  # zero weights: logit 0 whatever the target


def test_rtrl_sensitivity_matches_the_numpy_engine():
    shape = BatchShape("rtrl", 4, "linear", "mse", "adam")
    rng = np.random.default_rng(1)
    theta = (rng.standard_normal((3, shape.layout.size)) * 0.4).astype(np.float32)
    ref = make_batched_engine(shape, theta, [1e-2, 1e-3, 3e-3])
    eng = make_torch_engine(shape, theta, [1e-2, 1e-3, 3e-3], device="cpu")
    for _ in range(20):
        x, y = rng.integers(0, 2, 3), rng.integers(0, 2, 3)
        ref.step(x, y)
        eng.step(x, y)
    np.testing.assert_allclose(eng.sens, ref.sens, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(eng.theta_numpy, ref.theta, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("rule", ["uoro", "snap1", "nope"])
def test_rules_the_torch_engine_does_not_run_raise_one_clear_error(rule):
    assert set(TORCH_ENGINES) == {"tbptt", "rtrl"}
    shape = BatchShape(rule, 4, "linear", "mse", "adam")
    with pytest.raises(ValueError, match=f"the torch engine runs rtrl and tbptt, not '{rule}'"):
        make_torch_engine(shape, np.zeros((2, shape.layout.size), np.float32), 1e-3, seeds=[0, 1], device="cpu")


def test_sweep_device_cuda_without_cuda_exits_2_with_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "r.json"
    assert sweep_main(["--x", "lag=1,2", "--seeds", "2", "--steps", "50", "--device", "cuda",
                       "--report", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --device cuda: CUDA is not available on this machine;")
    assert "Traceback" not in err and not out.exists()


def test_sweep_on_the_torch_engine_gives_the_numpy_engines_cells_and_says_which_ran(tmp_path, capsys):
    """--device torch-cpu: the torch engine for tbptt/rtrl, the NumPy engine for snap1; the same cells as --device
    cpu, and the report records the engine."""
    args = ["--x", "lag=1,2", "--y", "rule=tbptt1,rtrl,snap1", "--seeds", "2", "--steps", "200", "--eval-steps",
            "100", "--quiet"]
    reports = {}
    for dev in ("cpu", "torch-cpu"):
        out = tmp_path / f"{dev}.json"
        assert sweep_main(args + ["--device", dev, "--report", str(out)]) == 0
        reports[dev] = json.loads(out.read_text())
    capsys.readouterr()
    a, b = reports["cpu"], reports["torch-cpu"]
    assert a["engine"]["engine"] == "numpy" and a["engine"]["device"] == "cpu"
    assert b["engine"] == {"device": "torch-cpu", "engine": "torch", "torch_device": "cpu", "gpu": None,
                           "numpy_rules": ["snap1"]}
    for ca, cb in zip(a["cells"], b["cells"], strict=True):
        assert ca["changes"] == cb["changes"] and ca["heldout"]["values"] == cb["heldout"]["values"]


def test_sweep_help_names_the_devices(capsys):
    with pytest.raises(SystemExit):
        sweep_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--device {cpu,cuda,torch-cpu}" in text and "torch-cpu (the torch engine on the CPU" in text


def test_sweep_child_reports_a_device_it_cannot_use_as_one_line():
    import multiprocessing as mp

    from core.children.sweep import sweep_child
    from core.messages import Error

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    req = {"config": {}, "axes": ["lag=1:2"], "seeds": 2, "device": "tpu"}
    proc = ctx.Process(target=sweep_child, args=(child, req), daemon=True)
    proc.start()
    child.close()
    assert parent.poll(60)
    msg = parent.recv()
    proc.join(30)
    assert isinstance(msg, Error) and "unknown device 'tpu'" in msg.text and "\n" not in msg.text
