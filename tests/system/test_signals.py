"""Issue 15, defect 9: Ctrl-C in the terminal closes the window cleanly (exit 130 since issue 21, no traceback),
and a trainer that stops answering (SIGSTOP) is reported within seconds with Reset offered; SIGCONT lets it continue."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import preset

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="POSIX signals")]


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_sigint_closes_the_window_cleanly(tmp_path):
    """SIGINT is sent once the window said (GML_TIMING lines on stdout) that it painted and that its trainer is
    ready, so --autostart's Start has gone out: the interrupt lands on a window that trains (no sleeps)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS=str(tmp_path / "settings.ini"), GML_TIMING="1")
    p = subprocess.Popen([sys.executable, "main.py", "--autostart", "--no-restore"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = set()
        for line in p.stdout:  # bounded by the test's timeout (pytest-timeout)
            if line.startswith("GML_TIMING "):
                said.add(line.split()[1])
            if {"first-frame", "ready"} <= said:
                break
        assert {"first-frame", "ready"} <= said, "the window never painted or never started its trainer"
        kids = _children(p.pid)
        assert kids, "no trainer child"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err  # closed as its close button does; exit 130 as every command (issue 21)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert not [k for k in kids if _alive(k)], "a child outlived the window"


def _alive(pid: int) -> bool:
    """The process still runs once it had the chance to exit: psutil waits on its exit (an event, not a fixed
    sleep), for at most 10 s; a zombie counts as gone."""
    psutil = pytest.importorskip("psutil")
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return False
    _, alive = psutil.wait_procs([proc], timeout=10)
    return any(pr.is_running() and pr.status() != psutil.STATUS_ZOMBIE for pr in alive)


def test_a_stopped_trainer_is_reported_and_continues_when_resumed(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from tests.gui_helpers import make_window, wait_step

    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed").replace(steps=10**6))
    pid = win.handle.worker.child_pid
    stopped = False
    try:
        win.commands.start()
        wait_step(qtbot, win, lambda s: s.running and s.step > 0)
        os.kill(pid, signal.SIGSTOP)
        stopped = True
        # the watchdog's 5 s rule itself is checked on a fake clock (tests/gui/children/test_watchdog.py)
        qtbot.waitUntil(lambda: any("not responding" in e for e in win.message.errors), timeout=60000)
        assert win.message.errors[-1] == "The trainer is not responding (no answer for 5 s). Reset restarts it."
        assert not win.state.running and win.message.isVisible()
        step = win.snap.step
        os.kill(pid, signal.SIGCONT)
        stopped = False
        qtbot.waitUntil(lambda: "The trainer is responding again." in win.message.notices, timeout=10000)
        wait_step(qtbot, win, lambda s: s.running and s.step > step)
        qtbot.waitUntil(lambda: win.state.running, timeout=5000)
        # stopped again, Reset replaces the child that does not answer
        os.kill(pid, signal.SIGSTOP)
        stopped = True
        qtbot.waitUntil(lambda: win.handle.worker.unresponsive, timeout=60000)
        run = win.snap.run_id
        win.commands.reset()
        qtbot.waitUntil(lambda: win.handle.worker.child_pid not in (None, pid), timeout=10000)
        win.commands.step(3)
        wait_step(qtbot, win, lambda s: s.run_id != run and s.step == 3, timeout=30000)
    finally:
        if stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        win.close()


# -- issue 21, item 5: Ctrl-C while a command starts ----------------------------------------------------------
START_COMMANDS = {
    "train": ["train", "--preset", "question-fixed", "--steps", "200000", "--quiet"],
    "sweep": ["sweep", "--x", "lag=1,2", "--seeds", "2", "--steps", "100000", "--quiet"],
    "claims": ["claims", "--only", "cannot-cope", "--seeds", "1"],
}


@pytest.mark.parametrize("module", ["core.config", "torch.nn"])  # early, and in the middle of importing torch
@pytest.mark.parametrize("command", sorted(START_COMMANDS))
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(command, module):
    """`-X importtime` prints a line as each import finishes: SIGINT is sent on the line that names `module`, so
    the interrupt lands at a known point of start-up (no sleeps); the whole run is bounded by a timeout."""
    p = subprocess.Popen([sys.executable, "-X", "importtime", "main.py", *START_COMMANDS[command]], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in p.stderr:
            seen.append(line)
            if line.rstrip().split("|")[-1].strip() == module:
                p.send_signal(signal.SIGINT)
                break
        else:
            pytest.fail(f"{module} was never imported: {''.join(seen[-5:])}")
        rest = p.communicate(timeout=60)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, rest[-2000:]
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
    assert rest.strip().splitlines()[-1] == "interrupted"
