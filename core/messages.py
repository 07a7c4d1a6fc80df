"""Every message across the process boundary, as small frozen dataclasses.

GUI -> training child (`COMMANDS`, the only types core/children/trainer.py accepts; anything else gets one `Error`):
    Start, Pause, Step(n), Reset(config), SetLr(lr), SetSpeed(steps_per_second), SnapshotRequest(window),
    SnapshotOnChange(window, run_id, step, running), SaveSession(path, extra), OpenSession(path), ExportCsv(path),
    Quit
Training child -> GUI (`REPLIES`: the GUI's dispatch tables keep one handler per type, and tests check it):
    Ready(device), Notice(text), Error(text), core.snapshot.Snapshot, Unchanged(step, running) (the answer to a
    SnapshotOnChange when nothing changed for a while), and one result per file command:
    SaveResult, OpenResult, ExportResult (each with ok, path, error)
Seeds child (core.children.seeds.seeds_child) -> GUI (`SEEDS_REPLIES`):
    SeedDone(result), SeedsDone(summary), Error(text)
Sweep child (core.children.sweep.sweep_child) <-> GUI: StopSweep (or Quit) in; `SWEEP_REPLIES` out:
    SweepEvent(event), SweepDone(report), Error(text)

Messages are pickled by multiprocessing, which does not run `__init__`: the child therefore asks each command
`problem()` before acting on it, and refuses it with one `Error` naming the problem.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from core.snapshot import Snapshot

MAX_STEP_COUNT = 1_000_000
MAX_WINDOW = 1_000_000


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# -- payloads: what the seeds child reports (core.runs.seeds makes them) ------------------------------------
@dataclass(frozen=True)
class SeedResult:
    """One seed's outcome. metric: which figure decided `learned` (heldout_accuracy, accuracy, val_accuracy);
    value: that figure; final: the runner report's 'final' dict; elapsed_s: wall time of this seed;
    params: the model's parameter count."""

    seed: int
    learned: bool
    metric: str
    value: float
    final: dict
    elapsed_s: float
    steps_per_second: float | None
    params: int
    diverged: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for a log: 'seed 3: learned - heldout_accuracy 1.0000 - 2.1s'."""
        if self.diverged:
            d = self.final.get("diverged") or {}
            return f"seed {self.seed}: {d.get('message', 'diverged')} - {self.elapsed_s:.1f}s"
        verdict = "learned" if self.learned else "did not learn"
        return f"seed {self.seed}: {verdict} - {self.metric} {self.value:.4f} - {self.elapsed_s:.1f}s"


@dataclass(frozen=True)
class MultiSeedSummary:
    results: tuple[SeedResult, ...]
    threshold: float

    @property
    def n_seeds(self) -> int:
        return len(self.results)

    @property
    def n_learned(self) -> int:
        return sum(r.learned for r in self.results)

    @property
    def n_diverged(self) -> int:
        return sum(r.diverged for r in self.results)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.results]

    def line(self) -> str:
        d = self.n_diverged
        return f"learned {self.n_learned}/{self.n_seeds}" + (f", diverged {d}" if d else "")

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "learned": self.n_learned, "n_seeds": self.n_seeds,
                "diverged": self.n_diverged,
                "results": [r.to_dict() for r in self.results]}



# -- commands: GUI -> training child -----------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    def problem(self) -> str | None:
        """Why the child would refuse this command (a wrongly typed or out-of-range field), or None."""
        return None


@dataclass(frozen=True)
class Start(Command):
    """Train continuously until Pause, the run's end or an error; with `until` (a step count, as Snapshot.step)
    the child also pauses exactly when the run reaches that step (scripts: --quit-after-steps)."""

    until: int | None = None

    def problem(self) -> str | None:
        if self.until is not None and (not _is_int(self.until) or not 0 <= self.until <= 2**53):
            return f"Start's until must be a whole step count from 0 to 2**53, got {self.until!r}."
        return None


@dataclass(frozen=True)
class Pause(Command):
    pass


@dataclass(frozen=True)
class Step(Command):
    """Pause, then train n units (timesteps online, minibatches in batch mode)."""

    n: int = 1

    def problem(self) -> str | None:
        if not _is_int(self.n) or not 1 <= self.n <= MAX_STEP_COUNT:
            return f"Step needs a whole number of steps from 1 to {MAX_STEP_COUNT:,}, got {self.n!r}."
        return None


@dataclass(frozen=True)
class Reset(Command):
    """A new run from this config (Config.to_dict()); a bad config is reported and the run is kept."""

    config: dict

    def problem(self) -> str | None:
        if not isinstance(self.config, dict):
            return f"Reset needs a config dict, got {type(self.config).__name__}."
        return None


@dataclass(frozen=True)
class SetLr(Command):
    lr: float

    def problem(self) -> str | None:
        return None if _is_number(self.lr) else f"SetLr needs a finite number, got {self.lr!r}."


@dataclass(frozen=True)
class SetSpeed(Command):
    """Steps per second; 0 = as fast as it goes."""

    steps_per_second: float

    def problem(self) -> str | None:
        if not _is_number(self.steps_per_second) or self.steps_per_second < 0:
            return f"SetSpeed needs a finite number >= 0, got {self.steps_per_second!r}."
        return None


@dataclass(frozen=True)
class SnapshotRequest(Command):
    """Send one Snapshot with the last `window` steps, after the commands already received."""

    window: int = 200

    def problem(self) -> str | None:
        if not _is_int(self.window) or not 0 <= self.window <= MAX_WINDOW:
            return f"SnapshotRequest needs a window from 0 to {MAX_WINDOW:,}, got {self.window!r}."
        return None


@dataclass(frozen=True)
class SnapshotOnChange(Command):
    """Send one Snapshot with the last `window` steps once the run is no longer at (run_id, step, running), the
    window's last snapshot; while it stays there the child holds the request, and after a while (HOLD_S in
    core.children.trainer) answers `Unchanged` instead: a slow or stalled run costs the window no frame, and the
    watchdog still hears the child."""

    window: int
    run_id: int
    step: int
    running: bool

    def problem(self) -> str | None:
        if not _is_int(self.window) or not 0 <= self.window <= MAX_WINDOW:
            return f"SnapshotOnChange needs a window from 0 to {MAX_WINDOW:,}, got {self.window!r}."
        if not (_is_int(self.run_id) and _is_int(self.step) and isinstance(self.running, bool)):
            return "SnapshotOnChange needs an integer run id and step and a bool running."
        return None


@dataclass(frozen=True)
class SaveSession(Command):
    """Save the run to `path` (atomically); `extra` is the caller's JSON object (GUI settings)."""

    path: str
    extra: dict = field(default_factory=dict)

    def problem(self) -> str | None:
        if not isinstance(self.path, str) or not self.path:
            return "SaveSession needs a file path."
        return None if isinstance(self.extra, dict) else "SaveSession's extra must be a dict."


