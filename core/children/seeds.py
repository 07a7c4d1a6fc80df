"""The seeds child: the GUI's multi-seed mode in its own process (core.runs.seeds.iter_seeds), reporting over a
one-way pipe with the typed messages of core.messages."""

from __future__ import annotations

import os

from core.children.pipe import ChildEnd, SeedsReply
from core.config import Config
from core.messages import Error, SeedDone, SeedsDone
from core.runs.seeds import iter_seeds, summarize


def seeds_child(conn: ChildEnd[SeedsReply], cfg_dict: dict, n: int) -> None:
    """Child-process entry for the GUI's multi-seed mode: SeedDone per seed as it
    finishes, then SeedsDone, or one Error. One torch thread, so the live trainer keeps its core. The
    pipe is one-way: the GUI stops this child by ending the process (gui/children/link.py)."""
    import torch

    torch.set_num_threads(1)
    try:
        cfg = Config.from_dict(cfg_dict)
        results = []
        for r in iter_seeds(cfg, n):
            results.append(r)
            conn.send(SeedDone(r))
        conn.send(SeedsDone(summarize(results)))
    except (BrokenPipeError, EOFError):
        pass
    except Exception as e:  # reported to the window, never a traceback on the console
        try:
            conn.send(Error(f"{type(e).__name__}: {e}"))
        except (BrokenPipeError, OSError):
            pass
    finally:
        conn.close()
        os._exit(0)
