"""Recording what a widget draws: grab it into fixed-size RGB frames for a `Recorder`, and the red indicator.

* `grab_rgb(widget, size, label)` renders the widget (the window or one view) into an (H, W, 3) uint8 array of
  exactly `size`; if the widget was resized since the clip began, the picture is scaled to fit and centred on
  the theme's plot background (an encoder needs one frame size for the whole clip). `label` (e.g.
  `step_label(1200)`, "step 1,200") is drawn into the frame's bottom-left corner, white on an opaque dark box
  (`label_rect` says where), so every frame says which training step it shows.
* `WidgetRecorder` ties a widget, a `core.recording.recorder.Recorder` and a `core.recording.schedule.StepSchedule`:
  call `frame_drawn(step)` after each drawn frame (e.g. from the window's `frame_shown` signal: live capture);
  a lockstep recording (gui/recording/lockstep.py) asks `schedule.frames_due` itself and `record(step, n)`s
  when the encoder has room. `frame_drawn` grabs the
  widget when a frame is due (frames spaced evenly in training steps) and hands it to the encoder thread as one
  picture for all the frames due. The window never waits for the encoder: while the encoder is behind (a busy
  machine; it runs at a lower priority than training), the frames due are given the picture recorded before
  (counted in `held_over`) and the widget is not grabbed, so the clip keeps its length in steps with fewer
  distinct pictures. Errors are `RecordingError`s, whose message is meant for the user.
* `RecordIndicator` is a small label for the toolbar: a red dot, the elapsed time and the file's size so far,
  refreshed twice a second from anything with `elapsed_s` and `bytes_written`; then the finished file's path.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QEvent, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from core.recording.recorder import Recorder
from core.recording.schedule import DEFAULT_STEPS_PER_FRAME, StepSchedule
from gui.plots.theme import current


def capture_size(widget: QWidget, max_side: int = 2048) -> tuple[int, int]:
    """The frame size for a clip of `widget`: its size in device pixels, even (H.264 needs it), at most
    `max_side` pixels on its longer side."""
    dpr = widget.devicePixelRatioF()
    w, h = max(2, round(widget.width() * dpr)), max(2, round(widget.height() * dpr))
    scale = min(1.0, max_side / max(w, h))
    return max(2, int(w * scale) & ~1), max(2, int(h * scale) & ~1)


def step_label(step: int) -> str:
    """The text a recorded frame carries: the training step it shows."""
    return f"step {int(step):,}"


def _label_font(size: tuple[int, int]) -> QFont:
    font = QFont()
    font.setPixelSize(max(9, min(16, size[1] // 40)))
    font.setBold(True)
    return font


def label_rect(size: tuple[int, int], text: str) -> QRect:
    """Where `draw_label` puts `text` in a frame of `size` = (w, h): a box in the bottom-left corner."""
    m = QFontMetrics(_label_font(size))
    pad = max(2, m.height() // 4)
    w, h = min(size[0], m.horizontalAdvance(text) + 2 * pad), min(size[1], m.height() + pad)
    return QRect(0, size[1] - h, w, h)


def draw_label(img: QImage, text: str) -> None:
    """Draw `text` white on an opaque dark box into `img`'s bottom-left corner (label_rect)."""
    size = (img.width(), img.height())
    box = label_rect(size, text)
    painter = QPainter(img)
    painter.fillRect(box, QColor(32, 32, 32))
    painter.setFont(_label_font(size))
    painter.setPen(QColor("white"))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()


def grab_rgb(widget: QWidget, size: tuple[int, int], label: str | None = None) -> np.ndarray:
    """What `widget` draws now, as an (h, w, 3) uint8 RGB array of exactly `size` = (w, h), `label` drawn in."""
    w, h = size
    QApplication.sendPostedEvents(None, QEvent.LayoutRequest)  # pending layouts first (a legend just resized)
    img = widget.grab().toImage()
    if (img.width(), img.height()) != (w, h):
        scaled = img.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        canvas = QImage(w, h, QImage.Format.Format_RGB888)
        canvas.fill(QColor(current().plot_bg))  # the margins in the theme shown
        painter = QPainter(canvas)
        painter.drawImage((w - scaled.width()) // 2, (h - scaled.height()) // 2, scaled)
        painter.end()
        img = canvas
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    if label:
        draw_label(img, label)
    stride = img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()  # the QImage owns `buf`


class WidgetRecorder:
    """Records `widget` into `path` (its suffix picks the format), one frame every `steps_per_frame` steps."""

    def __init__(self, widget: QWidget, path, fps: float = 15.0, steps_per_frame: int = DEFAULT_STEPS_PER_FRAME,
                 size: tuple[int, int] | None = None, background: bool = True, labels: bool = True):
        self.widget, self.labels = widget, labels
        self.size = size or capture_size(widget)
        self.schedule = StepSchedule(steps_per_frame)
        self.recorder = Recorder(path, self.size, fps, background=background)  # RecordingError on a bad path
        self.held_over = 0  # frames given the picture before them because the encoder was behind

    def frame_drawn(self, step: int) -> int:
        """After the widget drew the state at `step`: record it as many times as frames are due (often 0)."""
        n = self.schedule.frames_due(step)
        if n and self.recorder.pictures and self.recorder.busy:
            self.recorder.extend(n)  # the encoder is behind: the picture before stands for these frames too
            self.held_over += n
        elif n:
            self.record(step, n)
        return n

    def record(self, step: int | None, repeat: int = 1) -> None:
        """Grab the widget now (labelled with `step`) as one picture for `repeat` frame times; waits while the
        encoder's queue is full."""
        label = step_label(step) if self.labels and step is not None else None
        self.recorder.add_frame(grab_rgb(self.widget, self.size, label), repeat=repeat)

    def capture(self, step: int | None = None) -> None:
        """Record one frame now, whatever the schedule (the state that ends a clip, or one in wall time)."""
        self.record(step)

    def finish(self) -> Path:
        return self.recorder.finish()

    def abort(self) -> None:
        self.recorder.abort()


class _Progress(Protocol):
    elapsed_s: float
    bytes_written: int


def format_size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1000**2:
        return f"{n / 1000:.0f} kB"
    return f"{n / 1000**2:.1f} MB"


def format_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class RecordIndicator(QLabel):
    """'● REC 0:12 · 1.3 MB' while recording (hidden otherwise); `show_saved(path)` names the finished file."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setToolTip("Recording: elapsed time and the file's size so far")
        self._source: _Progress | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        self.hide()

    def start(self, source: _Progress) -> None:
        self._source = source
        self.refresh()
        self.show()
        self._timer.start()

    def refresh(self) -> None:
        if self._source is None:
            return
        dot = f'<span style="color:{current().color("rec")}">&#9679;</span>'
        self.setText(f"{dot} REC {format_elapsed(self._source.elapsed_s)} · {format_size(self._source.bytes_written)}")

    def stop(self) -> None:
        """Stop showing the recording (after an abort or a failure; the caller shows why)."""
        self._timer.stop()
        self._source = None
        self.hide()

    def show_saved(self, path: Path, size: int) -> None:
        """The recording was saved: show its full path and size until the next start."""
        self._timer.stop()
        self._source = None
        self.setText(html.escape(f"Saved {path} ({format_size(size)})"))  # a rich-text label: the name is text
        self.setToolTip(html.escape(str(path)))
        self.show()
