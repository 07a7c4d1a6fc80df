"""Help ▸ Keyboard shortcuts and Help ▸ About: window-modal boxes that never block the event loop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

SHORTCUTS = (("Space", "start / pause"), ("S (or → outside a text field)", "one step (a minibatch in batch mode)"),
             ("R", "reset"),
             ("Alt+← / Alt+→", "scrub the inspector over the recorded window"), ("P", "pin this run"),
             ("Ctrl+S", "save a screenshot"), ("Ctrl+Shift+S", "save a screenshot as…"),
             ("Ctrl+O", "open a session"), ("Ctrl+Alt+S", "save the session"), ("Ctrl+R", "start / stop recording"),
             ("Ctrl+Q", "quit"))

ABOUT = ("<h3>GRU Memory Lab</h3><p>Train a tiny GRU live and see, step by step, whether and how a recurrent "
         "network remembers.</p><p>It starts from a much-read question: an online GRU on random bits, asked "
         "for NOT of the previous input, that 'could not cope' — because the loss was taken on the raw GRU "
         "state. Try the <i>question</i>, <i>question-fixed</i> and <i>answer</i> presets, then longer lags "
         "with truncated BPTT against exact RTRL.</p>")


def _info(parent: QWidget, title: str, html: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Information, title, "", QMessageBox.Close, parent)
    box.setTextFormat(Qt.RichText)
    box.setText(html)
    box.open()  # window-modal, never blocks the event loop (training and drawing go on)
    return box


def show_shortcuts(parent: QWidget) -> QMessageBox:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
    return _info(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(parent: QWidget) -> QMessageBox:
    return _info(parent, "About GRU Memory Lab", ABOUT)
