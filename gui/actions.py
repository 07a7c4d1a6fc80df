"""The one helper that makes a QAction: text, slot, shortcuts, and a tooltip that names the shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence


def make_action(parent: QObject, text: str, slot, keys=(), tip: str = "") -> QAction:
    """A QAction parented to `parent`; `keys` are shortcut strings ("Ctrl+S"), listed in the tooltip."""
    a = QAction(text, parent)
    if keys:
        a.setShortcuts([QKeySequence(k) for k in keys])
        tip = f"{tip} ({' or '.join(QKeySequence(k).toString() for k in keys)})"
    a.setToolTip(tip.strip())
    a.setStatusTip(tip.strip())
    a.triggered.connect(slot)
    return a
