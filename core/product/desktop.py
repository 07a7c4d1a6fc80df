"""The desktop entry, written only when the user asks (`gru-memory-lab --install-desktop-entry`): the shipped
template with the command filled in, to ~/.local/share/applications (or $XDG_DATA_HOME/applications), and the
icon to the hicolor theme beside it. Never done silently: the command says where each file went."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from core.atomic_io import LabFileError, write_bytes
from core.product.files import DESKTOP, ICON, shipped


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher() -> list[str]:
    """The command the entry runs: the installed `gru-memory-lab` beside this Python, else on PATH, else
    this Python with main.py (a checkout)."""
    beside = Path(sys.executable).with_name("gru-memory-lab")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("gru-memory-lab")
    if found:
        return [found]
    return [sys.executable, str(Path(__file__).resolve().parents[2] / "main.py")]


def entry_text(exec_line: str, icon: str) -> str:
    """The template with Exec and Icon filled in (Exec's path quoted when it holds a space)."""
    template = shipped(DESKTOP).read_text(encoding="utf-8")
    return template.replace("@EXEC@", exec_line).replace("@ICON@", icon)


def install(home: Path | None = None) -> list[Path]:
    """Write the icon and the .desktop file under `home` (the XDG data folder); return their paths."""
    home = home or data_home()
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / ICON
    entry = home / "applications" / DESKTOP
    for folder in (icon.parent, entry.parent):
        folder.mkdir(parents=True, exist_ok=True)
    write_bytes(icon, shipped(ICON).read_bytes())
    exec_line = " ".join(f'"{part}"' if " " in part else part for part in launcher())
    write_bytes(entry, entry_text(exec_line, str(icon)).encode("utf-8"))
    return [entry, icon]


def install_command() -> int:
    """`--install-desktop-entry`: write both files and print where (stdout), or one error line (stderr) and 1."""
    try:
        paths = install()
    except (OSError, LabFileError) as e:
        print(f"error: the desktop entry was not written: {getattr(e, 'message', e)}", file=sys.stderr)
        return 1
    print(f"desktop entry: {paths[0]}\nicon: {paths[1]}\n(remove both files to take the app out of the menu)")
    return 0
