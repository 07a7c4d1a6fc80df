"""The window's state, with one owner: the applied config, whether training runs, the session file, whether the
run is modified (unsaved work), the pins.

Panels read it and listen to its signals; only the window's commands, the frame presenter and the session UI
write it. "Running" follows the snapshots (the child's own word), never the text of a notice: a command sets
it at once (the button answers the click), and the snapshots then carry the child's state. Because one
snapshot is in flight at a time, the first snapshot after a command may have been asked for before the child
saw the command; that one is not taken as the run state.

"Modified" rests on the run's evidence, never on which buttons were pressed: the run id and step of the snapshots
drawn, against those of the last save or open (the child's SaveResult and OpenResult carry them), and the applied
config against the one saved. A run never saved is modified once it has trained a step; a saved or opened one
once its step moved past the saved step, it is another run, or its config changed (the live learning rate).
Snapshots of a run that Reset or Open replaced are not evidence (one may still be in flight).
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
    modified_changed = Signal(bool)         # the run has work that its session file (if any) does not hold

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
        self._at: tuple[int, int] | None = None  # (run id, step) of the newest snapshot drawn of the current run
        self._saved: tuple[int, int, Config] | None = None  # (run id, step, config) the session file holds
        self._replaced: set[int] = set()  # runs that Reset or Open replaced: their late snapshots are no evidence
        self._modified = False

    # -- the applied config ------------------------------------------------------------------------------
    @property
    def applied(self) -> Config:
        return self._applied

    def set_applied(self, cfg: Config) -> None:
        self._applied = cfg
        self.applied_changed.emit(cfg)
        self._update_modified()

    def note_reset(self) -> None:
        """A Reset was sent: a new run (step 0, never saved) replaces the current one."""
        self.reset_count += 1
        self._replace_run(None)
        self._saved = None
        self._update_modified()

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

    # -- unsaved work ------------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        """The run has work that would be lost: trained since it was saved or opened (or, never saved, trained at
        all), another run than the file's, or another config."""
        return self._modified

    def run_at(self, run_id: int, step: int) -> None:
        """A snapshot of run `run_id` at `step` was drawn: the evidence of what the run now is."""
        if run_id in self._replaced:
            return
        self._at = (int(run_id), int(step))
        self._update_modified()

    def session_saved(self, path: str, run_id: int, step: int) -> None:
        """The child saved run `run_id` at `step` to `path` (a SaveResult): the file holds the run up to there."""
        self._saved = (int(run_id), int(step), self._applied)
        self.set_current_path(path)
        self._update_modified()

    def session_opened(self, path: str, run_id: int, step: int, cfg: Config) -> None:
        """The child replaced the run with the one saved in `path` (an OpenResult): run `run_id` at `step`, `cfg`."""
        self._replace_run(int(run_id))
        self._saved = (int(run_id), int(step), cfg)
        self._at = (int(run_id), int(step))
        self.set_current_path(path)
        self._update_modified()

    def _replace_run(self, run_id: int | None) -> None:
        if self._at is not None and self._at[0] != run_id:
            self._replaced.add(self._at[0])
        self._at = None

    def _update_modified(self) -> None:
        if self._at is None:
            on = False
        elif self._saved is None:
            on = self._at[1] > 0
        else:
            run_id, step, cfg = self._saved
            on = self._at[0] != run_id or self._at[1] > step or self._applied != cfg
        if on != self._modified:
            self._modified = on
            self.modified_changed.emit(on)

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
