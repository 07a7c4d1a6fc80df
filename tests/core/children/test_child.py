"""core.children.trainer: the training child accepts exactly core.messages.COMMANDS, dispatched on type; anything else
gets one clear Error and the child keeps serving."""

import multiprocessing as mp
import threading

import pytest

from core.children.trainer import TrainingChild, serve
from core.config import preset
from core.live.engine import LiveEngine
from core.messages import (
    COMMANDS,
    Error,
    Notice,
    Pause,
    Quit,
    Ready,
    Reset,
    SetLr,
    SetSpeed,
    SnapshotRequest,
    Start,
    Step,
)
from core.snapshot import Snapshot
from tests.helpers import recv_until

CFG = preset("question-fixed").replace(steps=10**6)


def test_every_command_has_one_handler_and_nothing_else_does():
    child = TrainingChild(LiveEngine(CFG))
    assert set(child.handlers) == set(COMMANDS)


@pytest.mark.parametrize("msg", [("call", "save_session", ("/tmp/x",)), "start", {"type": "Start"}, Ready("cpu"),
                                 ("quit",)])
def test_an_unknown_message_gets_one_clear_error(msg):
    engine = LiveEngine(CFG)
    child = TrainingChild(engine)
    reply = child.handle(msg)
    assert isinstance(reply, Error) and "does not accept" in reply.text and type(msg).__name__ in reply.text
    assert "Traceback" not in reply.text and not child.quit and engine.steps == 0 and not engine.running


@pytest.mark.parametrize("msg", [Step(0), Step("3"), Step(True), SetLr(float("nan")), SetLr("0.1"),
                                 SetSpeed(-1), SnapshotRequest(-5), Reset("lag=3")])
def test_a_command_with_a_bad_field_is_refused_with_one_error(msg):
    engine = LiveEngine(CFG)
    reply = TrainingChild(engine).handle(msg)
    assert isinstance(reply, Error) and type(msg).__name__ in reply.text
    assert engine.steps == 0 and engine.cfg == CFG


def test_the_child_loop_survives_an_unknown_message_and_keeps_serving():
    parent, child_end = mp.Pipe()
    t = threading.Thread(target=serve, args=(child_end, CFG.to_dict()), daemon=True)
    t.start()
    try:
        recv_until(parent, Ready)
        parent.send(("call", "reset", ({},)))  # the old string protocol: refused, not executed
        err, _ = recv_until(parent, Error)
        assert "does not accept tuple" in err.text
        parent.send(Step(7))
        parent.send(SnapshotRequest(5))
        snap, seen = recv_until(parent, Snapshot)
        assert snap.step == 7 and len(snap.view.x) == 5 and not snap.running
        assert not any(isinstance(m, Error) for m in seen)
        parent.send(Start())
        parent.send(SnapshotRequest(5))
        snap, _ = recv_until(parent, Snapshot)
        assert snap.running
        parent.send(Pause())
        parent.send(Reset(preset("question-fixed").replace(steps=3).to_dict()))
        parent.send(Step(3))
        parent.send(SnapshotRequest(5))
        snap, seen = recv_until(parent, Snapshot)
        assert snap.step == 3 and snap.finished and snap.finished_reason == "steps" and not snap.running
        assert any(isinstance(m, Notice) and "Reached 3" in m.text for m in seen)
        parent.send(Quit())
        t.join(5)
        assert not t.is_alive()
    finally:
        parent.close()
