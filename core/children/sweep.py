"""The sweep child: a sweep (core.sweep.grid) in its own process for the Sweep tab, streaming its events and
taking only the typed messages of core.messages (StopSweep, Quit) in."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal

from core.children.pipe import ChildEnd, SweepReply
from core.config import Config
from core.messages import Error, Quit, StopSweep, SweepDone, SweepEvent
from core.seed_batched.devices import check_device, describe, engine_info, from_app_device
from core.sweep.grid import SweepCollector, parse_axis, plan_sweep
from core.sweep.parallel import sweep_events
from core.workers.pool import Where


def sweep_child(conn: ChildEnd[SweepReply], request: dict) -> None:
    """Child-process entry for a GUI: request {"config": Config dict, "axes": [spec, ...], "seeds": S, optional
    "reach_window", "max_batch", "device" (core.seed_batched.devices.DEVICES; default cpu) or "app_device" (the
    window's auto | cpu | cuda, resolved by devices.from_app_device), "workers" (local worker processes; 1, the
    default: in this process) and "scheduler" (a Dask scheduler's address, or None)}. Sends
    core.messages.SweepEvent(event) per event (the first: {"type": "engine", "text", "note", "where"}), then
    SweepDone(report) (partial when stopped), or one Error. Sending StopSweep (or Quit) ends the sweep after the
    current chunk (in this process) or at once (workers), keeping finished cells."""
    import torch

    torch.set_num_threads(1)  # as the command line: the window's trainer keeps a core
    try:
        base = Config.from_dict(request["config"])
        axes = [parse_axis(s, base) for s in request["axes"]]
        plan = plan_sweep(base, axes, int(request["seeds"]), max_batch=int(request.get("max_batch", 256)),
                          reach_window=int(request.get("reach_window", 1000)))
        col = SweepCollector(plan)
        device, note = (from_app_device(request["app_device"]) if "app_device" in request
                        else (request.get("device", "cpu"), None))
        if (why := check_device(device)) is not None:
            raise ValueError(why)
        col.engine = engine_info(device, {c.cfg.train.rule for c in plan.cells})
        where = Where(max(1, int(request.get("workers", 1))), request.get("scheduler") or None)
        if not where.in_process:  # this child may start workers; SIGTERM (the window closing it) ends them first
            mp.current_process().daemon = False
            signal.signal(signal.SIGTERM, _interrupt)
        conn.send(SweepEvent({"type": "engine", "text": f"{describe(col.engine)}, {where.describe()}", "note": note,
                              "where": where.to_dict()}))
        stopped = [False]

        def stop() -> bool:
            while conn.poll():
                if isinstance(conn.recv(), (StopSweep, Quit)):
                    stopped[0] = True
            return stopped[0]

        for ev in sweep_events(plan, col, where, device, stop=stop):
            conn.send(SweepEvent(ev))
        conn.send(SweepDone(col.report(partial=stopped[0])))
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass
    except Exception as e:  # reported to the window, never a traceback on the console
        try:
            conn.send(Error(f"{type(e).__name__}: {e}".splitlines()[0]))
        except (BrokenPipeError, OSError):
            pass
    finally:
        conn.close()
        os._exit(0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
