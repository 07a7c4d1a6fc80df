"""Issue 15, defect 5: a damaged settings file never stops the app; each bad or out-of-range stored setting is
ignored on its own (the defaults are used) and named in one notice."""

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from core.config import Config, preset
from gui.settings import WindowSettings

ROOT = Path(__file__).resolve().parents[3]


def _store(tmp_path, body: str) -> QSettings:
    path = tmp_path / "settings.ini"
    path.write_text(body)
    return QSettings(str(path), QSettings.IniFormat)


@pytest.mark.parametrize("body, name", [
    ("[view]\nsmoothing=abc\n", "smoothing='abc'"),
    ("[view]\nsmoothing=99999999999999999999\n", "smoothing='99999999999999999999'"),
    ("[view]\nwindow=-5\n", "window='-5'"),
    ("[view]\nwindow=1e400\n", "window='1e400'"),
    ("[window]\ngeometry=abc\n", "geometry='abc'"),
    ('[config]\nlast="{\\"model\\": {\\"units\\": 99999999999999999999}}"\n', "last="),
    ("[config]\nlast=not json\n", "last="),
])
def test_each_damaged_setting_is_ignored_with_a_notice(tmp_path, body, name):
    s = WindowSettings(_store(tmp_path, body))
    assert s.saved_config() is None
    assert s.geometry() is None
    assert s.view_values()[0] in range(0, 100) and s.view_values()[1] in range(20, 2001)
    notes = s.take_notices()
    assert len(notes) == 1 and notes[0].startswith("Ignored a damaged setting ") and name in notes[0], notes
    assert s.take_notices() == []


def test_good_settings_are_kept_beside_a_bad_one(tmp_path):
    cfg = preset("question-fixed")
    path = tmp_path / "settings.ini"
    WindowSettings(QSettings(str(path), QSettings.IniFormat)).save(cfg, b"", 12, 300)
    text = path.read_text().replace("smoothing=12", "smoothing=abc")
    s = WindowSettings(_store(tmp_path, text))
    assert s.saved_config() == cfg and s.view_values() == (60, 300)
    assert s.take_notices() == ["Ignored a damaged setting smoothing='abc'"]


def test_the_window_starts_and_says_what_it_ignored(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from gui.main_window import MainWindow

    (tmp_path / "settings.ini").write_text("[view]\nsmoothing=99999999999999999999\nwindow=abc\n"
                                           "[window]\ngeometry=abc\n")
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    win = MainWindow(None, restore=True)
    qtbot.addWidget(win)
    try:
        assert win.toolbar.smoothing.value() == 60 and win.toolbar.window_spin.value() == 200
        assert win.state.applied == Config()
        text = win.message.notices[-1]
        for part in ("smoothing='99999999999999999999'", "window='abc'", "geometry='abc'"):
            assert f"Ignored a damaged setting {part}" in text
    finally:
        win.close()


@pytest.mark.slow
def test_main_py_starts_with_a_damaged_settings_file(tmp_path):
    ini = tmp_path / "settings.ini"
    ini.write_text("[view]\nsmoothing=99999999999999999999\n[window]\ngeometry=abc\n")
    env = {"GML_SETTINGS": str(ini), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "main.py", "--autostart", "--quit-after-steps", "3"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
