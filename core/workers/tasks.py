"""Run tasks (chunks of learners, seeds or runs) on local worker processes or a Dask cluster, one code path:
`run_tasks(tasks, where)` submits each `Task` to a concurrent.futures Executor (core.workers.pool) and yields, as they
come, `Progress` (a task's work done so far, local workers only: they report through a queue, every message before
the task's `Finished`), `Finished` (its
result) and `Missing` (it could not be run: its work is reported missing, never filled in).

Faults. A local worker that dies (killed, out of memory) breaks its pool: every task in flight fails with
BrokenProcessPool. The pool is replaced by a fresh one and the tasks are resubmitted; a task that had started
when the pool broke is charged one attempt, and after `retries` (1) charged retries it is `Missing`, as is
everything left after `max_rebuilds` broken pools. On a Dask cluster the scheduler retries a task whose worker
died (its `allowed-failures`); a task the cluster gives up on (KilledWorker, a lost connection) is `Missing`.
Any other exception in a task is a bug and is raised here. Ctrl+C (KeyboardInterrupt), a stop() that turns true
or a closed generator end the run at once: local workers are terminated, cluster futures cancelled.

A task function runs in a worker as `fn(*args)`; it may call `progress(done, info)` (module-level here) as it
goes. Results must be picklable; they depend only on the task's arguments, never on which worker ran it.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from core.workers.pool import (
    SchedulerError,
    Where,
    connect,
    dask_executor,
    end_pool,
    local_pool,
    report_progress,
    single_thread,
)

CLUSTER_LOST = {"KilledWorker", "CommClosedError", "FutureCancelledError", "StreamClosedError"}
POLL_S = 0.2  # how often the parent looks at stop() and the progress queue while it waits


@dataclass(frozen=True)
class Task:
    """`fn(*args)` run in a worker; cost orders the submission (largest first, so the long ones do not come last)."""

    key: Any
    fn: Callable
    args: tuple
    cost: float = 1.0


@dataclass(frozen=True)
class Progress:
    key: Any
    done: float  # this task's work done so far (it restarts at 0 when the task is retried)
    info: Any = None


@dataclass(frozen=True)
class Finished:
    key: Any
    result: Any


@dataclass(frozen=True)
class Missing:
    key: Any
    why: str


_tag: tuple | None = None  # (key, serial) of the task this worker runs now


def _run(fn: Callable, tag: tuple, args: tuple) -> Any:
    """What a worker runs: the task, its progress tagged with the submission it belongs to."""
    global _tag
    single_thread()
    _tag = tag
    report_progress(("start", tag, 0, None))
    try:
        return fn(*args)
    finally:
        _tag = None


def progress(done: float, info: Any = None) -> None:
    """A task's progress so far (called inside the task; nothing when no parent listens)."""
    if _tag is not None:
        report_progress(("progress", _tag, done, info))


class _Runner:
    """The executor of the moment (a local pool is replaced when it breaks) and the futures in flight."""

    def __init__(self, where: Where, n_tasks: int):
        self.where = Where(max(1, min(where.workers, n_tasks)), where.scheduler)  # no idle local workers
        self.client = None
        self.queue: Any = None
        if where.scheduler is not None:
            self.client = connect(where.scheduler)
            self.ex = dask_executor(self.client)
        else:
            self.queue = mp.get_context("spawn").SimpleQueue()
            self.ex = local_pool(self.where.workers, self.queue)
        self.futures: dict[Future, tuple] = {}
        self.serial = 0

    def submit(self, task: Task) -> tuple:
        self.serial += 1
        tag = (task.key, self.serial)
        self.futures[self.ex.submit(_run, task.fn, tag, task.args)] = tag
        return tag

    def drain(self) -> list[tuple]:
        out: list[tuple] = []
        if self.queue is None:
            return out
        try:
            while not self.queue.empty():
                out.append(self.queue.get())
        except (OSError, EOFError, ValueError):  # a worker killed mid-write: the rest of the pool's messages are lost
            pass
        return out

    def renew(self) -> None:
        """A fresh pool with a fresh queue (a killed worker may have died holding the old queue's write lock)."""
        end_pool(self.ex)  # type: ignore[arg-type]
        self.futures.clear()
        self.queue.close()
        self.queue = mp.get_context("spawn").SimpleQueue()
        self.ex = local_pool(self.where.workers, self.queue)

    def close(self) -> None:
        if self.client is not None:
            for f in self.futures:
                f.cancel()
            self.ex.shutdown(wait=False)
            try:
                self.client.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing a lost client: nothing more to do
                pass
        else:
            end_pool(self.ex)  # type: ignore[arg-type]
            self.queue.close()


def run_tasks(tasks: Iterable[Task], where: Where, *, stop: Callable[[], bool] | None = None, retries: int = 1,
              max_rebuilds: int = 3) -> Iterator[Progress | Finished | Missing]:
    """Run every task on `where` (local processes or a Dask scheduler; never in-process), yielding events as above.
    Raises SchedulerError (one line) when the scheduler cannot be used, before any task runs."""
    todo = sorted(tasks, key=lambda t: -t.cost)
    by_key = {t.key: t for t in todo}
    charged = {k: 0 for k in by_key}
    runner = _Runner(where, len(todo))
    current: dict[Any, tuple] = {}  # key -> the tag of its live submission
    started: set[tuple] = set()
    rebuilds = 0
    try:
        for t in todo:
            current[t.key] = runner.submit(t)
        while runner.futures:
            if stop is not None and stop():
                return
            done, _ = wait(list(runner.futures), timeout=POLL_S, return_when=FIRST_COMPLETED)
            yield from _progress(runner.drain(), current, started)
            broken = False
            for f in done:
                tag = runner.futures.pop(f)
                try:
                    result = f.result()
                except BrokenProcessPool:
                    broken = True
                    runner.futures[f] = tag  # settled with the others below
                    continue
                except Exception as e:
                    if runner.client is not None and (isinstance(e, (CancelledError, OSError))
                                                      or type(e).__name__ in CLUSTER_LOST):
                        current.pop(tag[0], None)
                        yield Missing(tag[0], f"the cluster lost it ({type(e).__name__}: {e})"[:200])
                        continue
                    raise
                current.pop(tag[0], None)  # its progress messages still queued are stale now
                yield Finished(tag[0], result)
            if not broken:
                continue
            # A worker died: the pool fails every task in flight. Keep what did finish, retry the rest once.
            wait(list(runner.futures), timeout=30, return_when=ALL_COMPLETED)
            yield from _progress(runner.drain(), current, started)
            again = []
            for f, tag in list(runner.futures.items()):
                if f.done() and not f.cancelled() and f.exception() is None:
                    current.pop(tag[0], None)
                    yield Finished(tag[0], f.result())
                    continue
                if tag in started:
                    charged[tag[0]] += 1
                again.append(tag[0])
            rebuilds += 1
            runner.renew()
            for key in again:
                if charged[key] > retries or rebuilds > max_rebuilds:
                    current.pop(key, None)
                    yield Missing(key, "a worker process died while running it (retried once)")
                else:
                    current[key] = runner.submit(by_key[key])
    finally:
        runner.close()


def _progress(messages: list[tuple], current: dict, started: set) -> Iterator[Progress]:
    for kind, tag, done, info in messages:
        if current.get(tag[0]) != tag:  # from a submission that was replaced
            continue
        if kind == "start":
            started.add(tag)
        else:
            yield Progress(tag[0], done, info)


__all__ = ["Finished", "Missing", "Progress", "SchedulerError", "Task", "Where", "progress", "run_tasks"]
