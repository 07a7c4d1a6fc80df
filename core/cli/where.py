"""Where a command's work runs, as flags: `--workers N` (local worker processes; default: the cores this process
may use; 1: in this process, as before) and `--scheduler ADDRESS` (a running Dask cluster, core.workers.pool), and
SIGTERM taken as Ctrl+C so that a stopped command still writes what finished."""

from __future__ import annotations

import argparse
import signal

from core.workers.pool import INSTALL_HINT, SchedulerError, Where, available_cores, resolve

MAX_WORKERS = 1024


def add_where_flags(p: argparse.ArgumentParser, what: str, default_note: str = "") -> None:
    from core.cli.flags import strict_int

    p.add_argument("--workers", type=strict_int, default=None, metavar="N",
                   help=f"run the {what} in N worker processes, one thread each (default: the cores this process "
                        f"may use, {available_cores()} here{default_note}; 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help=f"run the {what} on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786; needs {INSTALL_HINT}"
                        " here and on the workers; see docs/scaling.md)")


def where_from_args(args: argparse.Namespace, default: int | None = None) -> tuple[Where | None, str | None]:
    """(Where, None), or (None, the one line to show before exit 2): a bad --workers or address (flag_problem),
    distributed missing, or a scheduler that does not answer within a few seconds (pool.CONNECT_TIMEOUT_S)."""
    workers = args.workers if args.workers is not None else (default or available_cores())
    why = flag_problem(workers, args.scheduler)
    if why is not None:
        return None, why
    where = Where(workers, args.scheduler)
    if args.scheduler is None:
        return where, None
    try:
        return resolve(where), None
    except SchedulerError as e:
        return None, f"error: {e}"


def flag_problem(workers: int | None, scheduler: str | None) -> str | None:
    """The one line before exit 2 for a --workers out of range or an empty --scheduler address, else None. Checked
    also where nothing is spread (`train --seeds 1`): the flags are not used there, but a bad value is still bad."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        return f"error: --workers: must be between 1 and {MAX_WORKERS}"
    if scheduler is not None and not scheduler.strip():
        return "error: --scheduler: an empty address; e.g. tcp://10.0.0.5:8786"
    return None


def sigterm_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt, as Ctrl+C does: the command stops its workers and writes what finished."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
