"""When to record a frame: frames spaced evenly in training steps, so a clip keeps its pace on any machine.

A recording's time axis is training steps, not wall time: one recorded frame every `steps_per_frame` steps,
played at `fps`. A 20,000-step run recorded for a 10-s clip at 15 fps takes a frame every 133 steps
(`plan_steps_per_frame(20_000, 10, 15) == 133`), however fast or slow the machine trains.

`StepSchedule.frames_due(step)` answers, each time the window has drawn the state at `step`, how many frames
to record of it: 0 (not yet), 1, or more when the drawn states arrive further apart than the spacing (the
drawn picture then stands for every frame time it passed, so the clip's time stays proportional to steps).
The first state offered (the run's start, or wherever recording began) is always recorded. core/ never
imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STEPS_PER_FRAME = 100
DEFAULT_CLIP_SECONDS = 10.0
MAX_FRAMES_PER_STATE = 600  # one drawn state never stands for more than this many frames (a 40-s gap at 15 fps)


def plan_steps_per_frame(total_steps: int, clip_seconds: float = DEFAULT_CLIP_SECONDS, fps: float = 15.0) -> int:
    """Steps per recorded frame so that `total_steps` steps play in about `clip_seconds` at `fps` (at least 1)."""
    if total_steps <= 0 or clip_seconds <= 0 or fps <= 0:
        raise ValueError("the run's steps, the clip's length and the frame rate must all be positive")
    return max(1, round(total_steps / (clip_seconds * fps)))


def clip_seconds(total_steps: int, steps_per_frame: int, fps: float) -> float:
    """How long a recording of `total_steps` steps plays: one frame at the start, then one every spacing."""
    return (1 + total_steps // max(1, steps_per_frame)) / fps


@dataclass
class StepSchedule:
    """Frame times at `start`, `start + steps_per_frame`, ... in training steps."""

    steps_per_frame: int = DEFAULT_STEPS_PER_FRAME
    start: int | None = None  # None: the first step offered

    def __post_init__(self):
        if int(self.steps_per_frame) < 1:
            raise ValueError(f"steps per recorded frame must be at least 1 (got {self.steps_per_frame})")
        self.steps_per_frame = int(self.steps_per_frame)
        self._next = None if self.start is None else int(self.start)
        self.recorded = 0

    @property
    def next_step(self) -> int | None:
        """The step of the next frame time (None before the first state was offered)."""
        return self._next

    def frames_due(self, step: int) -> int:
        """How many frames to record of the state drawn at `step` (and advance past them)."""
        step = int(step)
        if self._next is None:
            self._next = step
        if step < self._next:
            return 0
        n = (step - self._next) // self.steps_per_frame + 1
        self._next += n * self.steps_per_frame
        n = min(n, MAX_FRAMES_PER_STATE)
        self.recorded += n
        return n

    def frames_for(self, total_steps: int) -> int:
        """How many frames a run of `total_steps` steps from the start gives."""
        return 1 + max(0, int(total_steps)) // self.steps_per_frame


def describe(steps_per_frame: int, fps: float) -> str:
    """A line for the settings: how fast training steps pass in the clip."""
    per_second = steps_per_frame * fps
    return (f"1 frame every {steps_per_frame:,} steps; at {fps:g} fps the clip shows {per_second:,.0f} steps a second"
            f" ({1000 / per_second:.3g} s of clip per 1,000 steps)")
