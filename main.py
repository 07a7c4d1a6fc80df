"""GRU Memory Lab's entry point: `python main.py` opens the window; `python main.py train ...` runs headless;
`python main.py claims ...` reproduces the seed thread's claims with verdicts; `python main.py sweep ...` maps
seeds x settings headless."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
