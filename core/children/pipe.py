"""The child's end of its pipe to the window, typed: `ChildEnd[R]` accepts only the replies `R` (core.messages),
so mypy rejects an untyped message (a dict, a string) sent across the process boundary. A
multiprocessing.connection.Connection is one."""

from __future__ import annotations

from typing import Protocol, TypeAlias, TypeVar

from core.messages import (
    Error,
    ExportResult,
    Notice,
    OpenResult,
    Ready,
    SaveResult,
    SeedDone,
    SeedsDone,
    SweepDone,
    SweepEvent,
    Unchanged,
)
from core.snapshot import Snapshot

__all__ = ["ChildEnd", "SeedsReply", "SweepReply", "TrainingReply"]

R = TypeVar("R", contravariant=True)

# What each child sends: core.messages.REPLIES, SEEDS_REPLIES and SWEEP_REPLIES as types.
TrainingReply: TypeAlias = Ready | Notice | Error | Snapshot | Unchanged | SaveResult | OpenResult | ExportResult
SeedsReply: TypeAlias = SeedDone | SeedsDone | Error
SweepReply: TypeAlias = SweepEvent | SweepDone | Error


class ChildEnd(Protocol[R]):
    """What a child uses of its end of the pipe."""

    def send(self, obj: R, /) -> None: ...

    def recv(self) -> object: ...  # what came in is checked (isinstance, Command.problem) before it is used

    def poll(self, timeout: float | None = 0.0, /) -> bool: ...

    def close(self) -> None: ...
