"""core.workers: tasks on local worker processes, a worker killed mid-task (retried, or missing: never a wrong
result), and the one-line errors of --workers / --scheduler."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.cli.where import where_from_args
from core.workers.pool import INSTALL_HINT, SMALL_SWEEP, Where, available_cores, window_workers
from core.workers.tasks import Finished, Missing, Progress, Task, progress, run_tasks

ROOT = Path(__file__).resolve().parents[3]


def square(x: int) -> int:
    for k in range(3):
        progress(k, {"x": x})
    return x * x


def die_once(flag: str, x: int) -> int:
    """Kills its own worker the first time (the flag file is created then), answers the second time."""
    if not os.path.exists(flag):
        Path(flag).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def always_die(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x


def raise_bug(x: int) -> int:
    raise ValueError(f"a bug with {x}")


def _events(tasks, workers=2, **kw):
    return list(run_tasks(tasks, Where(workers), **kw))


def test_tasks_run_on_local_workers_and_every_progress_message_comes_before_its_result():
    evs = _events([Task(i, square, (i,), cost=i) for i in range(5)])
    assert {e.key: e.result for e in evs if isinstance(e, Finished)} == {i: i * i for i in range(5)}
    # square() reports done = 0, 1, 2 with info {"x": i}: all fifteen arrive (a task too quick for a queue's feeder
    # thread lost them under load when its result overtook them), each before the task's Finished
    seen = [(e.key, e.done, e.info["x"]) for e in evs if isinstance(e, Progress)]
    assert sorted(seen) == [(i, k, i) for i in range(5) for k in range(3)]
    finished_at = {e.key: n for n, e in enumerate(evs) if isinstance(e, Finished)}
    assert all(n < finished_at[e.key] for n, e in enumerate(evs) if isinstance(e, Progress))


@pytest.mark.slow
def test_a_killed_worker_is_retried_once_in_a_fresh_pool(tmp_path):
    flag = str(tmp_path / "died")
    evs = _events([Task("dies", die_once, (flag, 7)), *[Task(i, square, (i,)) for i in range(3)]])
    done = {e.key: e.result for e in evs if isinstance(e, Finished)}
    assert done == {"dies": 49, 0: 0, 1: 1, 2: 4} and not [e for e in evs if isinstance(e, Missing)]


@pytest.mark.slow
def test_a_task_that_kills_every_worker_is_missing_and_the_others_are_right():
    evs = _events([Task("dies", always_die, (1,)), *[Task(i, square, (i,)) for i in range(4)]])
    missing = [e for e in evs if isinstance(e, Missing)]
    assert [e.key for e in missing] == ["dies"] and "died" in missing[0].why
    assert {e.key: e.result for e in evs if isinstance(e, Finished)} == {i: i * i for i in range(4)}


def long_task(steps: int) -> int:
    for k in range(steps):
        progress(k)
        time.sleep(0.01)  # a task that runs on: the test waits on its progress, never on this
    return steps


def test_stopping_ends_the_workers_at_once():
    """Closing the run (what Ctrl+C or a stop does) terminates the workers, whatever they were running."""
    gen = run_tasks([Task(0, long_task, (100_000,))], Where(2))
    for ev in gen:
        if isinstance(ev, Progress):
            break
    workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
    assert workers
    gen.close()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_a_bug_in_a_task_is_raised_not_hidden():
    with pytest.raises(ValueError, match="a bug with 3"):
        _events([Task(3, raise_bug, (3,))])


def _args(workers=None, scheduler=None):
    import argparse

    return argparse.Namespace(workers=workers, scheduler=scheduler)


def test_where_flags():
    assert where_from_args(_args()) == (Where(available_cores()), None)
    assert where_from_args(_args(1)) == (Where(1), None)
    where, why = where_from_args(_args(0))
    assert where is None and why == "error: --workers: must be between 1 and 1024"


@pytest.mark.parametrize("argv, line", [
    (["--workers", "0"], "error: --workers: must be between 1 and 1024"),
    (["--workers", "-1"], "error: --workers: must be between 1 and 1024"),
    (["--scheduler", " "], "error: --scheduler: an empty address; e.g. tcp://10.0.0.5:8786"),
])
def test_train_with_one_seed_still_refuses_a_bad_workers_or_scheduler_value(argv, line, capsys):
    # the badvalues probe: with --seeds 1 these were ignored unchecked (nothing is spread over workers)
    from core.cli.train import main

    assert main(["--steps", "10", "--seeds", "1", *argv]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [line]


def test_train_with_one_seed_notes_that_workers_and_scheduler_are_ignored():
    from core.cli.train import build_parser, ignored_notes
    from core.config import Config

    args = build_parser().parse_args(["--seeds", "1", "--workers", "2", "--scheduler", "tcp://10.0.0.5:8786"])
    assert ignored_notes(args, Config()) == [
        "--workers and --scheduler spread the seeds of --seeds S; ignored (one seed trains here)"]
    assert ignored_notes(build_parser().parse_args(["--seeds", "3", "--workers", "2"]), Config()) == []


def test_the_windows_sweeps_leave_the_live_trainer_a_core():
    assert window_workers(False, 10**8) == available_cores()
    assert window_workers(True, 10**8) == max(1, available_cores() - 1)
    assert window_workers(False, SMALL_SWEEP - 1) == 1  # seconds of work: no workers to start


def test_scheduler_without_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    where, why = where_from_args(_args(scheduler="tcp://127.0.0.1:1"))
    assert where is None and INSTALL_HINT in why and "\n" not in why


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_an_unreachable_scheduler_exits_2_with_one_line_within_seconds():
    import subprocess

    # no hang: the command gives up by itself (CONNECT_TIMEOUT_S; how long it takes is not measured here), and the
    # subprocess timeout is only the safety net that turns a hang into a failure
    p = subprocess.run([sys.executable, "main.py", "sweep", "--x", "lag=1,2", "--seeds", "2", "--steps", "200",
                        "--scheduler", f"tcp://127.0.0.1:{free_port()}"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr[-2000:]
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0] and p.stdout == ""


@pytest.mark.slow
def test_workers_leave_when_their_parent_is_killed():
    """A parent killed with SIGKILL cannot end its pool: each worker sees its parent gone and leaves (no orphans)."""
    import subprocess

    code = ("import time; from core.workers.tasks import Task, run_tasks; from core.workers.pool import Where\n"
            "for ev in run_tasks([Task(i, time.sleep, (600,)) for i in range(2)], Where(2)): pass")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:  # wait for both workers to be up
            workers = [p for p in psutil.Process(parent.pid).children()
                       if "spawn_main" in " ".join(p.cmdline())]
            time.sleep(0.1)
        assert len(workers) == 2
        parent.kill()
        parent.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in workers:  # the ones this test started, should they have outlived it
            try:
                p.kill()
            except psutil.Error:
                pass
