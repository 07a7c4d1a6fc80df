"""Helpers for GUI tests: a window with throw-away settings, waiting on snapshots, stepping it, saving and opening
its session through the session layer, a picture that is not blank; and for the session layer's tests, stand-ins
for the file dialogs and the question box (`Dialogs`) and a SessionUI without a window (`SessionRig`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from core.config import Config
from gui import settings as gui_settings
from gui.app_state import AppState
from gui.files.sessions import SessionUI
from gui.main_window import MainWindow
from gui.services import WindowServices

# a window's first snapshot waits for its training child to start and import torch: seconds on a quiet machine, over
# 20 s at load 8 on two cores (the random-order run of issue 24). A safety net for a hang, never a speed target.
FIRST_SNAPSHOT_MS = 90_000


def make_window(qtbot, tmp_path, monkeypatch, cfg=None, **kw):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GML_SCREENSHOT_DIR", str(tmp_path / "screenshots"))  # never the user's pictures folder
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    win = MainWindow(cfg, restore=False, **kw)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: win.snap is not None, timeout=FIRST_SNAPSHOT_MS)
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


# -- the session layer's tests ---------------------------------------------------------------------------
No = QMessageBox.StandardButton.No


class Dialogs:
    """Stands in for QFileDialog.getSaveFileName / getOpenFileName and QMessageBox.question: `calls` holds
    (name, args) of each call; each answers the next answer queued for it, else as cancelled ("" / No)."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, tuple]] = []
        self.queued: dict[str, list] = {"getSaveFileName": [], "getOpenFileName": [], "question": []}
        for name in ("getSaveFileName", "getOpenFileName"):
            monkeypatch.setattr(QFileDialog, name, self._stand_in(name, ("", "")))
        monkeypatch.setattr(QMessageBox, "question", self._stand_in("question", No))

    def _stand_in(self, name, cancelled):
        def call(*args, **kw):
            self.calls.append((name, args))
            return self.queued[name].pop(0) if self.queued[name] else cancelled
        return call

    def answer(self, name, *answers) -> None:
        self.queued[name].extend(answers)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def documents_in(monkeypatch, folder):
    """The user's documents folder, where a file dialog opens the first time, is `folder` (returned)."""
    monkeypatch.setattr(gui_settings, "documents_dir", lambda: folder)
    return folder


class Worker(QObject):
    result = Signal(object)
    error = Signal(str)

    def __init__(self):
        super().__init__()
        self.unresponsive = False


class Child:
    """Stands in for the worker handle: `sent` holds each request; the test answers on `worker.result`."""

    def __init__(self):
        self.worker = Worker()
        self.sent: list[tuple] = []

    def save_session(self, path, extra=None):
        self.sent.append(("save", path, extra))

    def open_session(self, path):
        self.sent.append(("open", path))

    def export_csv(self, path):
        self.sent.append(("export", path))


class Bar:
    """Stands in for the message bar: `shown` holds (kind, text) of each notice, error and hide."""

    def __init__(self):
        self.shown: list[tuple[str, str | None]] = []

    def notice(self, text):
        self.shown.append(("notice", text))

    def error(self, text):
        self.shown.append(("error", text))

    def hide(self):
        self.shown.append(("hide", None))


class Commands:
    """Stands in for RunCommands: `may_open` answers `allow` and counts the questions."""

    def __init__(self):
        self.allow, self.asked = True, 0

    def may_open(self):
        self.asked += 1
        return self.allow


class SessionRig:
    """A SessionUI over a real WindowServices and AppState (`cfg`), with the stand-ins above (no window, no child)."""

    def __init__(self, qtbot, tmp_path, cfg: Config, commands: Commands | None):
        self.parent = QWidget()
        qtbot.addWidget(self.parent)
        self.state = AppState(cfg)
        self.child, self.bar, self.commands = Child(), Bar(), commands
        self.status: list[tuple[str, int]] = []
        self.calls: list[str] = []
        self.view = {"window": 300, "smoothing": 20, "log": True, "layer": "z"}
        self.restored: list[dict] = []
        self.panel_configs: list[Config] = []
        self.store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        panel = type("Panel", (), {"set_config": lambda _s, c: self.panel_configs.append(c)})()
        self.services = WindowServices(
            state=self.state, handle=self.child, settings=self.store, dialog_parent=self.parent, messages=self.bar,
            show_status=lambda text, ms: self.status.append((text, ms)), config_panel=panel,
            save_settings=lambda: self.calls.append("save_settings"), pause=lambda: self.calls.append("pause"),
            current_curves=lambda: None, view_settings=lambda: dict(self.view),
            restore_view_settings=self.restored.append)
        self.ui = SessionUI(self.services, self.parent, commands=commands)

    def install(self) -> QMenu:
        """Install the actions in a File menu kept here (a menu nobody holds is deleted, its Open recent too)."""
        self.menu = QMenu()
        self.ui.install(self.menu)
        return self.menu

    def answer(self, result) -> None:
        """The child's answer, as it arrives."""
        self.child.worker.result.emit(result)

    def errors(self) -> list[str]:
        return [t for k, t in self.bar.shown if k == "error"]

    def notices(self) -> list[str]:
        return [t for k, t in self.bar.shown if k == "notice"]
