"""The training child's entry point as the window names it. It imports neither Qt nor torch, so the window can
spawn its trainer first thing, before it loads anything heavy: the child imports core.child (and torch) itself,
in parallel with the window's own start-up."""

from __future__ import annotations


def trainer_main(conn, cfg_dict: dict, threads: int = 1) -> None:
    """Run core.child.child_main(conn, cfg_dict, threads) in the child process."""
    from core.child import child_main

    child_main(conn, cfg_dict, threads)
