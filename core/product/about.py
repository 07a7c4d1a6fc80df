"""Who and what this is: the app's name and version (pyproject's, read at run time through importlib.metadata; a
checkout without an install reads pyproject.toml itself), the versions of what it runs on (read from the installed
packages' metadata, so asking never imports torch or Qt), the license, and the name the user typed (`prog`)."""

from __future__ import annotations

import os
import platform
import sys
import tomllib
from importlib import metadata
from pathlib import Path

APP_NAME = "GRU Memory Lab"
DIST = "gru-memory-lab"
LICENSE = "MIT"
COPYRIGHT = "© 2026 GRU Memory Lab authors"
CHECKOUT = Path(__file__).resolve().parents[2]
# the names the commands are started by; anything else (pytest, python -c) reads as the installed name
PROGS = ("gru-memory-lab", "gru-memory-lab-train", "main.py")
# what the About box and --version --verbose list, in this order (the distributions' names on PyPI)
RUNS_ON = (("NumPy", "numpy"), ("torch", "torch"), ("PySide6", "PySide6-Essentials"), ("pyqtgraph", "pyqtgraph"))


def version() -> str:
    """The installed version; in a checkout that was never installed, pyproject.toml's with '+checkout'."""
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:
        pass
    try:
        return tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["version"] + "+checkout"
    except (OSError, KeyError, ValueError):
        return "unknown"


def package_version(dist: str) -> str:
    """An installed distribution's version from its metadata (nothing is imported), or 'not installed'."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        if dist == "PySide6-Essentials":  # the full PySide6 package provides the same modules
            return package_version("PySide6")
        return "not installed"


def runs_on() -> list[tuple[str, str]]:
    """(name, version) of Python and of each package in RUNS_ON."""
    return [("Python", f"{platform.python_version()} ({sys.executable})")] + [
        (name, package_version(dist)) for name, dist in RUNS_ON]


def prog(command: str = "") -> str:
    """The name the user typed, for usage lines: 'main.py train', 'gru-memory-lab train', 'gru-memory-lab-train'."""
    base = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    base = base if base in PROGS else DIST
    if base == "gru-memory-lab-train" or not command:
        return base
    return f"{base} {command}"


def commands_text() -> str:
    """The commands, one line each, for the top-level --help (named as the user typed the program)."""
    name = prog()
    rows = [(name, "open the window (the options below)"),
            (f"{name} train ...", "train a run (or --seeds S) without a window: progress on stderr, JSON on stdout"),
            (f"{name} claims ...", "measure the seed thread's claims, each with a verdict (about 3 minutes)"),
            (f"{name} sweep ...", "map the fraction of seeds that learn over one or two settings"),
            (f"{name} --install-desktop-entry", "add the app to the desktop's menu (says where it writes)")]
    width = max(len(r[0]) for r in rows)
    return "commands (each has its own --help):\n" + "\n".join(f"  {c.ljust(width)}  {t}" for c, t in rows)


def version_text(command: str = "") -> str:
    """What --version prints: 'gru-memory-lab 0.2.0' (the program as typed)."""
    return f"{prog(command)} {version()}"
