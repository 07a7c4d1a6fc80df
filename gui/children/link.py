"""One child process behind a pipe, for the GUI: spawn it, poll it for typed messages (core.messages), notice
when it dies, and stop it (ask, then terminate, then kill; always joined). The training worker and the Seeds
panel both use it.

    link = ChildLink(seeds_child, name="gml-seeds", duplex=False, parent=self)
    link.message.connect(self._on_message)    # SeedDone / SeedsDone / Error, in arrival order
    link.died.connect(self._on_died)           # exit code (None if unknown): the child ended unasked
    link.start(cfg.to_dict(), n, poll_ms=100)  # the child runs target(conn, *args); or poll() from a timer
    ...
    link.stop()                                # also safe from a `message` slot; `died` is not emitted then

A link polls in the thread it lives in; create it in the thread that will poll it.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from core.messages import Quit
from gui.children.priority import at_full_priority


class ChildLink(QObject):
    message = Signal(object)  # one reply from the child
    died = Signal(object)     # the child ended without stop(): its exit code (None if unknown)

    def __init__(self, target: Callable, name: str = "gml-child", *, duplex: bool = True,
                 parent: QObject | None = None):
        """target(conn, *args) runs in the child (a module-level function: it is spawned); duplex=False for a
        child that only reports (it cannot be sent commands, and stop() terminates it)."""
        super().__init__(parent)
        self._target, self._name, self._duplex = target, name, duplex
        self._proc = None
        self._conn = None
        self._timer: QTimer | None = None

    # -- life cycle ---------------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """Started and not yet stopped or found dead."""
        return self._conn is not None

    @property
    def pid(self) -> int | None:
        proc = self._proc  # read once: another thread may ask while this one stops the child
        return proc.pid if proc is not None else None

    def start(self, *args, poll_ms: int | None = None) -> None:
        """Spawn target(conn, *args), stopping any previous child; with poll_ms, poll it from this link's timer."""
        self.stop()
        ctx = mp.get_context("spawn")
        if self._duplex:
            mine, theirs = ctx.Pipe()
        else:
            mine, theirs = ctx.Pipe(duplex=False)  # (receive end, send end)
        self._proc = ctx.Process(target=self._target, args=(theirs, *args), daemon=True, name=self._name)
        at_full_priority(self._proc.start)  # never at the priority a yielding window thread dropped to
        theirs.close()
        self._conn = mine
        if poll_ms is not None:
            if self._timer is None:
                self._timer = QTimer(self)
                self._timer.timeout.connect(self.poll)
            self._timer.start(int(poll_ms))

    def stop(self, timeout: float = 0.5) -> None:
        """End the child: Quit (duplex links), waiting up to `timeout` while draining the pipe (a child blocked
        on a full pipe cannot read), then terminate, then kill. Always joins; never emits `died`."""
        if self._timer is not None:
            self._timer.stop()
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None and self._duplex:
            try:
                conn.send(Quit())
            except (BrokenPipeError, OSError):
                pass
            deadline = time.perf_counter() + timeout
            while proc is not None and proc.is_alive() and time.perf_counter() < deadline:
                try:
                    while conn.poll(0.005):
                        conn.recv()
                except (EOFError, OSError):
                    pass
                proc.join(0.005)
        if proc is not None:
            for end in (proc.terminate, proc.kill):
                if not proc.is_alive():
                    break
                end()
                proc.join(0.5)
        if conn is not None:
            conn.close()

    def fileno(self) -> int | None:
        """The pipe's file descriptor (readable when the child sent something or ended); None when stopped."""
        return self._conn.fileno() if self._conn is not None else None

    # -- traffic ------------------------------------------------------------------------------------------------
    def send(self, msg) -> bool:
        """Send one command; False when the child is gone (then `died` was emitted) or never started."""
        if self._conn is None or not self._duplex:
            return False
        try:
            self._conn.send(msg)
            return True
        except (BrokenPipeError, OSError):
            self._lost()
            return False

    def poll(self, limit: int = 64) -> int:
        """Deliver up to `limit` waiting messages through `message`; returns how many. Finds a dead child:
        the pipe's end, or the process gone with nothing left to read, emits `died` once."""
        n = 0
        try:
            while n < limit and self._conn is not None and self._conn.poll():
                msg = self._conn.recv()
                n += 1
                self.message.emit(msg)  # a slot may stop() the link: the loop then ends
            if self._conn is not None and n < limit and not self._proc.is_alive() and not self._conn.poll():
                self._lost()
        except (EOFError, OSError):
            self._lost()
        return n

    def _lost(self) -> None:
        proc = self._proc
        self.stop(0.1)  # joins the process: its exit code is known only after that (a closed pipe comes first)
        self.died.emit(proc.exitcode if proc is not None else None)
