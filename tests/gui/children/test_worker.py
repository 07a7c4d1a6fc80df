"""gui.children.worker.WorkerHandle and gui.children.link.ChildLink, without a window: the handle's methods reach the
training child as typed commands, its replies come back as the worker's signals (file results typed) through
one table keyed by reply type, a dead child is reported, and the Seeds child runs through the same link."""

import os
import signal

import pytest

pytest.importorskip("pytestqt")

from core.children.seeds import seeds_child  # noqa: E402
from core.config import preset  # noqa: E402
from core.messages import (  # noqa: E402
    REPLIES,
    SEEDS_REPLIES,
    SWEEP_REPLIES,
    Error,
    ExportResult,
    Notice,
    OpenResult,
    Ready,
    SaveResult,
    SeedDone,
    SeedsDone,
)
from gui.children.link import ChildLink  # noqa: E402
from gui.children.worker import TrainingWorker, WorkerHandle  # noqa: E402
from gui.experiments.seeds import SeedsPanel  # noqa: E402
from gui.experiments.sweep import SweepPanel  # noqa: E402

CFG = preset("question-fixed").replace(steps=10**6)


class Recorder:
    """Every snapshot drawn at once (frame_drawn), plus every notice, error and result."""

    def __init__(self, handle):
        self.handle, self.snaps, self.notices, self.errors, self.results = handle, [], [], [], []
        w = handle.worker
        w.snapshot.connect(self._snap)
        w.notice.connect(self.notices.append)
        w.error.connect(self.errors.append)
        w.result.connect(self.results.append)

    def _snap(self, s):
        self.snaps.append(s)
        self.handle.frame_drawn()

    @property
    def last(self):
        return self.snaps[-1] if self.snaps else None


@pytest.fixture
def handle(qtbot):
    h = WorkerHandle(CFG.to_dict(), max_fps=100)
    yield h
    assert h.stop(3000)


@pytest.mark.slow
def test_the_handle_methods_drive_the_child(qtbot, handle, tmp_path):
    rec = Recorder(handle)
    handle.set_window(30)
    qtbot.waitUntil(lambda: rec.last is not None, timeout=20000)
    handle.step(12)
    qtbot.waitUntil(lambda: rec.last.step == 12, timeout=20000)
    assert len(rec.last.view.x) == 12 and not rec.last.running
    handle.set_speed(200.0)
    handle.set_lr(0.02)
    handle.start()
    qtbot.waitUntil(lambda: rec.last.running and rec.last.step > 20, timeout=20000)
    handle.pause()
    qtbot.waitUntil(lambda: not rec.last.running, timeout=20000)
    assert rec.last.config["train"]["lr"] == 0.02
    path = str(tmp_path / "s.gmlab")
    handle.save_session(path, {"gui": {"window": 30}})
    qtbot.waitUntil(lambda: any(isinstance(r, SaveResult) for r in rec.results), timeout=20000)
    saved = rec.results[-1]
    assert saved.ok and saved.path == path
    handle.export_csv(str(tmp_path / "h.csv"))
    qtbot.waitUntil(lambda: any(isinstance(r, ExportResult) for r in rec.results), timeout=20000)
    assert rec.results[-1].ok and (tmp_path / "h.csv").exists()
    handle.reset(preset("question").to_dict())
    qtbot.waitUntil(lambda: rec.last.config["task"] == preset("question").to_dict()["task"] and rec.last.step == 0,
                    timeout=20000)
    handle.open_session(path)
    qtbot.waitUntil(lambda: any(isinstance(r, OpenResult) for r in rec.results), timeout=20000)
    opened = rec.results[-1]
    assert opened.ok and opened.step == saved.step and opened.extra == {"gui": {"window": 30}}
    qtbot.waitUntil(lambda: rec.last.run_id == opened.run_id and rec.last.step == saved.step, timeout=20000)
    handle.open_session(str(tmp_path / "missing.gmlab"))
    qtbot.waitUntil(lambda: isinstance(rec.results[-1], OpenResult) and not rec.results[-1].ok, timeout=20000)
    assert "missing.gmlab" in rec.results[-1].error and rec.last.run_id == opened.run_id
    assert rec.errors == []
    # a dead child is reported once, commands then say so, and Reset starts a new one
    pid, run = handle.worker.child_pid, rec.last.run_id
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: any("stopped unexpectedly" in e for e in rec.errors), timeout=20000)
    assert len(rec.errors) == 1
    handle.start()  # nothing to send to: one clear message
    qtbot.waitUntil(lambda: any("not running" in e for e in rec.errors), timeout=5000)
    handle.reset(CFG.to_dict())
    qtbot.waitUntil(lambda: rec.last.run_id != run, timeout=20000)
    assert handle.worker.child_pid not in (None, pid)


