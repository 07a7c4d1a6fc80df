"""The worker's watchdog on a clock given by hand (TrainingWorker._watch takes `now`): a snapshot request
unanswered for NOT_RESPONDING_S says "not responding" once, not a moment before; a file command gets
FILE_COMMAND_S. tests/system/test_signals.py checks the same against a real stopped child, without timing it."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from gui.children import worker as worker_mod  # noqa: E402
from gui.children.worker import TrainingWorker  # noqa: E402


class _Alive:
    alive = True


def _worker(qtbot):
    w = TrainingWorker({})
    w.link = _Alive()
    errors: list[str] = []
    w.error.connect(errors.append)
    return w, errors


@pytest.mark.parametrize("files, limit", [(0, worker_mod.NOT_RESPONDING_S), (1, worker_mod.FILE_COMMAND_S)])
def test_an_unanswered_request_is_reported_after_its_limit_once(qtbot, files, limit):
    w, errors = _worker(qtbot)
    w._file_commands = files
    w._requested, w._last_request = True, 100.0
    w._watch(100.0 + limit - 0.01)
    assert not w.unresponsive and errors == []  # not a moment early
    w._watch(100.0 + limit + 0.01)
    assert w.unresponsive
    assert errors == [f"The trainer is not responding (no answer for {limit:.0f} s). Reset restarts it."]
    w._watch(100.0 + 10 * limit)
    assert len(errors) == 1  # said once


def test_no_request_outstanding_is_never_unresponsive(qtbot):
    w, errors = _worker(qtbot)
    w._requested, w._last_request = False, 0.0
    w._watch(10**6)
    assert not w.unresponsive and errors == []
