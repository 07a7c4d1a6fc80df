"""The executors work can run on: `Where` (how many local workers, or a Dask scheduler's address) and `open_executor`,
which gives a concurrent.futures.Executor for it.

- workers > 1, no scheduler: a ProcessPoolExecutor of the spawn context (never fork: torch and threads do not survive
  it). Each worker runs one thread (`worker_init`: torch.set_num_threads(1), BLAS threads 1 through the environment
  it starts with) and ignores SIGINT, so Ctrl+C reaches only the parent, which ends its workers and keeps what
  finished. The parent may hand a progress queue to the initializer (a spawn context's SimpleQueue can only travel
  at process start); `report_progress` writes onto it at once (no feeder thread), so a task's progress is in the
  pipe before its result can reach the parent.
- a scheduler address: `distributed.Client(address, timeout=...)` and its `get_executor()`, a concurrent.futures
  Executor too. `distributed` is the optional extra `cluster` (pip install 'gru-memory-lab[cluster]'); without it, or
  when the scheduler cannot be reached within CONNECT_TIMEOUT_S, `SchedulerError` carries the one line to show.
  The cluster's workers need this package (and torch, numpy) installed: tasks name functions of `core`.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

CONNECT_TIMEOUT_S = 4.0
INSTALL_HINT = "pip install 'gru-memory-lab[cluster]'"
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class SchedulerError(Exception):
    """The scheduler cannot be used: `distributed` is missing, or the address cannot be reached. One line."""


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity), at least 1: the default --workers."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Where:
    """Where work runs: `workers` local processes (1: in this process, as before), or the Dask cluster at
    `scheduler` (then workers only says how many chunks to aim for per round: the cluster's own count is used)."""

    workers: int = 1
    scheduler: str | None = None

    @property
    def in_process(self) -> bool:
        return self.scheduler is None and self.workers <= 1

    @property
    def executor(self) -> str:
        if self.scheduler is not None:
            return "dask"
        return "in-process" if self.workers <= 1 else "local processes (spawn)"

    def to_dict(self) -> dict:
        return {"workers": self.workers, "scheduler": self.scheduler, "executor": self.executor}

    def describe(self) -> str:
        if self.scheduler is not None:
            return f"on the Dask cluster at {self.scheduler} ({self.workers} worker(s))"
        return "in this process" if self.workers <= 1 else f"on {self.workers} local worker processes"


_progress_queue: Any = None  # set in a local worker by worker_init


def worker_init(queue: Any = None, parent: int | None = None) -> None:
    """A local worker's start: one thread, Ctrl+C left to the parent, the parent's progress queue kept."""
    global _progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress_queue = queue
    single_thread()
    _leave_with_parent(os.getppid() if parent is None else parent)


def _leave_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A worker whose parent (its pid as the parent gave it: it may have died before this runs) died without
    ending it (SIGKILL, a crash) leaves within a second, never an orphan."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


def single_thread() -> None:
    """One torch thread in this process (a chunk calls it too: a Dask worker runs no initializer)."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def report_progress(message: tuple) -> None:
    """Put a progress message on the parent's queue (nothing in-process or on a cluster: no queue there)."""
    if _progress_queue is not None:
        try:
            _progress_queue.put(message)  # a SimpleQueue: written before the task's result is sent
        except (OSError, ValueError):  # the parent has gone: the result still travels through the future
            pass


def local_pool(workers: int, queue: Any = None) -> ProcessPoolExecutor:
    """A spawn pool of `workers` single-threaded processes (BLAS threads set to 1 in the environment they inherit,
    when this process did not set them)."""
    import multiprocessing as mp

    for var in THREAD_ENV:
        os.environ.setdefault(var, "1")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=worker_init,
                               initargs=(queue, os.getpid()))
    # Every worker now, before any task. Spawned on demand (a spawn pool's default), a worker started by submit()
    # while the pool's manager thread was ending a broken pool changed the dict that thread iterates: its
    # RuntimeError reached stderr as a traceback (seen once in the suite, a worker killed as tasks were submitted).
    launch = getattr(pool, "_launch_processes", None)
    if launch is not None:
        launch()
    return pool


def end_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a local pool now: queued work cancelled, running workers terminated (Ctrl+C, SIGTERM, a broken pool)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
            p.kill()
            p.join(timeout=5)


def address_problem(address: str) -> str | None:
    """Why a tcp:// or tls:// address (the default scheme) has no host:port, or None (found by the badvalues probe,
    tests/reliability_runs.py: 'abc' gave the one line, then a TimeoutError traceback from Client.__del__)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(loc)
    except ValueError as e:
        return " ".join(str(e).split())[:160] or "cannot read it"
    return None


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A distributed.Client of the scheduler at `address`; SchedulerError (one line) when distributed is not installed
    or the scheduler does not answer within `timeout` seconds."""
    try:
        from distributed import Client  # the optional extra: imported only when a scheduler is asked for
    except ImportError:
        raise SchedulerError(f"--scheduler needs Dask's distributed package: {INSTALL_HINT}") from None
    why = address_problem(address)
    if why is not None:  # before a Client: one made of such an address times out again as it is collected at exit,
        raise SchedulerError(f"--scheduler {address[:200]}: not a scheduler address ({why}); e.g. "  # a traceback
                             "tcp://10.0.0.5:8786")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        why = " ".join(str(e).split()) or type(e).__name__
        raise SchedulerError(f"--scheduler {address}: cannot reach the Dask scheduler within {timeout:g} s "
                             f"({why[:160]})") from None


def cluster_workers(client) -> int:
    """The worker threads a Dask cluster offers (at least 1)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a cluster that cannot say: plan for one
        return 1


def dask_executor(client) -> Executor:
    """The client's concurrent.futures Executor; pure=False: a retried chunk runs again rather than sharing a key."""
    return client.get_executor(pure=False)


def resolve(where: Where) -> Where:
    """The Where to plan with: for a scheduler, connect once (SchedulerError, one line, within the timeout, when it
    cannot be used) and take the cluster's worker threads as the worker count."""
    if where.scheduler is None:
        return where
    client = connect(where.scheduler)
    try:
        return Where(cluster_workers(client), where.scheduler)
    finally:
        client.close(timeout=5)


SCHEDULER_SETTING = "sweep/scheduler"  # the window's settings key of a Dask scheduler's address for the Sweep page


SMALL_SWEEP = 2_000_000  # learner-steps below which a sweep runs in its own process by default (seconds of work)


def window_workers(trainer_running: bool, learner_steps: int) -> int:
    """The Sweep page's workers: every core this process may use, less one while the live trainer runs (it comes
    first), at least 1; 1 for a small sweep (starting workers would cost more than it saves)."""
    if learner_steps < SMALL_SWEEP:
        return 1
    return max(1, available_cores() - (1 if trainer_running else 0))
