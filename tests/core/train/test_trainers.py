"""Trainers: reproducible from the seed, records hold numpy values, state round-trips, lr applies live."""

import numpy as np
import pytest

from core.config import preset
from core.train.trainer import BatchTrainer, OnlineTrainer


def test_online_record_and_reproducible():
    cfg = preset("question-fixed").replace(seed=5)
    a, b = OnlineTrainer(cfg), OnlineTrainer(cfg)
    ra = [a.step() for _ in range(200)]
    rb = [b.step() for _ in range(200)]
    assert [r.y_hat for r in ra] == [r.y_hat for r in rb]
    r = ra[-1]
    assert isinstance(r.h, np.ndarray) and r.h.shape == (16,) and r.updated
    np.testing.assert_allclose(r.h, (1 - r.parts["z"]) * r.parts["n"] + r.parts["z"] * r.h_prev, atol=1e-6)
    assert np.array_equal(ra[-2].h, r.h_prev)  # the state is carried


def test_evaluate_freezes_weights():
    tr = OnlineTrainer(preset("question-fixed"))
    before = [p.detach().clone() for p in tr.model.parameters()]
    ev = tr.evaluate(100)
    assert ev["steps"] == 100 and 0 <= ev["accuracy"] <= 1
    assert all((p == q).all() for p, q in zip(before, tr.model.parameters()))


@pytest.mark.parametrize("window", [1, 4])
def test_online_state_round_trip(window):
    cfg = preset("question-fixed").replace(window=window)
    a = OnlineTrainer(cfg)
    for _ in range(300):
        a.step()
    tensors, meta = a.state_dict()
    b = OnlineTrainer(cfg.replace(seed=123))
    b.load_state_dict(tensors, meta)
    assert [a.step().y_hat for _ in range(40)] == [b.step().y_hat for _ in range(40)]


def test_batch_epoch_history_and_round_trip():
    cfg = preset("answer").replace(n_sequences=600, epochs=3, batch_size=128)
    a = BatchTrainer(cfg)
    assert a.batches_per_epoch == 5  # 540 training sequences / 128
    logs = a.run_epoch()
    assert set(logs) >= {"loss", "val_loss", "accuracy", "val_accuracy"} and len(a.history["loss"]) == 1
    a.step()
    tensors, meta = a.state_dict()
    b = BatchTrainer(cfg)
    b.load_state_dict(tensors, meta)
    assert [a.step().loss for _ in range(6)] == [b.step().loss for _ in range(6)]
    assert a.history == b.history
    p = a.probe()
    assert p.h.shape == (200, 2) and p.x.shape == p.y_hat.shape == (200,)


@pytest.mark.parametrize("make", ["fast", "autograd", "batch"])
def test_lr_applies_live(make):
    if make == "batch":
        cfg = preset("answer").replace(n_sequences=100)
        tr = BatchTrainer(cfg)
    else:
        cfg = preset("question-fixed")
        tr = OnlineTrainer(cfg, engine=make)
    tr.set_lr(0.05)
    assert tr.lr == 0.05 and tr.cfg.train.lr == 0.05  # the optimizer uses it; the trainer's config says it
    assert cfg.train.lr == 1e-3  # the config the trainer was built from is a value: never changed
    if make == "autograd":  # where torch.optim does the update, it holds the rate
        assert tr.engine.opt.param_groups[0]["lr"] == 0.05
    if make == "batch":
        assert tr.opt.param_groups[0]["lr"] == 0.05


def test_cuda_request_without_cuda_falls_back(monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tr = OnlineTrainer(preset("question-fixed").replace(device="cuda"))
    assert tr.device.type == "cpu" and "CUDA" in tr.device_warning


@pytest.mark.parametrize("decay", [1.0, 0.9])
def test_online_state_round_trip_rtrl(decay):
    cfg = preset("question-fixed").replace(rule="rtrl", rtrl_decay=decay, lag=3)
    a = OnlineTrainer(cfg)
    for _ in range(300):
        a.step()
    tensors, meta = a.state_dict()
    assert tensors["rtrl.S"].shape == (16, 912) and meta["window_x"] == []
    b = OnlineTrainer(cfg.replace(seed=123))
    b.load_state_dict(tensors, meta)
    assert np.array_equal(a.engine.S, b.engine.S) and b.sensitivity_norms() == a.sensitivity_norms()
    assert [a.step().y_hat for _ in range(40)] == [b.step().y_hat for _ in range(40)]
    assert np.array_equal(a.engine.S, b.engine.S)
