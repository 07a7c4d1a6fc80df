"""`EmptyNote`: the line a plot shows while it has nothing to show ("No steps yet: press Start (Space) or Step
(S)"), centred in its view box in pixels (it never moves with the data range), hidden once data arrives."""

from __future__ import annotations

import pyqtgraph as pg

NO_STEPS = "No steps yet: press Start (Space) or Step (S)"


class EmptyNote:
    def __init__(self, plot: pg.PlotItem, text: str = NO_STEPS):
        self.vb = plot.getViewBox()
        self.item = pg.TextItem(text, color=(90, 90, 90), anchor=(0.5, 0.5), fill=pg.mkBrush(255, 255, 255, 235))
        self.item.setParentItem(self.vb)  # the view box's own pixels, not the data's coordinates
        self.item.setZValue(100)
        self.vb.sigResized.connect(self._place)
        self._place()

    def _place(self, *_a) -> None:
        r = self.vb.boundingRect()
        self.item.setPos(r.width() / 2, r.height() / 2)

    def show(self, on: bool) -> None:
        if self.item.isVisible() != on:  # only a change costs a repaint
            self.item.setVisible(on)

    @property
    def shown(self) -> bool:
        return self.item.isVisible()

    @property
    def text(self) -> str:
        return self.item.textItem.toPlainText()
