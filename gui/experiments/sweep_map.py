"""The sweep map widget: one cell per axis value (pair), coloured by the fraction of its learners that learned so
far, with k/S written in it, the axes' names and values, and a colour bar. The colours and cell texts are
core.sweep.render's (so the window, the PNG and the SVG agree); the background, labels and each cell's text (black or
white, whichever reads better on the cell) follow the theme (gui.plots.theme). Clicking a cell emits its index."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.sweep.render import PENDING, STOPS, colour
from gui.plots.theme import Palette, current, follow, readable_on


class SweepMap(QWidget):
    cell_clicked = Signal(int)  # the cell's index in the plan

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMouseTracking(True)
        self.x_field = self.y_field = ""
        self.xs: list[str] = []
        self.ys: list[str] = []
        self.cells: dict[tuple[int, int], dict] = {}  # (ix, iy) -> {"index", "k", "n", "S", "done"}
        self.empty_text = "No sweep yet: pick the axes and press Run."
        follow(self.apply_theme)

    def apply_theme(self, _t: Palette) -> None:
        self.update()  # painted in the theme's colours

    # -- model ------------------------------------------------------------------------------------------------
    def set_grid(self, x_field: str, xs: list[str], y_field: str, ys: list[str], cells: list[tuple]) -> None:
        """cells: (index, ix, iy, S) per cell; all start pending."""
        self.x_field, self.xs, self.y_field, self.ys = x_field, list(xs), y_field, list(ys) or [""]
        self.cells = {(ix, iy): {"index": i, "k": 0, "n": 0, "S": s, "done": False} for i, ix, iy, s in cells}
        self.update()

    def clear(self, text: str) -> None:
        self.cells, self.xs, self.ys = {}, [], []
        self.empty_text = text
        self.update()

    def set_cell(self, ix: int, iy: int, k: int, n: int, done: bool) -> None:
        c = self.cells.get((ix, iy))
        if c is not None and (c["k"], c["n"], c["done"]) != (k, n, done):
            c.update(k=k, n=n, done=done)
            self.update()

    def cell_text(self, ix: int, iy: int) -> str:
        c = self.cells[(ix, iy)]
        if c["n"] == 0:
            return "…"
        return f"{c['k']}/{c['n']}" if c["done"] else f"{c['k']}/{c['n']}…"

    def fraction(self, ix: int, iy: int) -> float | None:
        c = self.cells[(ix, iy)]
        return c["k"] / c["n"] if c["n"] else None

    # -- geometry ---------------------------------------------------------------------------------------------
    def _frame(self) -> tuple[float, float, float, float, float]:
        """left, top, cell width, cell height, colour bar x."""
        left, top, right, bottom = 52.0, 8.0, 66.0, 40.0
        w = max(1.0, (self.width() - left - right) / max(1, len(self.xs)))
        h = max(1.0, (self.height() - top - bottom) / max(1, len(self.ys)))
        return left, top, w, h, left + w * len(self.xs) + 12

    def cell_rect(self, ix: int, iy: int) -> QRectF:
        left, top, w, h, _ = self._frame()
        return QRectF(left + ix * w, top + iy * h, w, h)  # the first y value on top, as in the PNG

    def cell_at(self, x: float, y: float) -> int | None:
        for (ix, iy), c in self.cells.items():
            if self.cell_rect(ix, iy).contains(x, y):
                return c["index"]
        return None

    def mousePressEvent(self, ev) -> None:
        i = self.cell_at(ev.position().x(), ev.position().y())
        if i is not None and ev.button() == Qt.LeftButton:
            self.cell_clicked.emit(i)
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        i = self.cell_at(ev.position().x(), ev.position().y())
        self.setCursor(Qt.PointingHandCursor if i is not None else Qt.ArrowCursor)
        super().mouseMoveEvent(ev)

    # -- drawing ----------------------------------------------------------------------------------------------
    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, False)
        t = current()
        p.fillRect(self.rect(), QColor(t.plot_bg))
        if not self.cells:
            p.setPen(QColor(t.muted))
            p.drawText(self.rect().adjusted(10, 10, -10, -10), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            return
        left, top, w, h, bar_x = self._frame()
        font = QFont(p.font())
        font.setPointSizeF(max(7.0, min(11.0, min(w, h) / 4.2)))
        for (ix, iy), _c in self.cells.items():
            r = self.cell_rect(ix, iy)
            f = self.fraction(ix, iy)
            rgb = colour(f) if f is not None else PENDING
            p.fillRect(r, QColor(*rgb))
            p.setPen(QPen(QColor(t.plot_bg), 1))
            p.drawRect(r)
            p.setFont(font)
            p.setPen(readable_on(QColor(*rgb)))
            p.drawText(r, Qt.AlignCenter, self.cell_text(ix, iy))
        p.setPen(QColor(t.plot_fg))
        small = QFont(p.font())
        small.setPointSizeF(8.5)
        p.setFont(small)
        n_rows = len(self.ys)
        for ix, lab in enumerate(self.xs):
            p.drawText(QRectF(left + ix * w, top + n_rows * h + 2, w, 14), Qt.AlignCenter, lab)
        p.drawText(QRectF(left, top + n_rows * h + 18, w * len(self.xs), 16), Qt.AlignCenter, self.x_field)
        if self.y_field:
            for iy, lab in enumerate(self.ys):
                p.drawText(QRectF(left - 34, top + iy * h, 30, h), Qt.AlignRight | Qt.AlignVCenter, lab)
            p.save()
            p.translate(12, top + n_rows * h / 2)
            p.rotate(-90)
            p.drawText(QRectF(-60, -8, 120, 16), Qt.AlignCenter, self.y_field)
            p.restore()
        self._colour_bar(p, bar_x, top, n_rows * h)
        p.end()

    def _colour_bar(self, p: QPainter, x: float, top: float, height: float) -> None:
        grad = QLinearGradient(0, top + height, 0, top)
        for at, rgb in STOPS:
            grad.setColorAt(at, QColor(*rgb))
        bar = QRectF(x, top, 12, height)
        p.fillRect(bar, grad)
        p.setPen(QColor(current().plot_fg))
        p.drawRect(bar)
        for v in (0.0, 0.5, 1.0):
            y = top + height * (1 - v)
            p.drawText(QRectF(x + 15, y - 8, 30, 16), Qt.AlignLeft | Qt.AlignVCenter, f"{v:g}")
        p.save()
        p.translate(x + 46, top + height / 2)
        p.rotate(90)
        p.drawText(QRectF(-60, -8, 120, 16), Qt.AlignCenter, "fraction learned")
        p.restore()
