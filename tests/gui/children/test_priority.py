"""gui.children.priority: the trainer comes first. The decision (`behind`) on the trainer's waiting share, with
hysteresis; `TrainerFirst` yields once (the drawing thread's priority) when its measured input says the trainer is
behind and shrinks the frame budget only while it is; a child started from a thread that yielded does not inherit
its priority. Fake readings and a fake clock: nothing is timed."""

import os
import sys
import threading

import pytest

from gui.children import priority
from gui.children.priority import BUDGET, BUDGET_BEHIND, SAMPLE_S, WAIT_BEHIND, WAIT_CLEAR, TrainerFirst, behind


@pytest.mark.parametrize(("wait_s", "wall_s", "was", "expected"), [
    (0.0, 1.0, False, False),                     # runs freely
    (WAIT_BEHIND * 1.5, 1.0, False, True),        # waits for a CPU: behind
    (0.5, 2.0, False, True),                      # a quarter of the time waiting
    ((WAIT_BEHIND + WAIT_CLEAR) / 2, 1.0, False, False),  # between the bounds: as it was
    ((WAIT_BEHIND + WAIT_CLEAR) / 2, 1.0, True, True),
    (WAIT_CLEAR / 2, 1.0, True, False),           # caught up
    (0.3, 0.0, True, False),                      # no time passed: nothing measured
])
def test_behind_decides_on_the_waiting_share_with_hysteresis(wait_s, wall_s, was, expected):
    assert behind(wait_s, wall_s, was) is expected


class Fake:
    """A trainer whose waiting the test sets, a clock the test moves, and a record of yields."""

    def __init__(self):
        self.now, self.waited, self.lowered = 0.0, 0.0, 0
        self.first = TrainerFirst(read=lambda pid: (0.0, self.waited), lower=self._lower, clock=lambda: self.now)

    def _lower(self):
        self.lowered += 1
        return True

    def second(self, share: float, pid: int = 42) -> bool:
        self.now += SAMPLE_S
        self.waited += share * SAMPLE_S
        return self.first.update(pid)


def test_a_trainer_that_waits_makes_the_window_yield_once_and_draw_less_while_behind():
    f = Fake()
    assert f.first.update(42) is False  # the first reading is a baseline
    assert not f.second(0.0) and f.lowered == 0 and f.first.budget() == BUDGET
    assert f.second(0.4)  # another busy process: the trainer waits 40 % of the time
    assert f.lowered == 1 and f.first.yielded and f.first.budget() == BUDGET_BEHIND
    assert f.second(0.3) and f.lowered == 1  # yielded once (it cannot be undone)
    assert not f.second(0.0) and f.first.budget() == BUDGET  # caught up: the frame rate comes back
    assert f.second(0.5) and f.lowered == 1


def test_samples_closer_than_sample_s_and_a_new_trainer_start_over():
    f = Fake()
    f.first.update(42)
    f.now += SAMPLE_S / 4
    f.waited += SAMPLE_S / 4  # waiting all the time, but too short a sample to judge
    assert f.first.update(42) is False and f.lowered == 0
    f.now += SAMPLE_S
    f.waited += SAMPLE_S
    assert f.first.update(43) is False  # a new child (Reset after a crash): its first reading is a baseline
    assert f.second(0.5, pid=43) and f.lowered == 1


def test_no_reading_no_yield():
    first = TrainerFirst(read=lambda pid: None, lower=lambda: pytest.fail("yielded"), clock=lambda: 0.0)
    assert first.update(42) is False and first.update(None) is False and first.budget() == BUDGET


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_a_child_started_from_a_thread_that_yielded_keeps_the_window_s_old_priority():
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    out = {}

    def drawing_thread():  # a thread of its own: a lowered priority cannot be raised again
        out["before"] = nice()
        out["lowered"] = priority.lower_this_thread(out["before"] + 5)
        out["after"] = nice()
        out["spawner"] = priority.at_full_priority(nice)

    t = threading.Thread(target=drawing_thread)
    t.start()
    t.join()
    assert out["lowered"] and out["after"] == out["before"] + 5
    assert out["spawner"] <= out["before"]  # where a child would be started
    assert priority.at_full_priority(nice) <= nice()  # never below the caller's (here when it did not yield)
