"""Progress on stderr for the long commands: `Eta`, the time left from what each part cost when last measured,
corrected by the speed seen so far, and `LiveLine`, one line rewritten in place on a terminal (nothing when
stderr is piped or a file: the plain lines logged through `logging` say the same, once per part)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float | None) -> str:
    """'2m05s', '1h03m', '?' for an unknown time."""
    if seconds is None:
        return "?"
    s = int(max(0.0, seconds) + 0.5)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Eta:
    """Time left for parts with expected costs (seconds, e.g. the last measured run's): before a part is done,
    the expected seconds left; after, those scaled by how long the done parts really took against their
    expectation. `clock` is injectable so a test can drive it."""

    def __init__(self, expected: dict[str, float], clock: Callable[[], float] = time.monotonic):
        self.expected = dict(expected)
        self.clock = clock
        self.t0 = clock()
        self.done: set[str] = set()

    def finished(self, key: str) -> None:
        self.done.add(key)

    def finish_all(self, keys) -> None:
        """Every part in `keys` done (e.g. the claims' runs all trained by workers: only judging is left)."""
        self.done.update(keys)

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def remaining(self) -> float:
        left = sum(v for k, v in self.expected.items() if k not in self.done)
        done_expected = sum(self.expected[k] for k in self.done if k in self.expected)
        if done_expected > 0:
            return left * self.elapsed() / done_expected
        return max(0.0, left - self.elapsed())

    def text(self) -> str:
        return f"{duration(self.elapsed())} elapsed, ETA {duration(self.remaining())}"


class LiveLine:
    """One status line kept up to date in place ('\\r') on a terminal; silent when `stream` is not one."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = 0

    def show(self, text: str) -> None:
        if not self.live:
            return
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def clear(self) -> None:
        """Before a logged line, so it does not land behind the live one."""
        if self.live and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0
