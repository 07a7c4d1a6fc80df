"""Plot styling shared by every pyqtgraph view: titles, axis labels and tick fonts, a cheap cached grid, and
legends placed in a row of their own under the plot area (never over the data). Colours come from the theme
(gui.plots.theme)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from gui.plots.theme import current


class CachedGrid(pg.GridItem):
    """An opaque grid in the theme's grid colour that redraws only when the visible range or size really changed
    at paint time (pyqtgraph's GridItem throws its picture away on every range signal, and auto-range emits several per
    frame even when the range ends up where it was)."""

    def __init__(self):
        super().__init__(pen=pg.mkPen(current().grid, width=1), textPen=None)
        self.setZValue(-100)
        self._drawn_key = None

    def _key(self):
        vb = self.getViewBox()
        return None if vb is None else (tuple(map(tuple, vb.viewRange())), vb.width(), vb.height())

    def viewRangeChanged(self):
        pg.UIGraphicsItem.viewRangeChanged(self)  # new bounds and an update; the picture is judged in paint

    def paint(self, p, opt, widget):
        key = self._key()
        if key is None or key != self._drawn_key:
            self.picture = None
            self._drawn_key = key
        super().paint(p, opt, widget)


def style_plot(plot: pg.PlotItem, title: str, left: str, bottom: str, grid: bool = True) -> None:
    """The house look of a plot: a bold title, the axis labels, 9 pt ticks without SI prefixes, a CachedGrid."""
    plot.setTitle(f"<span style='font-size:11pt'><b>{title}</b></span>")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    if grid:
        # an opaque light grid item: the axes' own alpha-blended grid made every frame ~5x dearer to paint
        plot.addItem(CachedGrid())
    font = QFont()
    font.setPointSize(9)
    for ax in ("left", "bottom"):
        plot.getAxis(ax).setTickFont(font)
        plot.getAxis(ax).enableAutoSIPrefix(False)


class OutsideLegend(pg.LegendItem):
    """A legend placed by its plot's layout (a row of its own), not anchored over the plot area."""

    def setOffset(self, offset) -> None:  # noqa: N802 (Qt naming): the layout places it, an offset would not
        self.offset = None

    def updateSize(self) -> None:  # noqa: N802 (Qt naming)
        """pyqtgraph's resize puts the legend at (0, 0), over the title; the layout puts it back in its row."""
        super().updateSize()
        self.updateGeometry()
        layout = self.parentLayoutItem()
        if layout is not None:
            layout.invalidate()


def legend_entry_text(legend: pg.LegendItem, item, text: str) -> None:
    """Rename `item`'s legend entry (if it has one) without re-adding it."""
    for sample, label in legend.items:
        if sample.item is item:
            label.setText(text)
            legend.updateSize()
            return


def fit_title(plot: pg.PlotItem, title: str, sub: str = "") -> None:
    """A bold title and a smaller note after it, on one line when the plot is wide enough, else on two; the
    title never makes the plot wider than its view (its right part would be cut off)."""
    head = f"<span style='font-size:11pt'><b>{title}</b></span>"
    note = f"<span style='font-size:9pt'>{sub}</span>" if sub else ""
    label = plot.titleLabel
    scene = plot.scene()
    views = [v.range.width() for v in (scene.views() if scene is not None else ()) if hasattr(v, "range")]
    width = min([plot.geometry().width() or 400, *views])
    plot.setTitle(f"{head} {note}".strip())
    two = bool(sub) and label.item.boundingRect().width() > width - 40  # the label row pads its text too
    if two:
        plot.setTitle(f"{head}<br>{note}")
    height = 46 if two else 30
    label.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)
    if not getattr(label, "_any_width", False):  # LabelItem sets its text's width as its minimum on every
        label._any_width = True                   # text and resize: the title may be cut, the plot never
        own = label.updateMin

        def update_min():
            own()
            label.setMinimumWidth(0)
            label._sizeHint[Qt.SizeHint.MinimumSize] = (0, label._sizeHint[Qt.SizeHint.MinimumSize][1])
            label.updateGeometry()

        label.updateMin = update_min
    label.updateMin()
    fit_to_view(plot)


def fit_to_view(plot: pg.PlotItem) -> None:
    """A plot laid out while something in it asked for more width than its view has keeps that width (its right
    part hangs past the edge, cut off) until the next resize: fit it to its view again."""
    scene = plot.scene()
    for view in scene.views() if scene is not None else ():
        rng = getattr(view, "range", None)
        if rng is not None and view.centralWidget is plot and plot.geometry().width() > rng.width() + 1:
            plot.setGeometry(rng)


def fit_legend_columns(legend: pg.LegendItem, width: float, gap: float = 16.0) -> int:
    """As many columns as `width` px holds side by side (each column as wide as its widest entry), at least one;
    the legend is re-laid out only when the count changes. Returns the count."""
    widths = [20 + label.item.boundingRect().width() + gap for _sample, label in legend.items]  # natural widths
    cols = max(1, len(widths))
    while cols > 1:
        need = sum(max(widths[c::cols]) for c in range(cols))
        if need <= width - 30:  # the y axis's width is not the legend's
            break
        cols -= 1
    if legend.columnCount != cols:
        legend.setColumnCount(cols)
    return cols


def outside_legend(plot: pg.PlotItem, cols: int) -> pg.LegendItem:
    """A legend in its own row under the plot (below the x axis) (it never covers the data); it scales
    with an exported picture like the rest of the plot."""
    legend = OutsideLegend(colCount=cols, labelTextSize="8pt", frame=False, verSpacing=-8)
    legend.setFlag(legend.GraphicsItemFlag.ItemIgnoresTransformations, False)
    plot.layout.addItem(legend, 4, 1)
    plot.legend = legend  # PlotItem.plot(name=...) adds its entries here
    return legend
