"""Edge cases a reviewer found: each test names the behaviour it pins down."""

import math

import numpy as np
import pytest

from core.config import preset
from core.live.engine import LiveEngine
from core.train.trainer import BatchTrainer, OnlineTrainer


@pytest.mark.parametrize("loss, readout", [("mse", "linear"), ("bce", "linear"), ("mse", "raw"), ("bce", "raw")])
def test_probe_step_loss_is_the_configured_loss(loss, readout):
    tr = BatchTrainer(preset("answer").replace(loss=loss, readout=readout, n_sequences=200, epochs=1))
    p = tr.probe()
    assert p.step_loss.shape == (200,)
    assert math.isclose(float(p.step_loss.mean()), p.loss, rel_tol=1e-5)


def test_record_h_prev_is_the_state_the_cell_read_with_a_long_window():
    tr = OnlineTrainer(preset("question-fixed").replace(lag=3, window=4, lr=0.01))
    for _ in range(400):
        r = tr.step()
        np.testing.assert_allclose(r.h, (1 - r.parts["z"]) * r.parts["n"] + r.parts["z"] * r.h_prev, atol=1e-6)


def test_no_heldout_steps_gives_nan_not_zero():
    ev = OnlineTrainer(preset("question-fixed")).evaluate(0)
    assert math.isnan(ev["accuracy"]) and ev["steps"] == 0


def test_start_after_the_step_total_keeps_training():
    e = LiveEngine(preset("question-fixed").replace(steps=300))
    e.start()
    while e.running:
        e.advance(0.05)
    assert e.steps == 300 and any("Reached 300" in n for n in e.take_notices())
    e.start()
    for _ in range(20):
        e.advance(0.01, max_steps=None)
    assert e.running and e.steps > 320


def test_start_after_all_epochs_says_so_and_stays_paused():
    e = LiveEngine(preset("answer").replace(n_sequences=300, epochs=1, batch_size=128))
    e.start()
    while e.running:
        e.advance(0.05)
    e.take_notices()
    e.start()
    assert not e.running and any("all 1 epochs are done" in n for n in e.take_notices())


def test_batch_accuracy_label_without_validation():
    e = LiveEngine(preset("answer").replace(n_sequences=300, epochs=1, batch_size=128, validation_split=0.0))
    assert e.snapshot().view.accuracy_label == "probe acc"
    e.start()
    while e.running:
        e.advance(0.05)
    s = e.snapshot()
    assert s.view.accuracy_label == "train acc" and math.isfinite(s.view.accuracy)
    assert any("loss" in n and "nan" not in n for n in e.take_notices())
