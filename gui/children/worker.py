"""The training worker: one QObject in a QThread that drives the training child (core.children.trainer) through a
ChildLink, and `WorkerHandle`, the GUI's side of it.

The GUI calls WorkerHandle's methods (start, pause, step, reset, set_lr, set_speed, save_session, open_session,
export_csv, set_window, frame_drawn, stop); each becomes a typed command (core.messages) queued to the worker
thread and sent to the child, which applies it between steps. The child's replies come back as the worker's
Qt signals, dispatched through one table keyed by reply type (`TrainingWorker.HANDLERS`, one entry per type in
core.messages.REPLIES). Frames are paced: a snapshot is requested only after the last one was drawn
(`frame_drawn`) and at most `max_fps` times a second, and only while something changes: once after each command
or view setting (SnapshotRequest: at once), and while the run trains (SnapshotOnChange: the child answers when
the run moved on from the last snapshot, so a run at 1 step/s is drawn about once a step; `Unchanged` when it
did not for a while). A paused or idle window asks for nothing, so it rests. The pipe is read when it has data
(a QSocketNotifier on POSIX) and every WATCH_MS (the watchdog); the timer runs fast (PUMP_MS) only while a
request waits for the `max_fps` spacing, or where no notifier exists (then also while an answer is due).

The child is spawned as soon as the handle exists (the app makes the handle before it builds the window);
its replies are read only once `listen()` was called, so none is emitted before the window is wired to them.

A watchdog guards the snapshot in flight: no answer for NOT_RESPONDING_S (a stopped or hung child; longer while
a file command runs) says so once as an error, "Reset restarts it" (Reset then replaces the child); any later
message from the child says it answers again and training goes on as the child reports.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict

from PySide6.QtCore import QObject, QSocketNotifier, QThread, QTimer, Signal, Slot

from core.messages import (
    Command,
    Error,
    ExportCsv,
    ExportResult,
    FileResult,
    Notice,
    OpenResult,
    OpenSession,
    Pause,
    Ready,
    Reset,
    SaveResult,
    SaveSession,
    SetLr,
    SetSpeed,
    SnapshotOnChange,
    SnapshotRequest,
    Start,
    Step,
    Unchanged,
)
from core.snapshot import Snapshot
from gui.children.entry import trainer_main
from gui.children.link import ChildLink
from gui.children.priority import at_full_priority

PUMP_MS = 4        # how often the worker looks while a request waits for the frame spacing
IDLE_PUMP_MS = 50  # ... and otherwise where no notifier watches the pipe
WATCH_MS = 200     # ... and otherwise (the pipe's notifier wakes it for the child's replies; this is the watchdog)
NOT_RESPONDING_S = 5.0  # no answer to a snapshot request for this long: the trainer is not responding
FILE_COMMAND_S = 60.0  # the same while a save, open or export runs (a big session takes seconds to open)


class TrainingWorker(QObject):
    snapshot = Signal(object)    # core.snapshot.Snapshot
    notice = Signal(str)
    error = Signal(str)
    result = Signal(object)      # core.messages.SaveResult / OpenResult / ExportResult
    ready = Signal(dict)         # {"device": ...}
    stopped = Signal()

    def __init__(self, cfg_dict: dict, max_fps: float = 60.0, window: int = 200):
        super().__init__()
        self._cfg = cfg_dict
        self.max_fps = max_fps
        self.window = window
        self.link: ChildLink | None = None
        self._timer = None
        self._notifier: QSocketNotifier | None = None  # the pipe has data: read it        self._awaiting_draw = False
        self._requested = False
        self._last_request = 0.0
        self._listening = False
        # snapshots still owed since something changed. The first reply after a command may have been asked
        # for before it (AppState then skips it), so a command is owed two replies, the last asked after it
        self._owed = 0
        self._live = False    # the last snapshot said the run trains: keep asking (on change)
        self._last: tuple[int, int, bool] | None = None  # the last snapshot's (run_id, step, running)
        self.requests = 0     # snapshots asked for so far (tests count them)
        self.unchanged = 0    # ... answered Unchanged (nothing new to draw)
        self.pumps = 0        # looks at the pipe so far (the worker's event-loop turns; tests count them)
        self._file_commands = 0  # sent and not yet answered
        self.unresponsive = False  # the watchdog said the trainer does not answer, and it has not since

    @property
    def child_pid(self) -> int | None:
        link = self.link
        return link.pid if link is not None else None

    # -- life cycle (run in the worker thread) --------------------------------------------------------------
    @Slot()
    def begin(self) -> None:
        self.link = ChildLink(trainer_main, name="gml-trainer", parent=self)
        self.link.message.connect(self._on_message)
        self.link.died.connect(self._on_died)
        self._spawn()
        self._timer = QTimer(self)
        self._timer.setInterval(PUMP_MS)
        self._timer.timeout.connect(self._pump)
        if self._listening:
            self._timer.start()

    @Slot()
    def listen(self) -> None:
        """Start reading the child's replies (and ask for a first snapshot)."""
        self._listening = True
        self._owed = max(self._owed, 1)
        if self._timer is not None and not self._timer.isActive():
            self._timer.start(PUMP_MS)

    def _spawn(self) -> None:
        self.link.start(self._cfg)
        self._watch_pipe()
        self._awaiting_draw = False
        self._requested = False
        self._owed = 2  # the first snapshot, and one to confirm the run state after it
        self._live = False
        self._last = None
        self._file_commands = 0
        self.unresponsive = False

    def _watch_pipe(self) -> None:
        """Read the child's pipe as soon as it has data (POSIX: its end is a file descriptor Qt can watch)."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        fd = self.link.fileno()
        if fd is not None and os.name == "posix":
            self._notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._pump)

    @Slot()
    def shutdown(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        if self._timer is not None:
            self._timer.stop()
        if self.link is not None:
            self.link.stop()
        self.stopped.emit()
        QThread.currentThread().quit()  # direct: the GUI thread may be blocked waiting for this thread

    # -- commands (queued from the GUI thread) --------------------------------------------------------------
    def _send(self, msg: Command) -> None:
        if self.link is None or not self.link.alive:
            self.error.emit("The training process is not running; press Reset to restart it.")
            return
        self.link.send(msg)

    @Slot(object)
    def command(self, msg: Command) -> None:
        if isinstance(msg, Reset):
            self._cfg = msg.config
            if self.link is not None and (not self.link.alive or self.unresponsive):
                self._spawn()  # the child died or does not answer: a fresh one from the new config
                return
        if isinstance(msg, (SaveSession, OpenSession, ExportCsv)):
            self._file_commands += 1
        self._send(msg)
        self._want(1 if self._requested else 2)  # a reply in flight is the first (it may predate the command)

    @Slot(int)
    def set_window(self, w: int) -> None:
        self.window = int(w)
        self._want(1)

    @Slot()
    def request_snapshot(self) -> None:
        """Something the snapshot shows may have changed: ask for one (once the last one was drawn)."""
        self._want(1)

    def _want(self, n: int) -> None:
        self._owed = max(self._owed, n)
        if self._listening:
            self._pump()

    @Slot()
    def frame_drawn(self) -> None:
        self._awaiting_draw = False
        if self._listening:
            self._pump()  # the next request at once

    # -- the child's replies: one handler per type of core.messages.REPLIES --------------------------------
    def _on_message(self, msg) -> None:
        if self.unresponsive:
            self.unresponsive = False
            self.notice.emit("The trainer is responding again.")
        handler = self.HANDLERS.get(type(msg))
        if handler is None:
            self.error.emit(f"The training process sent an unknown message ({type(msg).__name__}); ignored.")
            return
        handler(self, msg)

    def _on_snapshot(self, msg: Snapshot) -> None:
        self._requested = False
        self._awaiting_draw = True
        self._live = bool(msg.running)
        self._last = (msg.run_id, msg.step, bool(msg.running))
        self.snapshot.emit(msg)

    def _on_unchanged(self, msg: Unchanged) -> None:
        self._requested = False
        self._live = bool(msg.running)
        self.unchanged += 1

    def _on_notice(self, msg: Notice) -> None:
        self.notice.emit(msg.text)

    def _on_error(self, msg: Error) -> None:
        self.error.emit(msg.text)

    def _on_file_result(self, msg: FileResult) -> None:
        self._file_commands = max(0, self._file_commands - 1)
        self.result.emit(msg)

    def _on_ready(self, msg: Ready) -> None:
        self.ready.emit(asdict(msg))

    # keyed by exact type; the keys are core.messages.REPLIES (tests/gui/children/test_worker.py checks it)
    HANDLERS: dict[type, Callable[[TrainingWorker, object], None]] = {
        Snapshot: _on_snapshot, Unchanged: _on_unchanged, Notice: _on_notice, Error: _on_error, Ready: _on_ready,
        SaveResult: _on_file_result, OpenResult: _on_file_result, ExportResult: _on_file_result,
    }

    def _on_died(self, code) -> None:
        self.error.emit(f"The training process stopped unexpectedly (exit code {code}). "
                        "Press Reset to start a new one; your config is kept.")

    @Slot()
    def _pump(self) -> None:
        if self.link is None or not self.link.alive:
            if self._notifier is not None:
                self._notifier.setEnabled(False)  # a closed pipe reads as ready for ever
            return
        self.pumps += 1
        self.link.poll()
        now = time.perf_counter()
        if (self.link.alive and (self._owed or self._live) and not self._requested and not self._awaiting_draw
                and now - self._last_request >= 1.0 / self.max_fps):
            if self._owed or self._last is None:
                self._send(SnapshotRequest(self.window))
            else:
                self._send(SnapshotOnChange(self.window, *self._last))
            self._requested = True
            self._owed = max(0, self._owed - 1)
            self._last_request = now
            self.requests += 1
        if self._notifier is not None and self.link.alive:  # replies wake the pump; frame_drawn pumps itself
            spacing = (self._owed or self._live) and not self._requested and not self._awaiting_draw
            interval = PUMP_MS if spacing else WATCH_MS
        else:
            busy = self._requested or self._awaiting_draw or self._owed or self._live
            interval = PUMP_MS if busy else IDLE_PUMP_MS
        if self._timer is not None and self._timer.interval() != interval:
            self._timer.setInterval(interval)
        self._watch(now)

    def _watch(self, now: float) -> None:
        """The watchdog: a snapshot asked for and not answered for too long means the child does not respond."""
        limit = FILE_COMMAND_S if self._file_commands else NOT_RESPONDING_S
        if self._requested and not self.unresponsive and self.link.alive and now - self._last_request > limit:
            self.unresponsive = True
            self.error.emit(f"The trainer is not responding (no answer for {limit:.0f} s). Reset restarts it.")


class WorkerHandle(QObject):
    """Owns the worker's thread; the GUI talks to this. Each method queues one typed command to the worker;
    the replies arrive as `worker`'s signals (snapshot, notice, error, result, ready, stopped)."""

    _command = Signal(object)
    _window = Signal(int)
    _drawn = Signal()
    _refresh = Signal()
    _listen = Signal()
    _shutdown = Signal()

    def __init__(self, cfg_dict: dict, max_fps: float = 60.0, parent=None, listen: bool = True):
        """Spawns the child at once; with listen=False its replies wait (in the pipe) until `listen()`."""
        super().__init__(parent)
        self.ready_info: dict | None = None  # the child's Ready, once it came ({"device": ...})
        self.thread = QThread()
        self.thread.setObjectName("gml-worker")
        self.worker = TrainingWorker(cfg_dict, max_fps=max_fps)
        self.worker.moveToThread(self.thread)
        self.worker.ready.connect(self._note_ready)
        self.thread.started.connect(self.worker.begin)
        self._command.connect(self.worker.command)
        self._window.connect(self.worker.set_window)
        self._drawn.connect(self.worker.frame_drawn)
        self._refresh.connect(self.worker.request_snapshot)
        self._listen.connect(self.worker.listen)
        self._shutdown.connect(self.worker.shutdown)
        if listen:
            self.worker.listen()  # before the thread runs: begin() starts reading at once
        at_full_priority(self.thread.start)  # not at a priority the drawing thread gave up (it spawns the child)

    def listen(self) -> None:
        """Start delivering the child's replies as the worker's signals (connect to them first)."""
        self._listen.emit()

    @property
    def child_pid(self) -> int | None:
        """The training child's process id (None while there is none); safe to read from the GUI thread."""
        return self.worker.child_pid

    def _note_ready(self, info: dict) -> None:
        self.ready_info = dict(info)

    @property
    def ready(self) -> bool:
        """The child said it is ready to train."""
        return self.ready_info is not None

    # -- training -------------------------------------------------------------------------------------------
    def start(self, until: int | None = None) -> None:
        """Train on; with `until`, the child pauses exactly at that step."""
        self._command.emit(Start(until))

    def pause(self) -> None:
        self._command.emit(Pause())

    def step(self, n: int = 1) -> None:
        """Pause, then train n units (timesteps online, minibatches in batch mode)."""
        self._command.emit(Step(int(n)))

    def reset(self, cfg_dict: dict) -> None:
        """A new run from this config (Config.to_dict()); restarts the child if it died."""
        self._command.emit(Reset(dict(cfg_dict)))

    def set_lr(self, lr: float) -> None:
        self._command.emit(SetLr(float(lr)))

    def set_speed(self, steps_per_second: float) -> None:
        self._command.emit(SetSpeed(float(steps_per_second)))

    # -- files (answered through worker.result with a SaveResult / OpenResult / ExportResult) -----------------
    def save_session(self, path: str, extra: dict | None = None) -> None:
        self._command.emit(SaveSession(str(path), dict(extra or {})))

    def open_session(self, path: str) -> None:
        self._command.emit(OpenSession(str(path)))

    def export_csv(self, path: str) -> None:
        self._command.emit(ExportCsv(str(path)))

    # -- frames and life cycle ------------------------------------------------------------------------------
    def set_window(self, w: int) -> None:
        self._window.emit(int(w))

    def frame_drawn(self) -> None:
        self._drawn.emit()

    def request_snapshot(self) -> None:
        """Ask for one fresh snapshot (something it shows changed); while training runs they flow anyway."""
        self._refresh.emit()

    def stop(self, timeout_ms: int = 1000) -> bool:
        """Stop the child and the thread; True when the thread ended within the timeout."""
        if not self.thread.isRunning():
            return True
        self._shutdown.emit()
        ok = self.thread.wait(timeout_ms)
        if not ok:
            self.thread.quit()
            ok = self.thread.wait(200)
        return ok
