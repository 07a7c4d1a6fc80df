"""The training child process: serves a LiveEngine over a pipe, so training never shares the GUI's interpreter
lock. Commands (core.messages.COMMANDS) are applied between steps, dispatched on their type through one
explicit table; anything else is refused with one Error. Replies: Ready, Notice, Error, Snapshot and the file
commands' results. The GUI asks for one snapshot at a time, only after it drew the last one: at once
(SnapshotRequest), or once the run moved on from the window's last snapshot (SnapshotOnChange: held while the run
stays there, and answered `Unchanged` after HOLD_S), so a slow run is drawn once per step, not at the frame rate.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from core.children.pipe import ChildEnd, TrainingReply
from core.config import Config, ConfigError
from core.live import files as live_session
from core.live.engine import LiveEngine
from core.messages import (
    COMMANDS,
    Command,
    Error,
    ExportCsv,
    Notice,
    OpenSession,
    Pause,
    Quit,
    Ready,
    Reset,
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

IDLE_POLL_S = 0.05  # how long the child waits for a command while paused
TRAIN_SLICE_S = 0.01  # training time between two looks at the pipe
HOLD_S = 1.0  # a SnapshotOnChange whose run stays put is answered Unchanged after this long


class TrainingChild:
    """The child's state between messages: the engine, and the snapshot asked for (if any)."""

    def __init__(self, engine: LiveEngine):
        self.engine = engine
        self.want_snapshot: int | None = None
        self.on_change: SnapshotOnChange | None = None  # held until the run moves on (or HOLD_S passed)
        self.held_since = 0.0
        self.quit = False
        e = engine
        self.handlers: dict[type, Callable[[Any], TrainingReply | None]] = {
            Start: lambda m: e.start(m.until),
            Pause: lambda m: e.pause(),
            Step: lambda m: e.step(m.n),
            Reset: lambda m: e.reset(Config.from_dict(m.config)),
            SetLr: lambda m: e.set_lr(m.lr),
            SetSpeed: lambda m: e.set_speed(m.steps_per_second),
            SnapshotRequest: self._snapshot_request,
            SnapshotOnChange: self._snapshot_on_change,
            SaveSession: lambda m: live_session.save(e, m.path, m.extra),
            OpenSession: lambda m: live_session.open_into(e, m.path),
            ExportCsv: lambda m: live_session.export_csv(e, m.path),
            Quit: self._quit,
        }
        assert set(self.handlers) == set(COMMANDS), "every accepted command has exactly one handler"

    def _snapshot_request(self, m: SnapshotRequest) -> None:
        self.want_snapshot = m.window

    def _snapshot_on_change(self, m: SnapshotOnChange) -> None:
        self.on_change, self.held_since = m, time.perf_counter()

    def due_reply(self, now: float) -> Snapshot | Unchanged | None:
        """The answer owed now to a snapshot asked for, if any: a Snapshot when asked at once or when the run
        moved on from the held request's; `Unchanged` once the held request waited HOLD_S; else None (hold)."""
        e, held = self.engine, self.on_change
        if self.want_snapshot is not None:
            window, self.want_snapshot, self.on_change = self.want_snapshot, None, None
            return e.snapshot(window)
        if held is None:
            return None
        if (held.run_id, held.step, held.running) != (e.run.run_id, e.steps, e.running):
            self.on_change = None
            return e.snapshot(held.window)
        if now - self.held_since >= HOLD_S:
            self.on_change = None
            return Unchanged(e.steps, e.running)
        return None

    def _quit(self, m: Quit) -> None:
        self.quit = True

    def handle(self, msg: object) -> TrainingReply | None:
        """Apply one message; returns the reply to send (None: nothing to say). Errors in the engine raise."""
        handler = self.handlers.get(type(msg))
        if handler is None or not isinstance(msg, Command):  # every key of handlers is a Command
            return Error(f"The training process does not accept {type(msg).__name__} messages; it was ignored.")
        problem = msg.problem()
        if problem:
            return Error(problem)
        if self.on_change is not None and not isinstance(msg, (SnapshotRequest, SnapshotOnChange)):
            self.want_snapshot, self.on_change = self.on_change.window, None  # a command: answer after it, now
        return handler(msg)


def _error_text(e: Exception) -> str:
    """A user's error as its message; anything else (a bug) with a short traceback."""
    if isinstance(e, (FloatingPointError, ConfigError)):
        return str(e)
    return f"{type(e).__name__}: {e}\n\n{traceback.format_exc(limit=4)}"


def _send_reply(conn: ChildEnd[TrainingReply], reply: TrainingReply) -> None:
    """Send a command's reply; one that cannot be pickled (a bug: file replies are checked before they change
    anything, see live_session.open_into) is replaced by one short Error, not a traceback."""
    try:
        conn.send(reply)
    except (BrokenPipeError, OSError, EOFError):
        raise
    except Exception as e:
        conn.send(Error(f"The training process could not send its {type(reply).__name__} to the window "
                        f"({type(e).__name__}); training is paused."))
        raise _Unsent() from None


class _Unsent(Exception):
    """A reply could not be sent; the loop pauses training (the Error was already sent)."""


def serve(conn: ChildEnd[TrainingReply], cfg_dict: dict, threads: int = 1) -> None:
    """Child-process loop: apply commands between steps, train while running, answer snapshot requests."""
    torch.set_num_threads(threads)
    try:
        engine = LiveEngine(Config.from_dict(cfg_dict))
    except Exception as e:  # a bad config reaches the GUI as a message, and the engine starts from defaults
        conn.send(Error(f"Could not build the model: {e}. Starting from the default config."))
        engine = LiveEngine(Config())
    child = TrainingChild(engine)
    conn.send(Ready(str(engine.trainer.device)))
    while True:
        try:
            timeout = 0.0 if engine.running else IDLE_POLL_S
            if engine.running and engine.speed > 0:
                timeout = min(IDLE_POLL_S, engine.seconds_to_next_step())
            while conn.poll(timeout):
                timeout = 0.0
                reply = child.handle(conn.recv())
                if child.quit:
                    return
                if reply is not None:
                    _send_reply(conn, reply)
            if engine.running:
                engine.advance(TRAIN_SLICE_S)
        except (EOFError, BrokenPipeError, KeyboardInterrupt):
            return
        except _Unsent:
            engine.pause()
        except Exception as e:  # anything in training pauses it and reaches the GUI as a message
            engine.pause()
            try:
                conn.send(Error(_error_text(e)))
            except (BrokenPipeError, OSError):
                return
        try:
            for note in engine.take_notices():
                conn.send(Notice(note))
            answer = child.due_reply(time.perf_counter())
            if answer is not None:
                conn.send(answer)
        except (BrokenPipeError, OSError):
            return
        except Exception as e:
            engine.pause()
            conn.send(Error(f"Could not build the view: {type(e).__name__}: {e}"))


def child_main(conn: ChildEnd[TrainingReply], cfg_dict: dict, threads: int = 1) -> None:
    """The child process's entry: serve, then leave at once (interpreter teardown with torch costs ~0.4 s).
    Ctrl-C in the terminal reaches the whole process group: the window decides, and stops this child itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(conn, cfg_dict, threads)
    finally:
        try:
            conn.close()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
