"""Issue 15, defect 2: an open is all or nothing across the process boundary. tests/data/deep_extra.gmlab is a
valid session (online, 16 units, correct checksum) whose `extra` is valid JSON nested 900 deep: it is refused
with one message, and the running run (here batch, 2 units) goes on untouched in the child and in the window."""

import multiprocessing as mp
import threading
from pathlib import Path

import pytest

from core.children.trainer import serve
from core.config import preset
from core.live import files as live_session
from core.live.engine import LiveEngine
from core.messages import OpenResult, OpenSession, Quit, Ready, SnapshotRequest, Step
from core.sessions import container as session_format
from core.sessions.gmlab import SessionError, open_session
from core.snapshot import Snapshot
from tests.helpers import recv_until

DEEP = Path(__file__).resolve().parents[2] / "data" / "deep_extra.gmlab"
RUNNING = preset("answer").replace(units=2, n_sequences=200, seq_len=8, batch_size=20)  # batch, 2 units


def test_a_deeply_nested_json_field_is_refused_before_parsing_with_its_depth():
    with pytest.raises(SessionError) as e:
        open_session(DEEP)
    assert "the session's extra data is nested 900 deep (at most 32)" in str(e.value)
    with pytest.raises(session_format.Problem, match="nested 40 deep"):
        session_format.json_value("[" * 40 + "]" * 40, "the trainer position")
    with pytest.raises(session_format.Problem, match="MB"):
        session_format.json_value('"' + "x" * (2 * 1024 * 1024) + '"', "extra")
    assert session_format.json_depth('{"a": "[[[[\\"[[", "b": [{"c": 1}]}') == 3  # brackets in texts don't count
    assert session_format.json_value('{"a": [1, {"b": 2}]}', "extra") == {"a": [1, {"b": 2}]}


def test_a_session_the_app_could_not_open_is_never_written(tmp_path):
    from core.sessions.gmlab import save_session
    from core.train.trainer import make_trainer

    deep = {"gui": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    with pytest.raises(SessionError, match="nested 36 deep"):
        save_session(tmp_path / "s.gmlab", make_trainer(RUNNING), {}, deep)
    assert not (tmp_path / "s.gmlab").exists()


def test_a_reply_that_cannot_be_sent_leaves_the_run_untouched(monkeypatch):
    """The second line of defence: with the depth check lifted, the file restores fine, but its reply cannot be
    pickled; open_into finds that out before it replaces the run."""
    monkeypatch.setattr(session_format, "MAX_JSON_DEPTH", 10**6)
    engine = LiveEngine(RUNNING)
    engine.step(3)
    run_id, trainer = engine.run.run_id, engine.trainer
    res = live_session.open_into(engine, str(DEEP))
    assert isinstance(res, OpenResult) and not res.ok
    assert "nested too deeply" in res.error and "the current run continues" in res.error
    assert engine.run.run_id == run_id and engine.trainer is trainer and engine.cfg == RUNNING
    assert engine.steps == 3


def test_the_child_refuses_the_file_and_keeps_serving_the_old_run():
    parent, child_end = mp.Pipe()
    t = threading.Thread(target=serve, args=(child_end, RUNNING.to_dict()), daemon=True)
    t.start()
    try:
        recv_until(parent, Ready)
        parent.send(Step(3))
        parent.send(SnapshotRequest(5))
        before, _ = recv_until(parent, Snapshot)
        parent.send(OpenSession(str(DEEP)))
        res, seen = recv_until(parent, OpenResult)
        assert not res.ok and "nested 900 deep (at most 32)" in res.error and "Traceback" not in res.error
        assert [type(m).__name__ for m in seen] == ["OpenResult"]  # one answer, no Error beside it
        parent.send(SnapshotRequest(5))
        after, _ = recv_until(parent, Snapshot)
        assert (after.run_id, after.step, after.mode) == (before.run_id, 3, "batch")
        assert after.config == RUNNING.to_dict()
        parent.send(Quit())
        t.join(5)
        assert not t.is_alive()
    finally:
        parent.close()


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_the_window_shows_one_error_and_still_shows_the_old_config(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from tests.gui_helpers import make_window, wait_step

    win = make_window(qtbot, tmp_path, monkeypatch, RUNNING)
    try:
        win.commands.step(3)
        before = wait_step(qtbot, win, lambda s: s.step == 3 and not s.running)
        n_err = len(win.message.errors)
        with qtbot.waitSignal(win.session_ui.failed, timeout=30000):
            win.session_ui.open_session_from(str(DEEP))
        assert len(win.message.errors) == n_err + 1
        msg = win.message.errors[-1]
        assert "nested 900 deep" in msg and "Traceback" not in msg
        frames = win.presenter.frames
        win.handle.request_snapshot()  # a paused window asks for none by itself: a fresh one from the child
        qtbot.waitUntil(lambda: win.presenter.frames >= frames + 1, timeout=10000)
        s = win.snap
        assert (s.run_id, s.step, s.mode) == (before.run_id, 3, "batch")
        assert win.state.applied == RUNNING and win.panel.config() == RUNNING
        assert win.state.current_path is None
    finally:
        win.close()
