"""core.children.trainer: a SnapshotOnChange is held while the run stays where the window's last snapshot was; it is
answered with a Snapshot once the run moved on (a step, a pause, a new run) or a command arrived, and with a tiny
Unchanged after HOLD_S. The clock is passed in: no waiting."""

import pytest

from core.children.trainer import HOLD_S, TrainingChild
from core.config import preset
from core.live.engine import LiveEngine
from core.messages import SetLr, SnapshotOnChange, SnapshotRequest, Step, Unchanged
from core.snapshot import Snapshot

CFG = preset("question-fixed").replace(steps=10**6)


def _held_child(running: bool = False) -> tuple[TrainingChild, LiveEngine]:
    engine = LiveEngine(CFG)
    child = TrainingChild(engine)
    engine.step(3)
    engine.running = running
    assert child.handle(SnapshotOnChange(7, engine.run.run_id, engine.steps, running)) is None
    return child, engine


def test_a_run_that_stays_put_is_held_then_answered_unchanged():
    child, engine = _held_child()
    t0 = child.held_since
    assert child.due_reply(t0) is None and child.due_reply(t0 + HOLD_S / 2) is None  # held: nothing sent
    reply = child.due_reply(t0 + HOLD_S)
    assert reply == Unchanged(3, False)
    assert child.due_reply(t0 + 10 * HOLD_S) is None  # answered once


@pytest.mark.parametrize("move", ["step", "start", "new run"])
def test_a_run_that_moved_on_is_answered_with_a_snapshot_at_once(move):
    child, engine = _held_child()
    if move == "step":
        engine.advance(max_steps=1)
    elif move == "start":
        engine.running = True
    else:
        engine.reset(CFG)
    reply = child.due_reply(child.held_since)
    assert isinstance(reply, Snapshot) and len(reply.view.x) == min(7, engine.steps) and reply.step == engine.steps
    assert child.due_reply(child.held_since + HOLD_S) is None


def test_a_command_answers_a_held_request_after_it():
    child, engine = _held_child(running=True)
    child.handle(SetLr(0.02))  # the lr is no step, but the window must see it now
    reply = child.due_reply(child.held_since)
    assert isinstance(reply, Snapshot) and reply.config["train"]["lr"] == 0.02


def test_a_snapshot_request_is_answered_at_once_even_when_nothing_changed():
    child, engine = _held_child()
    child.handle(Step(1))
    child.due_reply(child.held_since)
    child.handle(SnapshotRequest(5))
    reply = child.due_reply(child.held_since)
    assert isinstance(reply, Snapshot) and reply.step == 4


@pytest.mark.parametrize("msg", [SnapshotOnChange(-1, 1, 0, True), SnapshotOnChange(5, "1", 0, True),
                                 SnapshotOnChange(5, 1, 0, 1)])
def test_a_bad_snapshot_on_change_is_refused(msg):
    reply = TrainingChild(LiveEngine(CFG)).handle(msg)
    assert reply is not None and "SnapshotOnChange" in reply.text
