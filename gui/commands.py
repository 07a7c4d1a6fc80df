"""The run commands: start, pause, step, reset, and the live settings (learning rate, speed, view window W).

Each sends one command to the worker and records its outcome in the AppState at once (the snapshots then
confirm it). Reset takes the config panel's config; a config that does not validate is one message and sends
nothing. `start` is the one door to Start: the Start button, Space, the Run menu, a panel's "load and start"
and the command line's --autostart all come here; before the trainer child is Ready it says the Start is queued.
While a lockstep recording runs, `pacer` (gui.recording.lockstep.LockstepPacer) turns each Start into legs that
end at the next frame's step (`continue_to`), and hears of each Pause, Step and Reset.

Quit and Close (the window's closeEvent asks `may_close`), Reset and Open (`may_open`, asked by the session UI)
drop the run: they all pass `may_drop`, which asks `unsaved` (gui.files.unsaved.UnsavedWork.confirm: Save /
Discard / Cancel when the run is modified and a person drives the window). A Reset kept by Cancel sends nothing,
and a Start asked in the same breath (a page's "load and start") is not sent either: the kept run stays paused.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer

from core.config import ConfigError
from gui.app_state import AppState


class RunCommands:
    def __init__(self, handle, state: AppState, edited_config, report_error, after_reset,
                 start_queued: Callable[[], None]):
        """`edited_config()` is the config panel's config (may raise ConfigError); `after_reset()` runs after a
        reset was sent (the window clears its message and saves its settings); `start_queued()` says that a
        Start waits until the trainer is ready (the status line)."""
        self.handle, self.state = handle, state
        self.edited_config, self.report_error, self.after_reset = edited_config, report_error, after_reset
        self.start_queued = start_queued
        self.pacer = None  # a lockstep recording's pacer while one records: Start trains to the next frame only
        self.unsaved: Callable[[str], bool] | None = None  # may the run be dropped? (None: always)
        self._kept = False  # a Reset was refused in this turn of the event loop: a Start with it is not sent

    # -- the doors that drop the run ---------------------------------------------------------------------
    def may_drop(self, doing: str) -> bool:
        """May `doing` ("quit", "reset", "open") end or replace the run? Yes when nothing is unsaved, or the user
        saved it or discarded it."""
        return self.unsaved is None or self.unsaved(doing)

    def may_close(self) -> bool:
        """Quit and Close: the window's closeEvent asks."""
        return self.may_drop("quit")

    def may_open(self) -> bool:
        """Open session… and Open recent ask before their dialog or file."""
        return self.may_drop("open")

    def _keep_run(self) -> None:
        self._kept = True
        QTimer.singleShot(0, lambda: setattr(self, "_kept", False))

    def toggle_run(self) -> None:
        if self.state.running:
            self.pause()
        else:
            self.start()

    def start(self, until: int | None = None) -> None:
        """Train on (with `until`, the child pauses exactly at that step). Before the trainer is Ready the command
        waits in the pipe until the child reads it, and the status line says so."""
        if self._kept:  # the Reset it came with was cancelled: the run the user kept stays as it was
            return
        if not self.handle.ready:
            self.start_queued()
        if self.pacer is not None:
            until = self.pacer.started(until)
        self.handle.start(until)
        self.state.command_sent(True)

    def continue_to(self, step: int) -> None:
        """A lockstep recording's next leg: train on and pause exactly at `step` (Start(until=step))."""
        self.handle.start(step)
        self.state.command_sent(True)

    def pause(self) -> None:
        if self.pacer is not None:
            self.pacer.paused()
        self.handle.pause()
        self.state.command_sent(False)

    def step(self, n: int = 1) -> None:
        """n timesteps online (minibatches in batch mode), then paused."""
        if self.pacer is not None:
            self.pacer.paused()
        self.handle.step(n)
        self.state.command_sent(False)

    def reset(self) -> None:
        try:
            cfg = self.edited_config()
        except ConfigError as e:
            self.report_error(f"Cannot reset: {e}")
            return
        if not self.may_drop("reset"):
            self._keep_run()
            return
        if self.pacer is not None:
            self.pacer.paused()
        self.handle.reset(cfg.to_dict())
        self.state.note_reset()
        self.state.set_current_path(None)  # a new run is not the saved session: Save asks for a path
        self.state.set_applied(cfg)
        self.state.command_sent(False)
        self.after_reset()

    # -- live settings -----------------------------------------------------------------------------------
    def live_changed(self, name: str, value) -> None:
        """A config field that applies live changed in the panel (today: the learning rate)."""
        if name == "lr":
            self.handle.set_lr(float(value))
            self.state.set_applied(self.state.applied.replace(lr=float(value)))

    def set_speed(self, steps_per_second: float) -> None:
        self.handle.set_speed(float(steps_per_second))

    def set_window(self, w: int) -> None:
        self.handle.set_window(int(w))
