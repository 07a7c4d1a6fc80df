"""GRU Memory Lab's entry point, installed as `gru-memory-lab`: with no command it opens the window (gui/app.py's
parser: its --help lists the commands, --version, --verbose, --install-desktop-entry); `train ...` runs headless;
`claims ...` reproduces the seed thread's claims with verdicts; `sweep ...` maps seeds x settings headless. Each
command names itself as typed (core.product.about.prog), has --version and --help (with its exit codes), and keeps
stdout for data: progress and messages go to stderr and the log file (core.product.logs).

Ctrl-C before a command has set up its own handling (while torch and the rest load) exits 130 with one line and
no traceback: the handler is installed before anything heavy is imported; each command then installs Python's
own (KeyboardInterrupt) where it can stop cleanly and keep what finished, and the window installs its own."""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130


def _interrupted_at_start(signum, frame) -> None:
    """SIGINT before a command's own handling: nothing was written yet, so leave at once, quietly."""
    try:
        os.write(2, b"interrupted\n")
    finally:
        os._exit(EXIT_INTERRUPTED)


def install_start_handler() -> None:
    """The first thing `python main.py` does (before importing the command, torch or Qt)."""
    signal.signal(signal.SIGINT, _interrupted_at_start)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the process's entry (`python main.py`, the installed gru-memory-lab): the handler first
        install_start_handler()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from core.cli.train import main as train_main

        return train_main(argv[1:])
    if argv and argv[0] == "claims":
        from core.cli.claims import main as claims_main

        return claims_main(argv[1:])
    if argv and argv[0] == "sweep":
        from core.cli.sweep import main as sweep_main

        return sweep_main(argv[1:])
    from gui.app import main as gui_main

    return gui_main(argv)


def train_entry() -> int:
    """The installed `gru-memory-lab-train`: `gru-memory-lab train ...`, with the start-up handler installed first
    (an entry point naming core.cli.train would import torch before any handler could be)."""
    install_start_handler()
    return main(["train", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
