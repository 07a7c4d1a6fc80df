"""Helpers for GUI tests: a window with throw-away settings, waiting on snapshots, stepping it, saving and opening
its session through the session layer, a picture that is not blank."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage

from gui.main_window import MainWindow


def make_window(qtbot, tmp_path, monkeypatch, cfg=None, **kw):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GML_SCREENSHOT_DIR", str(tmp_path / "screenshots"))  # never the user's pictures folder
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    win = MainWindow(cfg, restore=False, **kw)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: win.snap is not None, timeout=20000)
    return win


def wait_step(qtbot, win, pred, timeout=20000):
    qtbot.waitUntil(lambda: win.snap is not None and pred(win.snap), timeout=timeout)
    return win.snap


def steps(qtbot, win, n):
    """Exactly n steps (the Step command, paused after them), and a snapshot drawn after them."""
    target = win.snap.step + n
    win.commands.step(n)
    return wait_step(qtbot, win, lambda s: s.step == target and not s.running)


def save(qtbot, win, path):
    """Save the session to `path` (no dialog) and wait for the child's SaveResult, which is returned."""
    with qtbot.waitSignal(win.session_ui.saved, timeout=20000) as sig:
        assert win.session_ui.save_session_to(path)
    return sig.args[0]


def open_(qtbot, win, path):
    """Open the session at `path` (no dialog); returns the OpenResult once the opened run's snapshot is drawn."""
    run = win.snap.run_id
    with qtbot.waitSignal(win.session_ui.opened, timeout=20000) as sig:
        win.session_ui.open_session_from(path)
    wait_step(qtbot, win, lambda s: s.run_id != run)
    return sig.args[0]


def image_not_blank(path) -> bool:
    img = QImage(str(path))
    if img.isNull() or img.width() < 100:
        return False
    img = img.convertToFormat(QImage.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes()).reshape(img.height(), -1)
    return arr.std() > 10 and len(np.unique(arr[:, ::7])) > 20
