"""The Help menu and the app's face: Keyboard shortcuts and About (window-modal boxes that never block the event
loop; About names the app's version, the license and what it runs on: Python, Qt/PySide6, pyqtgraph, NumPy and
torch, torch read from its metadata so the window never loads it), the docs as installed (opened with
QDesktopServices), the log folder, the window icon, and the window's logging (core.product.logs in
QStandardPaths' AppDataLocation, GML_LOG_DIR overriding it)."""

from __future__ import annotations

import logging
import os
from html import escape
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QStandardPaths, Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from core.product import logs
from core.product.about import COPYRIGHT, LICENSE, runs_on, version
from core.product.files import DOCS, ICON, local_path
from gui.actions import keys_text, make_action

log = logging.getLogger(__name__)

Std = QKeySequence.StandardKey
SHORTCUTS = (("Space", "start / pause"), ("S (or → outside a text field)", "one step (a minibatch in batch mode)"),
             ("R", "reset"),
             ("Alt+← / Alt+→", "scrub the inspector over the recorded window"), ("P", "pin this run"),
             (["F12"], "save a screenshot"), (["Shift+F12"], "save a screenshot as…"),
             ([Std.Open], "open a session"), ([Std.Save], "save the session"),
             ([Std.SaveAs, "Ctrl+Shift+S"], "save the session as…"), ("Ctrl+R", "start / stop recording"),
             ([Std.Close], "close the window"), ([Std.Quit, "Ctrl+Q"], "quit"))  # lists: the keys the actions have


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do), the standard keys named as this platform binds them (gui.actions.keys_text)."""
    return [(keys if isinstance(keys, str) else keys_text(keys), what) for keys, what in SHORTCUTS]

ABOUT = ("<h3>GRU Memory Lab {version}</h3><p>Train a tiny GRU live and see, step by step, whether and how a "
         "recurrent network remembers.</p><p>It starts from a much-read question: an online GRU on random bits, "
         "asked for NOT of the previous input, that 'could not cope' — because the loss was taken on the raw GRU "
         "state. Try the <i>question</i>, <i>question-fixed</i> and <i>answer</i> presets, then longer lags "
         "with truncated BPTT against exact RTRL.</p>")


def versions() -> list[tuple[str, str]]:
    """(name, version) of the app and of what it runs on; Qt from the library loaded, torch from its metadata."""
    rows = [("GRU Memory Lab", version())]
    for name, v in runs_on():
        rows.append((name, v))
        if name == "PySide6":
            rows[-1] = ("Qt / PySide6", f"{qVersion()} / {pyside_version}")
    return rows


def about_html() -> str:
    table = "".join(f"<tr><td>{escape(k)}</td><td>&nbsp;&nbsp;{escape(v)}</td></tr>" for k, v in versions())
    return (ABOUT.format(version=escape(version())) + f"<table>{table}</table>"
            + f"<p>{escape(COPYRIGHT)}. {LICENSE} License (the LICENSE file; pip show -f gru-memory-lab lists it).</p>"
            + f"<p>Log folder: {escape(str(log_folder()))}</p>")


def _info(parent: QWidget, title: str, html: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Information, title, "", QMessageBox.Close, parent)
    box.setTextFormat(Qt.RichText)
    box.setText(html)
    box.open()  # window-modal, never blocks the event loop (training and drawing go on)
    return box


def show_shortcuts(parent: QWidget) -> QMessageBox:
    rows = "".join(f"<tr><td><b>{escape(k)}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in shortcut_rows())
    return _info(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(parent: QWidget) -> QMessageBox:
    return _info(parent, "About GRU Memory Lab", about_html())


# -- the log -------------------------------------------------------------------------------------------------
def log_folder() -> Path:
    """The window's log folder: GML_LOG_DIR, else <AppDataLocation>/logs."""
    if os.environ.get("GML_LOG_DIR"):
        return Path(os.environ["GML_LOG_DIR"])
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)) / "logs"


def start_logging(verbose: bool = False) -> Path | None:
    """The window's logging: the rotating file in log_folder(); on stderr only critical lines (the window's own
    one-line errors stay as they are), everything with --verbose. Called once the QApplication has its name (the
    folder depends on it)."""
    path = logs.setup(log_folder(), verbose=verbose, stderr_level=logging.CRITICAL)
    log.info("GRU Memory Lab %s started; log file %s", version(), path)
    return path


# -- opening files with the desktop --------------------------------------------------------------------------
def open_url(url: QUrl) -> bool:
    """QDesktopServices.openUrl (one place, so a test can stand in for the desktop)."""
    return QDesktopServices.openUrl(url)


def _say_error(parent: QWidget, text: str) -> None:
    bar = getattr(parent, "message", None)
    if bar is not None and hasattr(bar, "error"):
        bar.error(text)  # the message bar logs it too
    else:
        log.error(text)


def open_doc(parent: QWidget, name: str) -> Path | None:
    """Open a shipped doc ('docs/guide.md', 'claims.md') with the desktop's viewer; its path, or None after an
    error in the message bar."""
    path = local_path(name)
    if path is None:
        _say_error(parent, f"{name} is not installed with this copy of GRU Memory Lab")
        return None
    if not open_url(QUrl.fromLocalFile(str(path))):
        _say_error(parent, f"no program opened {path}")
        return None
    return path


def open_log_folder(parent: QWidget) -> Path | None:
    folder = logs.log_folder() or log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _say_error(parent, f"cannot make the log folder {folder}: {e.strerror or e}")
        return None
    if not open_url(QUrl.fromLocalFile(str(folder))):
        _say_error(parent, f"no program opened the log folder {folder}")
        return None
    return folder


# -- the menu and the icon -----------------------------------------------------------------------------------
def app_icon() -> QIcon:
    path = local_path(ICON)
    return QIcon(str(path)) if path is not None else QIcon()


def install(window, menu: QMenu) -> None:
    """Fill the Help menu (shortcuts, the docs, the log folder, About) and give the window and the app the icon."""
    icon = app_icon()
    window.setWindowIcon(icon)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setWindowIcon(icon)
    menu.addAction(make_action(window, "&Keyboard shortcuts", window.show_shortcuts))
    menu.addSeparator()
    for title, name in DOCS:
        menu.addAction(make_action(window, title, lambda _c=False, n=name: open_doc(window, n)))
    menu.addSeparator()
    menu.addAction(make_action(window, "Open &log folder", lambda _c=False: open_log_folder(window)))
    menu.addAction(make_action(window, "&About GRU Memory Lab", window.show_about))