@dataclass(frozen=True)
class OpenSession(Command):
    """Replace the run with the saved one; paused at its position."""

    path: str

    def problem(self) -> str | None:
        return None if isinstance(self.path, str) and self.path else "OpenSession needs a file path."


@dataclass(frozen=True)
class ExportCsv(Command):
    """Write the whole-run curves as CSV (batch also `<stem>.epochs.csv`)."""

    path: str

    def problem(self) -> str | None:
        return None if isinstance(self.path, str) and self.path else "ExportCsv needs a file path."


@dataclass(frozen=True)
class Quit(Command):
    pass


COMMANDS: tuple[type[Command], ...] = (Start, Pause, Step, Reset, SetLr, SetSpeed, SnapshotRequest, SnapshotOnChange,
                                       SaveSession, OpenSession, ExportCsv, Quit)


# -- replies: child -> GUI ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    """The child built its first run and listens."""

    device: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (a run's end, a fallback to the CPU...)."""

    text: str


@dataclass(frozen=True)
class Error:
    """Something failed; training is paused. One sentence for the user (a traceback only for a bug)."""

    text: str


@dataclass(frozen=True)
class Unchanged:
    """The answer to a SnapshotOnChange whose run stayed where the window's last snapshot was: nothing to draw."""

    step: int
    running: bool


@dataclass(frozen=True)
class FileResult:
    """The answer to a file command: ok, the path asked for, and on failure one message naming it."""

    ok: bool
    path: str
    error: str = ""


@dataclass(frozen=True)
class SaveResult(FileResult):
    step: int = 0    # the step saved
    run_id: int = 0  # the run saved (the window's evidence of what its file holds)


@dataclass(frozen=True)
class OpenResult(FileResult):
    config: dict | None = None   # the opened run's Config.to_dict()
    extra: dict | None = None    # the caller's object saved with it
    warnings: tuple[str, ...] = ()
    step: int = 0
    run_id: int = 0              # the opened run's id (its first snapshot carries it)


@dataclass(frozen=True)
class ExportResult(FileResult):
    paths: tuple[str, ...] = ()  # every file written (batch: the curves, then the epochs)


REPLIES: tuple[type, ...] = (Ready, Notice, Error, Snapshot, Unchanged, SaveResult, OpenResult, ExportResult)


# -- the seeds child -> GUI --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedDone:
    """One seed finished (sent as each one finishes)."""

    result: SeedResult


@dataclass(frozen=True)
class SeedsDone:
    """Every seed finished; the child exits after this."""

    summary: MultiSeedSummary


SEEDS_REPLIES: tuple[type, ...] = (SeedDone, SeedsDone, Error)


# -- the sweep child <-> GUI -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StopSweep(Command):
    """End the sweep after the current chunk; the child then sends SweepDone with the finished cells (partial)."""


@dataclass(frozen=True)
class SweepEvent:
    """One event of core.sweep.grid.run_sweep: a plain dict, {"type": "progress", ...} or {"type": "cell", ...}."""

    event: dict


@dataclass(frozen=True)
class SweepDone:
    """The sweep's report (core.sweep.grid.SweepCollector.report; `partial` when stopped); the child exits after it."""

    report: dict


SWEEP_REPLIES: tuple[type, ...] = (SweepEvent, SweepDone, Error)
