"""The files the app reads at run time, wherever it is installed: the measured claims, the icon, the desktop entry
template and the docs the Help menu opens. The wheel carries them as package data of `gru_memory_lab_resources`
(pyproject.toml maps resources/ to it and docs/ to its `docs` subpackage); they are found through
importlib.resources, and a checkout that was never installed reads resources/ and docs/ beside core/."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

from core.product.about import CHECKOUT

PACKAGE = "gru_memory_lab_resources"
CLAIMS = "claims.json"
ICON = "gru-memory-lab.svg"
DESKTOP = "gru-memory-lab.desktop"
# the docs the Help menu opens: (menu text, file under docs/ or resources/), in menu order
DOCS = (("User &guide", "docs/guide.md"), ("The thread's &claims, measured", "claims.md"),
        ("&Online learning rules", "docs/online-rules.md"), ("&Benchmarks", "docs/benchmarks.md"),
        ("&Reliability", "docs/reliability.md"), ("&Architecture", "docs/architecture.md"))


def _root() -> Traversable:
    try:
        return importlib.resources.files(PACKAGE)
    except (ModuleNotFoundError, OSError):  # a checkout without an install
        return CHECKOUT / "resources"


def shipped(name: str) -> Traversable:
    """A shipped file by its name under resources/ ('claims.json') or docs/ ('docs/guide.md'); it may not exist."""
    if name.startswith("docs/"):
        root = _root()
        docs = root / "docs"
        return docs / name[len("docs/"):] if docs.is_dir() else CHECKOUT / name
    return _root() / name


def local_path(name: str) -> Path | None:
    """The shipped file as a path on disk (for a browser or a file manager), or None when it is missing."""
    f = shipped(name)
    p = Path(str(f))
    return p if p.is_file() else None