@pytest.mark.slow
def test_the_seeds_child_runs_through_a_child_link(qtbot):
    got, died = [], []
    link = ChildLink(seeds_child, name="gml-seeds", duplex=False)

    def on_message(msg):
        got.append(msg)
        if isinstance(msg, (SeedsDone, Error)):
            link.stop()

    link.message.connect(on_message)
    link.died.connect(died.append)
    cfg = preset("question-fixed").replace(kind="copy", lag=0, p=0.5, lr=1e-2, steps=200, eval_steps=100)
    link.start(cfg.to_dict(), 2, poll_ms=20)
    qtbot.waitUntil(lambda: not link.alive, timeout=60000)
    assert [type(m) for m in got] == [SeedDone, SeedDone, SeedsDone] and died == []
    assert [m.result.seed for m in got[:2]] == [0, 1] and got[2].summary.n_seeds == 2


def test_a_link_stopped_midway_ends_its_child(qtbot):
    link = ChildLink(seeds_child, name="gml-seeds", duplex=False)
    link.start(preset("question").replace(steps=10**6).to_dict(), 3)
    pid = link.pid
    link.stop()
    assert not link.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_every_reply_type_has_exactly_one_handler():
    """Each child's replies (core.messages) are dispatched through one table keyed by type, covering them all."""
    assert set(TrainingWorker.HANDLERS) == set(REPLIES)
    assert set(SeedsPanel.HANDLERS) == set(SEEDS_REPLIES)
    assert set(SweepPanel.HANDLERS) == set(SWEEP_REPLIES)


def test_the_worker_turns_each_reply_into_its_signal(qtbot):
    """Without a child: each reply type reaches its own signal, typed; anything else is one error."""
    w = TrainingWorker(CFG.to_dict())
    got = {"notice": [], "error": [], "result": [], "ready": []}
    for name, items in got.items():
        getattr(w, name).connect(items.append)
    w._file_commands = 1
    save = SaveResult(True, "/tmp/x.gmlab", step=3)
    for msg in (Notice("hello"), Error("bad"), save, Ready("cpu"), "a string"):
        w._on_message(msg)
    assert got["notice"] == ["hello"] and got["ready"] == [{"device": "cpu"}]
    assert got["result"] == [save] and w._file_commands == 0
    assert got["error"][0] == "bad" and "unknown message (str)" in got["error"][1] and len(got["error"]) == 2


def _close_then_exit(conn, code):
    """A child whose pipe closes just before its process ends: the parent often sees the end of the pipe before
    the process is reaped, as with a killed child."""
    conn.close()
    os._exit(code)


def test_a_dead_child_reports_its_exit_code_not_none(qtbot):
    """The pipe's end is seen before the process is reaped; the exit code told is the real one."""
    died = []
    link = ChildLink(_close_then_exit, name="gml-test", duplex=False)
    link.died.connect(died.append)
    link.start(7, poll_ms=10)
    qtbot.waitUntil(lambda: died != [], timeout=20000)
    assert died == [7]
