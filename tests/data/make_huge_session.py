"""Writes tests/data/huge_batch.gmlab: a valid, checksummed batch session (the answer's 33-parameter model) whose
config declares 1,000,000 sequences x 200 steps, a data set that would take gigabytes to rebuild. The file itself
is a few kilobytes; opening it must be refused before anything is allocated. Run from the repository root:
    python tests/data/make_huge_session.py
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest import mock

from core.config import Config, preset
from core.sessions import gmlab as S
from core.train.trainer import make_trainer

OUT = Path(__file__).with_name("huge_batch.gmlab")


def main() -> None:
    small = preset("answer").replace(n_sequences=100, epochs=1)
    trainer = make_trainer(small)
    huge = dataclasses.replace(small, train=dataclasses.replace(small.train, n_sequences=1_000_000, seq_len=200))
    trainer.cfg = huge
    with mock.patch.object(Config, "validate", lambda self: self):  # the crafted part: skip the config checks
        S.save_session(OUT, trainer)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
