"""Issue 21 (2): the window starts whatever GML_SETTINGS names. Each case starts `main.py --autostart
--quit-after-steps 3` in a subprocess with that settings file: exit 0, exactly one warning line on
stderr, no traceback, and the file named is as it was (a FIFO, a device, a folder) or moved aside whole (a value
Qt's reader would abort on: `@Variant` of 2^31 elements, std::bad_alloc; JSON nested 5,000 deep, RecursionError)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
VARIANT = "[view]\nwindow=@Variant(\\0\\0\\0\\t\\x7f\\xff\\xff\\xff)\nsmoothing=12\n"
DEEP = "[session]\nrecent=" + "[" * 5000 + "]" * 5000 + "\n"


def _make(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "chardev":
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 3))
    else:
        path.write_text({"variant": VARIANT, "deep": DEEP}[kind])


def _start(ini: Path) -> subprocess.CompletedProcess:
    env = {"GML_SETTINGS": str(ini), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
           "HOME": str(ini.parent)}
    return subprocess.run([sys.executable, "main.py", "--autostart", "--quit-after-steps", "3"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)  # a safety net: it exits in seconds


@pytest.mark.parametrize("kind", ["fifo", "folder", "chardev", "variant", "deep"])
def test_the_window_starts_with_one_warning(tmp_path, kind):
    if kind == "chardev" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    ini = tmp_path / "settings.ini"
    _make(kind, ini)
    before = os.stat(ini) if kind in ("fifo", "folder", "chardev") else None
    r = _start(ini)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "RecursionError" not in r.stderr and "bad_alloc" not in r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: the settings file {ini} "), r.stderr
    if before is not None:  # never written over, never replaced
        after = os.stat(ini)
        assert (stat.S_IFMT(after.st_mode), after.st_ino, after.st_rdev) == (
            stat.S_IFMT(before.st_mode), before.st_ino, before.st_rdev)
        assert "saves no settings this time" in warnings[0]
    else:  # moved aside whole; the window saved a fresh file in its place
        assert (tmp_path / "settings.ini.damaged").read_text() == (VARIANT if kind == "variant" else DEEP)
        assert "@Variant" not in ini.read_text() and "[[" not in ini.read_text()
