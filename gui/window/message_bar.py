"""The message bar: a dismissable in-window banner for notices (blue) and errors (red), never a blocking
dialog, and the recent messages of each kind (bounded: a long session cannot grow them without end). Messages
are shown as plain text: a file named `<h1>…` or a config value cannot fake or hide a message. Every message is
logged too (errors at error level, notices at info), so the log file keeps what the bar showed. Its colours are
the theme's banner colours (gui.plots.theme), kept when the theme changes."""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from gui.plots.theme import Palette, current, follow

KEEP = 200  # the most recent notices and errors kept (for tests, automation and a future message log)
log = logging.getLogger(__name__)


class MessageBar(QWidget):
    """Shows the latest notice or error; `notices` and `errors` hold the last KEEP of each, oldest first."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.PlainText)  # messages carry file names and file contents: never markup
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.text, 1)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(close)
        self.setAutoFillBackground(True)
        self.level = None
        self.notices: deque[str] = deque(maxlen=KEEP)
        self.errors: deque[str] = deque(maxlen=KEEP)
        self.hide()
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The banner of the level shown in the theme's colours (notice: blue, error: red)."""
        fg, bg, border = t.banners.get(self.level or "info", t.banners["info"])
        self.setStyleSheet(f"MessageBar {{ background: {bg}; border: 1px solid {border}; border-radius: 3px; }}"
                           f" QLabel {{ color: {fg}; }}")

    def notice(self, text: str) -> None:
        self.notices.append(text)
        log.info("notice: %s", text)
        self.show_message(text, "info")

    def error(self, text: str) -> None:
        self.errors.append(text)
        log.error("error shown: %s", text)
        self.show_message(text, "error")

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level if level in current().banners else "info"
        self.apply_theme(current())
        self.text.setText(text)
        self.show()
