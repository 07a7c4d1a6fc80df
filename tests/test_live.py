"""core.live.LiveEngine: speed limit, the end of a batch run, a diverging loss, GPU out-of-memory fallback."""

import time

import pytest

from core.config import preset
from core.live import LiveEngine


def test_speed_limit_paces_steps():
    e = LiveEngine(preset("question-fixed"))
    e.set_speed(100)
    e.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        e.advance(0.01)
        time.sleep(e.seconds_to_next_step())
    assert 80 <= e.steps <= 120


def test_batch_run_finishes_with_a_notice():
    e = LiveEngine(preset("answer").replace(n_sequences=300, epochs=2, batch_size=128))
    e.start()
    while e.running:
        e.advance(0.05)
    assert e.finished and e.trainer.epoch == 2
    assert any("Training finished: 2 epochs" in n for n in e.take_notices())


def test_diverging_loss_pauses_with_a_hint():
    e = LiveEngine(preset("question-fixed").replace(optimizer="sgd", lr=100.0))
    e.start()
    with pytest.raises(FloatingPointError, match="diverged"):
        while e.steps < 10000:
            e.advance(0.05)
    assert not e.running


def test_gpu_out_of_memory_mid_run_moves_to_cpu_and_keeps_position(monkeypatch):
    import torch

    e = LiveEngine(preset("answer").replace(n_sequences=400, epochs=3, batch_size=64))
    for _ in range(3):
        e.advance(max_steps=1)
    twin = LiveEngine(preset("answer").replace(n_sequences=400, epochs=3, batch_size=64))
    for _ in range(3):
        twin.advance(max_steps=1)
    tr = e.trainer
    real_step = tr.step

    class FakeDevice:  # pretend this trainer lives on a GPU that just ran out of memory
        type = "cuda"

    tr.device = FakeDevice()
    monkeypatch.setattr(tr, "step", lambda: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("CUDA out of memory")))
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    loss = e._one()
    assert e.trainer is not tr and e.trainer.device.type == "cpu"
    assert any("ran out of memory" in n for n in e.take_notices())
    assert loss == twin._one()  # the same position: the next minibatch's loss is identical
    assert real_step is not None
