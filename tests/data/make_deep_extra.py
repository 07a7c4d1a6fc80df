"""Make `deep_extra.gmlab`: a crafted session (issue 15, defect 2) that is valid in every way but one: its
`extra` is valid JSON nested 900 deep, with a correct checksum. Before the fix the child restored it, then
failed to pickle the reply (RecursionError), so the window said the open failed while the trainer ran the
file's online 16-unit model. Run from the repository root: python tests/data/make_deep_extra.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from core.config import Config  # noqa: E402
from core.live.engine import LiveEngine  # noqa: E402
from core.live.files import save  # noqa: E402
from core.sessions.container import build_container  # noqa: E402
from tests.session_files import parse_container  # noqa: E402

DEPTH = 899  # inside {"gui": ...}: 900 deep in all


def make(path: Path) -> None:
    cfg = Config().replace(units=16, steps=1000)  # online, 16 units
    tmp = path.with_suffix(".tmp-plain")
    engine = LiveEngine(cfg)
    engine.step(20)
    assert save(engine, str(tmp), {"gui": {"window": 200}}).ok
    tensors, meta = parse_container(tmp.read_bytes())
    tmp.unlink()
    meta.pop("checksum")
    meta["extra"] = '{"gui": ' + "[" * DEPTH + "]" * DEPTH + "}"
    path.write_bytes(build_container(tensors, meta))  # build_container adds the correct checksum


if __name__ == "__main__":
    make(HERE / "deep_extra.gmlab")
