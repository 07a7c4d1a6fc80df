"""core.live.engine.LiveEngine: speed limit, the end of a run as snapshot state, a diverging loss, GPU out-of-memory
fallback, the trainer interface, and sessions through core.live.files (the stale-analysis case included)."""

import math

import numpy as np
import pytest

from core.config import preset
from core.live import files as live_session
from core.live.engine import MAX_NOTICES, LiveEngine
from core.messages import ExportResult, OpenResult, SaveResult
from core.train.trainer import Trainer, make_trainer
from core.train.views import FINISHED_EPOCHS, FINISHED_STEPS


class _Clock:
    """A clock the test moves by hand: the engine's pacing reads it instead of the wall clock."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now


def test_speed_limit_paces_steps(monkeypatch):
    """At 100 steps/s the engine trains one step when started and then exactly one per 10 ms of (fake) time,
    however often it is asked; the wall-clock rate lives in bench/pace.py."""
    import core.live.engine as engine_mod

    clock = _Clock()
    monkeypatch.setattr(engine_mod, "time", clock)
    e = LiveEngine(preset("question-fixed"))
    e.set_speed(100)
    e.start()
    assert e.advance(0.01) == 1 and e.advance(0.01) == 0  # the first step is due at once, the next in 10 ms
    assert e.seconds_to_next_step() == pytest.approx(0.01)
    seen = {}
    for t_ms in (5, 255, 1005):  # halfway between two due times, so float rounding cannot move a step
        clock.now = 1000.0 + t_ms / 1000
        e.advance(0.01)
        e.advance(0.01)  # asking again at the same moment trains nothing more
        seen[t_ms] = e.steps
        assert e.steps == math.ceil(t_ms / 10) + 1, t_ms  # one at 0, then one each 10 ms, never over one ahead
    assert seen[1005] - seen[5] == 100  # 100 steps in one second
    assert e.seconds_to_next_step() == pytest.approx(0.015)  # 102 steps done, 100.5 due: 1.5 steps (15 ms) ahead
    e.set_speed(0)  # no limit: one call trains until its budget (here: the step count asked)
    assert e.advance(max_steps=7) == 7


def test_batch_run_finishes_with_a_notice():
    e = LiveEngine(preset("answer").replace(n_sequences=300, epochs=2, batch_size=128))
    e.start()
    while e.running:
        e.advance(0.05)
    assert e.finished and e.trainer.epoch == 2
    assert any("Training finished: 2 epochs" in n for n in e.take_notices())
    assert e.snapshot().finished_reason == FINISHED_EPOCHS and not e.snapshot().running


def test_diverging_loss_pauses_with_a_hint():
    e = LiveEngine(preset("question-fixed").replace(optimizer="sgd", lr=100.0))
    e.start()
    with pytest.raises(FloatingPointError, match="diverged") as err:
        while e.steps < 10000:
            e.advance(0.05)
    assert "Training is paused; lower lr" in str(err.value)
    assert not e.running and not e.snapshot().running
    hints = {h.code: h.level for h in e.snapshot().analysis.hints}
    assert hints.get("loss-nonfinite") == "error", hints


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
    assert e.trainer.step is not real_step  # the CPU trainer is a new one, not the patched GPU one
    assert e._one() == twin._one()  # and it goes on training in step with the twin


def test_both_trainers_speak_the_trainer_interface():
    for cfg in (preset("question-fixed"), preset("answer").replace(n_sequences=200, epochs=1)):
        tr = make_trainer(cfg)
        assert isinstance(tr, Trainer)
        unit = tr.advance()
        assert math.isfinite(unit.loss) and 0.0 <= unit.score <= 1.0
        v = tr.view(50)
        assert len(v.x) == len(v.h) == len(v.h_prev) == len(v.step_loss) and v.h.shape[1] == cfg.model.units
        w = tr.analysis_window(np.zeros(1, np.float32), np.ones(1, np.float32))
        assert len(w.x) == len(w.h)


def test_opening_a_session_never_serves_the_previous_runs_analysis(tmp_path):
    """The file's run is analysed, even when its step equals the step the current run last analysed."""
    a = LiveEngine(preset("question").replace(lag=2, seed=1))
    a.step(300)
    old = a.snapshot().analysis
    assert old.step == 300 and math.isfinite(a.run.update_ratio)  # measured at step 100 (NaN until then)
    b = LiveEngine(preset("question").replace(lag=3, seed=7))
    b.step(300)
    path = str(tmp_path / "b.gmlab")
    assert live_session.save(b, path).ok
    res = live_session.open_into(a, path)
    assert isinstance(res, OpenResult) and res.ok and res.step == 300 and res.run_id == a.run.run_id
    got = a.snapshot().analysis
    want = b.analysis()
    assert got is not old and got.step == 300
    np.testing.assert_array_equal(got.portrait.points, want.portrait.points)
    assert not np.array_equal(got.portrait.points, old.portrait.points)
    assert math.isnan(a.run.update_ratio)  # not the previous run's measurement
    assert a.cfg.task.lag == 3 and a.snapshot().config["task"]["lag"] == 3


