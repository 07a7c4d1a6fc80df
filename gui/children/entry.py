"""The child processes' entry points as the window names them: the trainer, the Seeds tab's and the Sweep tab's.
This module imports neither Qt nor torch, so the window never loads torch itself (about a second of start-up
on a small machine) and can spawn its trainer first thing: each child imports its core module (and torch) in
its own process, in parallel with the window."""

from __future__ import annotations


def trainer_main(conn, cfg_dict: dict, threads: int = 1) -> None:
    """Run core.children.trainer.child_main(conn, cfg_dict, threads) in the child process."""
    from core.children.trainer import child_main

    child_main(conn, cfg_dict, threads)


def seeds_main(conn, cfg_dict: dict, n: int) -> None:
    """Run core.children.seeds.seeds_child(conn, cfg_dict, n) in the child process."""
    from core.children.seeds import seeds_child

    seeds_child(conn, cfg_dict, n)


def sweep_main(conn, request: dict) -> None:
    """Run core.children.sweep.sweep_child(conn, request) in the child process."""
    from core.children.sweep import sweep_child

    sweep_child(conn, request)
