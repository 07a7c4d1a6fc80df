"""gui.frames and the worker's requests: the window pays for what changes. Paused or never started, it asks for no
snapshot and draws nothing over many of the worker's turns; at a slow speed it draws at most about one frame per
new step, not at the frame rate. Counted, not timed: time is driven by the worker's own turns and the run's steps."""

import pytest

pytest.importorskip("pytestqt")

from tests.gui_helpers import wait_step  # noqa: E402

TURNS = 10  # the worker's looks at the pipe (one every WATCH_MS at rest) a resting window is watched for


def settled(w) -> bool:
    """Nothing owed, asked for, being drawn or live: the worker has nothing to ask."""
    return not (w._owed or w._requested or w._awaiting_draw or w._live)


def asks_and_draws_over_turns(qtbot, win, turns: int = TURNS) -> tuple[int, int]:
    """(snapshots asked for, frames drawn) while the worker turns `turns` times."""
    w = win.handle.worker
    r0, f0, p0 = w.requests, win.presenter.frames, w.pumps
    qtbot.waitUntil(lambda: w.pumps >= p0 + turns, timeout=20000)
    return w.requests - r0, win.presenter.frames - f0


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_a_paused_window_asks_for_nothing_and_draws_nothing(qtbot, win):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.running and s.step > 50)
    win.commands.pause()
    qtbot.waitUntil(lambda: not win.state.running and not win.snap.running and settled(win.handle.worker),
                    timeout=20000)
    assert asks_and_draws_over_turns(qtbot, win) == (0, 0)
    step = win.snap.step
    win.commands.step()  # a command: its frames, then rest again
    wait_step(qtbot, win, lambda s: s.step == step + 1)
    qtbot.waitUntil(lambda: settled(win.handle.worker), timeout=20000)
    assert asks_and_draws_over_turns(qtbot, win) == (0, 0)


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_a_window_never_started_asks_for_nothing_and_draws_nothing(qtbot, win):
    qtbot.waitUntil(lambda: win.handle.ready and settled(win.handle.worker), timeout=20000)
    assert asks_and_draws_over_turns(qtbot, win) == (0, 0)
    assert win.snap.step == 0


def test_at_a_slow_speed_the_window_draws_about_once_per_new_step(qtbot, win):
    w = win.handle.worker
    win.commands.set_speed(25.0)
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.running and s.step >= 3)
    f0, r0, s0 = win.presenter.frames, w.requests, win.snap.step
    wait_step(qtbot, win, lambda s: s.step >= s0 + 25)
    frames, asked, steps = win.presenter.frames - f0, w.requests - r0, win.snap.step - s0
    assert 1 <= frames <= steps + 2, (frames, steps)
    assert asked <= frames + w.unchanged + 2, (asked, frames)  # every request was answered by a frame or Unchanged
