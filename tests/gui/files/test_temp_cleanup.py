"""Issue 21 (3): the temporary files of a save killed mid-write are removed at the next start, in the folders the
app writes to; only core.atomic_io's own names, only those whose writer pid is gone (a live pid's file may be
another window saving right now), never a file that merely looks alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings

from gui.settings import WindowSettings

ROOT = Path(__file__).resolve().parents[3]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # reaped: no process has this pid now (a reuse within this test is what the kill -0 check guards)
    return p.pid


def _folder_with_leftovers(folder: Path) -> tuple[list[str], list[str]]:
    """(names a start must remove, names it must keep)."""
    folder.mkdir(parents=True, exist_ok=True)
    gone, alive = _dead_pid(), os.getpid()
    remove = [f".s.gmlab.p{gone}.abcd1234.gml-tmp.gmlab", f".r-loss.png.p{gone}.x_y_z_09.gml-tmp.png"]
    keep = [f".s.gmlab.p{alive}.abcd1234.gml-tmp.gmlab",  # a live writer
            f"s.gmlab.p{gone}.abcd1234.gml-tmp.gmlab.txt",  # not our pattern (no leading dot, other suffix)
            ".s.gmlab.abcd1234.gml-tmp.gmlab",  # ours without a pid: only the age rule removes it
            "s.gmlab"]
    for name in remove + keep:
        (folder / name).write_bytes(b"x")
    return remove, keep


def test_only_a_dead_writers_temp_files_are_removed(tmp_path):
    store = QSettings(str(tmp_path / "cfg" / "settings.ini"), QSettings.IniFormat)
    sessions, recordings = tmp_path / "sessions", tmp_path / "rec"
    store.setValue("folders/sessions", str(sessions))
    store.setValue("record/last_path", str(recordings / "run.gif"))
    store.sync()
    r1, k1 = _folder_with_leftovers(sessions)
    r2, k2 = _folder_with_leftovers(recordings)
    removed = WindowSettings(store).clean_temp_files()
    assert sorted(removed) == sorted(r1 + r2)
    assert sorted(p.name for p in sessions.iterdir()) == sorted(k1)
    assert sorted(p.name for p in recordings.iterdir()) == sorted(k2)


def test_the_window_cleans_them_as_it_starts(tmp_path):
    sessions = tmp_path / "sessions"
    ini = tmp_path / "settings.ini"
    ini.write_text(f"[session]\nrecent=\"[\\\"{sessions}/a.gmlab\\\"]\"\n")
    remove, keep = _folder_with_leftovers(sessions)
    env = {"GML_SETTINGS": str(ini), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "main.py", "--autostart", "--quit-after-steps", "1"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=180)  # a safety net
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in sessions.iterdir()) == sorted(keep)
