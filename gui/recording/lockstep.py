"""Lockstep recording: the run trains to each frame's step, the window draws that state, the frame is grabbed,
and only then does training go on, so a clip holds one picture of its own step per frame on any machine, under
any load and at any Speed (the trainer never outruns the drawing; it waits for it).

`LockstepPacer` is what `gui.commands.RunCommands` asks at its one Start door while a lockstep recording runs
(`commands.pacer`): `started(until)` turns a Start into its first leg (the step the run trains to and pauses at:
the next frame's, never past `until`), and a Pause, Step or Reset says `paused()` (the user took over; the next
Start drives again). After each drawn snapshot the recording control asks `reached(snap)` whether the snapshot is
a state to record (a paused one at the leg's end, or any paused one while not driving), records the frames due,
then calls `go_on(step)`, which starts the next leg with `continue_to(next frame's step)` (Start(until=...)).

A paused snapshot short of the leg is one that was asked for before the leg's Start (at most one: the worker has
one request in flight); a second in a row, or one of a finished run, means the run stopped short (its end, an
error, a refused Start): the pacer stops driving and the recording goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from core.recording.schedule import StepSchedule


class LockstepPacer:
    """Legs of training, each ending at the next frame's step of `schedule()`; `continue_to(step)` starts one."""

    def __init__(self, schedule: Callable[[], StepSchedule], continue_to: Callable[[int], None],
                 on_driving: Callable[[bool], None] = lambda on: None):
        """`on_driving(on)` hears every change of `driving` (the window's AppState.set_driven)."""
        self.schedule, self.continue_to, self.on_driving = schedule, continue_to, on_driving
        self._driving = False
        self.end: int | None = None  # the step the Start that began the driving asked to stop at (None: none)
        self.leg: int | None = None  # the step the current leg trains to
        self._short = 0  # paused snapshots in a row short of the leg

    @property
    def driving(self) -> bool:
        return self._driving

    @driving.setter
    def driving(self, on: bool) -> None:
        if on != self._driving:
            self._driving = on
            self.on_driving(on)

    def started(self, until: int | None) -> int:
        """A Start (with `until`, stop there): the step its first leg trains to. Before the clip's first frame the
        leg is 0, which pauses the run where it stands, so its first frame is drawn and recorded first."""
        self.driving, self.end, self._short = True, until, 0
        nxt = self.schedule().next_step
        self.leg = 0 if nxt is None else nxt
        if until is not None:
            self.leg = min(self.leg, until)
        return self.leg

    def paused(self) -> None:
        """A Pause, Step or Reset, or training stopped on an error: no more legs until the next Start."""
        self.driving = False

    def reached(self, snap) -> bool:
        """Whether drawn snapshot `snap` is a state to record: paused, and at or past the leg's end while
        driving."""
        if snap.running:
            self._short = 0  # the leg is under way
            return False
        if not self.driving or self.leg is None or snap.step >= self.leg:
            self._short = 0
            return True
        self._short += 1
        if self._short >= 2 or snap.finished:  # not one that predates the leg: the run stopped short
            self.driving = False
        return False

    def go_on(self, step: int) -> None:
        """The state at `step` was recorded (or no frame was due): start the next leg, unless done."""
        if not self.driving:
            return
        if self.end is not None and step >= self.end:
            self.driving = False
            return
        nxt = self.schedule().next_step
        self.leg = max(step + 1, nxt if nxt is not None else step + 1)
        if self.end is not None:
            self.leg = min(self.leg, self.end)
        self.continue_to(self.leg)
