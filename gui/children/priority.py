"""The trainer comes first: when the training child waits for a CPU (another busy process, or the window itself
on a small machine), the window yields. Its drawing thread's priority drops (once: an unprivileged process cannot
raise it again) and its frame budget shrinks until the trainer runs freely again.

The measured input is the kernel's account of the child (Linux: /proc/<pid>/schedstat, the time it ran and the
time it waited on a run queue); `behind` is the decision on it, a pure function. Where no such account exists
nothing is read and nothing yields. A child process or thread inherits the niceness of the thread that starts it,
so children and the worker thread are started through `at_full_priority` (gui.children.link and .worker do it):
the trainer never inherits the window's yield, not even from a window opened after it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

WAIT_BEHIND = 0.10  # the trainer waited for a CPU over this share of the time: it is behind
WAIT_CLEAR = 0.03   # ... under this share it is not (between the two the last decision holds)
SAMPLE_S = 1.0      # the share is measured over at least this long
YIELD_NICE = 5      # the drawing thread's niceness once it yielded (CFS weight ~1/3 of the trainer's: it still answers)
BUDGET = (0.5, 0.25)         # (cores for drawing, longest frame delay in s) while the trainer keeps up
BUDGET_BEHIND = (0.15, 0.1)  # ... while it is behind: ~0.15 of a core, the next frame asked within 0.1 s

T = TypeVar("T")


def behind(wait_s: float, wall_s: float, was_behind: bool) -> bool:
    """Is the trainer behind? It waited `wait_s` for a CPU during `wall_s` seconds: over WAIT_BEHIND of the time
    yes, under WAIT_CLEAR no, in between as it was (so a share near one bound does not flip the frame rate)."""
    share = wait_s / wall_s if wall_s > 0 else 0.0
    if share > WAIT_BEHIND:
        return True
    if share < WAIT_CLEAR:
        return False
    return was_behind


def read_schedstat(pid: int) -> tuple[float, float] | None:
    """(seconds run, seconds waited for a CPU) of process `pid`'s main thread; None where the kernel says nothing."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            run_ns, wait_ns = f.read().split()[:2]
        return int(run_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return None


_base_nice: int | None = None  # the niceness the first thread that yielded had before
_spawner: ThreadPoolExecutor | None = None  # one thread at that niceness


def lower_this_thread(nice: int = YIELD_NICE) -> bool:
    """Lower the calling thread's priority to `nice` (Linux: niceness is per thread, so the worker thread and
    the children keep theirs); False where it cannot."""
    global _spawner, _base_nice
    if not sys.platform.startswith("linux"):
        return False
    try:
        now = _nice()
        if _spawner is None:  # made (and its thread started) before the yield, so it keeps the old priority
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="gml-spawn")
            _base_nice = _spawner.submit(_nice).result()
        if now < nice:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return False
    return True


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def at_full_priority(start: Callable[[], T]) -> T:
    """Run `start` (a child process's or a thread's start) in a thread that did not yield, so what it starts does not
    inherit the yield (here when this thread did not yield; else in a thread kept at the old priority)."""
    if _spawner is None or _base_nice is None or _nice() <= _base_nice:
        return start()
    return _spawner.submit(start).result()


class TrainerFirst:
    """Samples the trainer's waiting share (at most every SAMPLE_S) and yields when it is behind. `read(pid)` gives
    (run s, wait s) and `lower()` drops the drawing thread's priority; tests pass fakes of both."""

    def __init__(self, read: Callable[[int], tuple[float, float] | None] = read_schedstat,
                 lower: Callable[[], bool] = lower_this_thread, clock: Callable[[], float] = time.perf_counter):
        self._read, self._lower, self._clock = read, lower, clock
        self.behind = False
        self.yielded = False  # the drawing thread's priority was lowered
        self._last: tuple[int, float, float] | None = None  # (pid, when, seconds waited so far)

    def update(self, pid: int | None) -> bool:
        """Take a sample of the trainer `pid` (a new pid starts over); returns whether it is behind."""
        sample = self._read(pid) if pid is not None else None
        if sample is None:
            self._last = None
            return self.behind
        now, wait = self._clock(), sample[1]
        last = self._last
        if last is None or last[0] != pid:
            self._last = (pid, now, wait)
            return self.behind
        if now - last[1] < SAMPLE_S:
            return self.behind
        self._last = (pid, now, wait)
        self.behind = behind(wait - last[2], now - last[1], self.behind)
        if self.behind and not self.yielded:
            self.yielded = True
            self._lower()
        return self.behind

    def budget(self) -> tuple[float, float]:
        """(cores the window may use for drawing, the longest delay between frames in s)."""
        return BUDGET_BEHIND if self.behind else BUDGET
