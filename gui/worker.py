"""The training worker: one QObject in a QThread that drives a child training process.

The child (core.live.serve) owns the trainer, so training never shares the GUI's interpreter lock. The worker
forwards commands (queued signals, applied by the child between steps), reads the child's messages and
re-emits them as Qt signals. Frames are paced: a snapshot is requested only after the last one was drawn
(`frame_drawn`) and at most `max_fps` times a second.
"""

from __future__ import annotations

import multiprocessing as mp
import time

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from core.live import child_main


class TrainingWorker(QObject):
    snapshot = Signal(object)    # core.live.Snapshot
    notice = Signal(str)
    error = Signal(str)
    result = Signal(str, object)
    ready = Signal(dict)
    stopped = Signal()

    def __init__(self, cfg_dict: dict, max_fps: float = 60.0, window: int = 200):
        super().__init__()
        self._cfg = cfg_dict
        self.max_fps = max_fps
        self.window = window
        self._proc = None
        self._conn = None
        self._timer = None
        self._awaiting_draw = False
        self._requested = False
        self._last_request = 0.0
        self._alive = False

    # -- life cycle (run in the worker thread) --------------------------------------------------------------
    @Slot()
    def begin(self) -> None:
        self._spawn(self._cfg)
        self._timer = QTimer(self)
        self._timer.setInterval(4)
        self._timer.timeout.connect(self._pump)
        self._timer.start()

    def _spawn(self, cfg_dict: dict) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=child_main, args=(child, cfg_dict), daemon=True, name="gml-trainer")
        self._proc.start()
        child.close()
        self._conn = parent
        self._alive = True
        self._awaiting_draw = False
        self._requested = False

    def _kill_child(self, timeout: float = 0.5) -> None:
        """Ask the child to quit, draining the pipe meanwhile (a child blocked on a full pipe cannot read)."""
        conn, proc = self._conn, self._proc
        if conn is not None:
            try:
                conn.send(("quit",))
            except (BrokenPipeError, OSError):
                pass
        if proc is not None:
            deadline = time.perf_counter() + timeout
            while proc.is_alive() and time.perf_counter() < deadline:
                try:
                    while conn is not None and conn.poll(0.005):
                        conn.recv()
                except (EOFError, OSError):
                    pass
                proc.join(0.005)
            if proc.is_alive():
                proc.terminate()
                proc.join(0.2)
            if proc.is_alive():
                proc.kill()
                proc.join(0.2)
        if conn is not None:
            conn.close()
        self._proc = self._conn = None
        self._alive = False

    @Slot()
    def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._kill_child()
        self.stopped.emit()
        QThread.currentThread().quit()  # direct: the GUI thread may be blocked waiting for this thread

    # -- commands (queued from the GUI thread) --------------------------------------------------------------
    def _send(self, *msg) -> None:
        if not self._alive:
            self.error.emit("The training process is not running; press Reset to restart it.")
            return
        try:
            self._conn.send(msg)
        except (BrokenPipeError, OSError):
            self._lost()

    @Slot(tuple)
    def command(self, msg: tuple) -> None:
        if msg and msg[0] == "reset":
            self._cfg = msg[1]
            if not self._alive:  # the child died: a fresh one from the new config
                self._spawn(self._cfg)
                return
        self._send(*msg)

    @Slot(int)
    def set_window(self, w: int) -> None:
        self.window = int(w)

    @Slot()
    def frame_drawn(self) -> None:
        self._awaiting_draw = False

    # -- the pump -------------------------------------------------------------------------------------------
    def _lost(self) -> None:
        code = self._proc.exitcode if self._proc is not None else None
        self._kill_child(0.1)
        self.error.emit(f"The training process stopped unexpectedly (exit code {code}). "
                        "Press Reset to start a new one; your config is kept.")

    @Slot()
    def _pump(self) -> None:
        if not self._alive:
            return
        try:
            n = 0
            while n < 64 and self._conn.poll():
                msg = self._conn.recv()
                n += 1
                kind = msg[0]
                if kind == "snapshot":
                    self._requested = False
                    self._awaiting_draw = True
                    self.snapshot.emit(msg[1])
                elif kind == "notice":
                    self.notice.emit(msg[1])
                elif kind == "error":
                    self.error.emit(msg[1])
                elif kind == "result":
                    self.result.emit(msg[1], msg[2])
                elif kind == "ready":
                    self.ready.emit(msg[1])
        except (EOFError, BrokenPipeError, OSError):
            self._lost()
            return
        now = time.perf_counter()
        if not self._requested and not self._awaiting_draw and now - self._last_request >= 1.0 / self.max_fps:
            self._send("snapshot", self.window)
            self._requested = True
            self._last_request = now


class WorkerHandle(QObject):
    """Owns the worker's thread; the GUI talks to this. Commands become queued signals to the worker."""

    _command = Signal(tuple)
    _window = Signal(int)
    _drawn = Signal()
    _shutdown = Signal()

    def __init__(self, cfg_dict: dict, max_fps: float = 60.0, parent=None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("gml-worker")
        self.worker = TrainingWorker(cfg_dict, max_fps=max_fps)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.begin)
        self._command.connect(self.worker.command)
        self._window.connect(self.worker.set_window)
        self._drawn.connect(self.worker.frame_drawn)
        self._shutdown.connect(self.worker.shutdown)
        self.thread.start()

    def send(self, *msg) -> None:
        self._command.emit(tuple(msg))

    def set_window(self, w: int) -> None:
        self._window.emit(int(w))

    def frame_drawn(self) -> None:
        self._drawn.emit()

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

    # -- the command interface the GUI codes against (one-line wrappers over send; H2 replaces the body) ------
    def start(self) -> None:
        self.send("start")

    def pause(self) -> None:
        self.send("pause")

    def step(self, n: int = 1) -> None:
        self.send("step", int(n))

    def reset(self, cfg_dict: dict) -> None:
        self.send("reset", cfg_dict)

    def set_lr(self, lr: float) -> None:
        self.send("set_lr", float(lr))

    def set_speed(self, sps: float) -> None:
        self.send("set_speed", float(sps))

    def save_session(self, path: str, extra: dict) -> None:
        self.send("call", "save_session", (path, extra))

    def open_session(self, path: str) -> None:
        self.send("call", "open_session", (path,))

    def export_csv(self, path: str) -> None:
        self.send("call", "export_history_csv", (path,))