def test_a_failed_open_changes_nothing(tmp_path):
    e = LiveEngine(preset("question-fixed"))
    e.step(20)
    run = e.run
    bad = tmp_path / "bad.gmlab"
    bad.write_bytes(b"nope")
    res = live_session.open_into(e, str(bad))
    assert not res.ok and str(bad) in res.error and e.run is run and e.steps == 20


def test_session_round_trip_continues_the_same_run(tmp_path):
    for cfg in (preset("question-fixed"), preset("answer").replace(n_sequences=200, epochs=2, batch_size=64)):
        a = LiveEngine(cfg)
        a.step(5)
        path = str(tmp_path / f"{cfg.train.mode}.gmlab")
        saved = live_session.save(a, path, {"gui": {"window": 100}})
        assert isinstance(saved, SaveResult) and saved.ok and saved.step == 5
        b = LiveEngine(preset("question"))
        res = live_session.open_into(b, path)
        assert res.ok and res.extra == {"gui": {"window": 100}} and b.steps == 5 and not b.running
        s = b.snapshot()
        assert s.loss_chunk.resync and len(s.loss_chunk.values) == 5  # the window gets the whole curve
        np.testing.assert_array_equal(s.view.y_hat, a.snapshot().view.y_hat)
        a.step(3)
        b.step(3)
        assert a.run.last_loss == b.run.last_loss


def test_export_csv_writes_the_curves_and_batch_epochs(tmp_path):
    e = LiveEngine(preset("answer").replace(n_sequences=200, epochs=1, batch_size=64))
    e.step(4)
    res = live_session.export_csv(e, str(tmp_path / "h.csv"))
    assert isinstance(res, ExportResult) and res.ok and len(res.paths) == 2
    assert (tmp_path / "h.csv").read_text().splitlines()[0] == "step,loss,accuracy"
    assert (tmp_path / "h.epochs.csv").read_text().startswith("epoch,")
    bad = live_session.export_csv(e, str(tmp_path / "no" / "such" / "dir" / "h.csv"))
    assert not bad.ok and bad.error


def test_snapshot_run_state_is_the_engines():
    e = LiveEngine(preset("question-fixed").replace(steps=50))
    s = e.snapshot()
    assert not s.running and not s.finished and s.finished_reason is None
    e.start()
    assert e.snapshot().running
    while e.running:
        e.advance(0.05)
    s = e.snapshot()
    assert not s.running and s.finished and s.finished_reason == FINISHED_STEPS and s.step == 50
    e.start()  # online: Start continues past the total
    s = e.snapshot()
    assert s.running and not s.finished and s.finished_reason is None
    e.step(3)
    s = e.snapshot()
    assert not s.running and not s.finished and s.step == 53


def test_notices_are_bounded():
    e = LiveEngine(preset("question-fixed"))
    for i in range(MAX_NOTICES + 30):
        e.note(f"n{i}")
    got = e.take_notices()
    assert len(got) == MAX_NOTICES and got[-1] == f"n{MAX_NOTICES + 29}" and e.take_notices() == []


def test_set_lr_gives_the_run_a_new_config_and_leaves_the_trainers_alone():
    e = LiveEngine(preset("question-fixed"))
    trainer_cfg = e.trainer.cfg
    e.set_lr(0.05)
    assert e.cfg.train.lr == 0.05 and e.snapshot().config["train"]["lr"] == 0.05
    assert trainer_cfg.train.lr == preset("question-fixed").train.lr
