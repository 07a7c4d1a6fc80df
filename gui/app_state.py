"""The window's state, with one owner: the applied config, whether training runs, the session file, the pins.

Panels read it and listen to its signals; only the window's commands, the frame presenter and the session UI
write it. "Running" follows the snapshots (the child's own word), never the text of a notice: a command sets
it at once (the button answers the click), and the snapshots then carry the child's state. Because one
snapshot is in flight at a time, the first snapshot after a command may have been asked for before the child
saw the command; that one is not taken as the run state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.config import Config

MAX_PINS = 6


@dataclass(frozen=True, eq=False)
class RunCurves:
    """A run's whole-run smoothed curves as shown (decimated), with what the run was."""

    config: Config
    step: int
    run_id: int
    x: np.ndarray      # loss x
    loss: np.ndarray   # smoothed loss
    xa: np.ndarray     # accuracy x
    acc: np.ndarray    # smoothed accuracy


@dataclass(frozen=True, eq=False)
class Pin:
    """A pinned run: its curves and the colour it is drawn in (identity is the pin: two pins never equal)."""

    curves: RunCurves
    color: str


class AppState(QObject):
    applied_changed = Signal(object)        # Config: the config the trainer runs (after Reset, open, live lr)
    running_changed = Signal(bool)
    current_path_changed = Signal(object)   # str | None: the session file the run is saved in
    pins_changed = Signal()

    def __init__(self, applied: Config, parent=None):
        super().__init__(parent)
        self._applied = applied
        self._running = False
        self._current_path: str | None = None
        self._pins: list[Pin] = []
        self._unconfirmed = 0  # snapshots still to skip before the run state is taken from them again
        self._driven = False  # a lockstep recording drives the run (gui.recording.lockstep)
        self._told = False  # the run state the last command or snapshot said, the drive aside
        self.reset_count = 0  # Resets sent so far (answers to earlier requests can tell they are stale)

    # -- the applied config ------------------------------------------------------------------------------
    @property
    def applied(self) -> Config:
        return self._applied

    def set_applied(self, cfg: Config) -> None:
        self._applied = cfg
        self.applied_changed.emit(cfg)

    def note_reset(self) -> None:
        self.reset_count += 1

    # -- running -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def driven(self) -> bool:
        """A lockstep recording drives the run: the trainer pauses at each frame's step while the window draws it,
        but to the user the run is running (Start/Pause shows Pause; the status line says "recording, lockstep")."""
        return self._driven

    def set_driven(self, on: bool) -> None:
        self._driven = bool(on)
        self._set_running(self._told or self._driven)

    def command_sent(self, running: bool) -> None:
        """A start, pause, step, reset or open was sent: show its outcome now, confirm it from snapshots."""
        self._unconfirmed = 1
        self._told = bool(running)
        self._set_running(running or self._driven)

    def snapshot_drawn(self, running: bool) -> None:
        """A snapshot arrived: its run state is the child's, except for one that may predate a command."""
        if self._unconfirmed:
            self._unconfirmed -= 1
            return
        self._told = bool(running)
        self._set_running(running or self._driven)

    def stopped(self) -> None:
        """The child stopped training on its own (an error, a lost process): no snapshot may say so."""
        self._told = False
        self._set_running(False)

    def _set_running(self, on: bool) -> None:
        on = bool(on)
        if on != self._running:
            self._running = on
            self.running_changed.emit(on)

    # -- the session file --------------------------------------------------------------------------------
    @property
    def current_path(self) -> str | None:
        return self._current_path

    def set_current_path(self, path: str | None) -> None:
        if path != self._current_path:
            self._current_path = path
            self.current_path_changed.emit(path)

    # -- pins --------------------------------------------------------------------------------------------
    @property
    def pins(self) -> tuple[Pin, ...]:
        return tuple(self._pins)

    def add_pin(self, pin: Pin) -> None:
        """Pin a run; beyond MAX_PINS the oldest pin goes."""
        self._pins.append(pin)
        del self._pins[:-MAX_PINS]
        self.pins_changed.emit()

    def clear_pins(self) -> None:
        self._pins.clear()
        self.pins_changed.emit()
