"""`EmptyNote`: the line a plot shows while it has nothing to show ("No steps yet: press Start (Space) or Step
(S)"), centred in its view box in pixels (it never moves with the data range), hidden once data arrives. Its
colours are the theme's (`apply_theme`, called by its view)."""

from __future__ import annotations

import pyqtgraph as pg

from gui.plots.theme import Palette, current

NO_STEPS = "No steps yet: press Start (Space) or Step (S)"


class EmptyNote:
    def __init__(self, plot: pg.PlotItem, text: str = NO_STEPS):
        self.vb = plot.getViewBox()
        self.item = pg.TextItem(text, anchor=(0.5, 0.5))
        self.apply_theme(current())
        self.item.setParentItem(self.vb)  # the view box's own pixels, not the data's coordinates
        self.item.setZValue(100)
        self.vb.sigResized.connect(self._place)
        self._place()

    def apply_theme(self, p: Palette) -> None:
        """The note in the theme's muted text on a nearly opaque plot background."""
        self.item.setColor(p.muted)
        fill = pg.mkColor(p.plot_bg)
        fill.setAlpha(235)
        self.item.fill = pg.mkBrush(fill)
        self.item.update()

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
