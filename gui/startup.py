"""The window's first seconds: until the training child says Ready, the status bar and the empty plots' titles
say "starting the trainer…" (a Start pressed meanwhile is queued, and the status bar says so); then they are
as the views made them. The note is in the theme's warning colour (gui.plots.theme).

With GML_TIMING=1 in the environment it also prints two flushed lines on stdout, read by bench/launch.py:

    GML_TIMING first-frame <time.time()>   once, after the main window painted for the first time
    GML_TIMING ready <time.time()>         once, when the training child reported it is ready
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer

from gui.plots.theme import current
from gui.window.status_line import STARTING

TIMING_ENV = "GML_TIMING"


def starting_note() -> str:
    """The note a plot's title carries while the trainer starts, in the theme's warning colour."""
    return f"<span style='font-size:10pt; color:{current().warn}'> — {STARTING}</span>"


def timing_mark(event: str) -> None:
    """Print one GML_TIMING line (only when GML_TIMING=1)."""
    if os.environ.get(TIMING_ENV) == "1":
        print(f"{TIMING_ENV} {event} {time.time():.6f}", flush=True)
        sys.stdout.flush()


class Startup(QObject):
    """`plots` are pyqtgraph PlotItems whose titles carry the note while the trainer starts; `status` the
    window's StatusLine. Call `ready(info)` when the child's Ready arrives (or at once if it already has)."""

    def __init__(self, window, status, plots, parent=None):
        super().__init__(parent)
        self.window, self.status = window, status
        self.is_ready = False
        self._titles = []  # (plot, title before, title shown while starting)
        for p in plots:
            before = p.titleLabel.text
            shown = f"{before}{starting_note()}"
            p.setTitle(shown)
            self._titles.append((p, before, shown))
        status.show_starting()
        self._painted = False
        if os.environ.get(TIMING_ENV) == "1":
            window.installEventFilter(self)

    def ready(self, info: dict) -> None:
        if self.is_ready:
            return
        self.is_ready = True
        self.status.show_device(info)
        for p, before, shown in self._titles:
            if p.titleLabel.text == shown:  # a view that renamed itself meanwhile keeps its new title
                p.setTitle(before)
        self._titles.clear()
        timing_mark("ready")

    def eventFilter(self, obj, event) -> bool:
        if not self._painted and obj is self.window and event.type() == QEvent.Paint:
            self._painted = True
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, lambda: timing_mark("first-frame"))  # after this paint is done
        return False
