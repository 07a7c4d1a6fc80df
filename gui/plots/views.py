"""The live window views: bits (x, y, ŷ rows with wrong predictions marked) and the hidden-state heatmap with
its colour bar and the layers of the run's cell (core.snapshot.CELL_LAYERS: GRU h, n, z, r; LSTM h, c, i, f, g,
o; RNN h; chosen at the heatmap's top right). What the x axis counts is said in the title,
which leaves the plot area the height an axis label would take. The whole-run loss and accuracy curves are
gui.plots.curves.CurveView; the shared plot styling is gui.plots.style.

Each view takes a core.snapshot.Snapshot and draws it; none of them touches the trainer. Colours and colour maps
are the theme's (gui.plots.theme): each view re-colours itself when the theme changes (`apply_theme`).
"""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QVBoxLayout, QWidget

from core.formatting import step_number
from core.snapshot import CELL_LAYERS
from gui.plots.empty_note import EmptyNote
from gui.plots.style import fit_to_view, outside_legend, style_plot
from gui.plots.theme import Palette, colour_scene, follow

ROW_X, ROW_Y, ROW_P = 2.8, 1.4, 0.0  # baselines of the x, y and ŷ rows in the bits view
LAYERS = {"h": ("hidden state h", (-1.0, 1.0), "diverging"),  # the map: the theme's Palette.diverging
          "n": ("candidate n", (-1.0, 1.0), "diverging"),  # the GRU's
          "z": ("update gate z", (0.0, 1.0), "sequential"),
          "r": ("reset gate r", (0.0, 1.0), "sequential"),
          "c": ("cell state c", (-2.0, 2.0), "diverging"),  # the LSTM's: c is not bounded; beyond ±2 saturates
          "i": ("input gate i", (0.0, 1.0), "sequential"),
          "f": ("forget gate f", (0.0, 1.0), "sequential"),
          "g": ("cell candidate g", (-1.0, 1.0), "diverging"),
          "o": ("output gate o", (0.0, 1.0), "sequential")}


def crisp_svg(text: str) -> str:
    """An exported SVG whose embedded images (the heatmap: one pixel per cell) every viewer draws cell by cell,
    never smoothed: Qt writes only SVG 1.1's image-rendering="optimizeSpeed", which browsers ignore."""
    return re.sub(r"<image ([^>]*?)image-rendering=\"optimizeSpeed\"",
                  r'<image \1image-rendering="optimizeSpeed" style="image-rendering:pixelated"', text)


BITS_TITLE = "Bits: input, target, prediction"


def heatmap_title(layer: str, mode: str = "online") -> str:
    """The heatmap's title, naming the layer shown: "Units over time: update gate z"."""
    return time_title(f"Units over time: {LAYERS[layer][0]}", mode)


def time_title(title: str, mode: str) -> str:
    """A window view's title with what its x axis counts: steps of the stream online (numbered from 1), the
    probe sequence's timesteps (also from 1) in batch mode."""
    unit = "timestep of the probe sequence" if mode == "batch" else "step"
    return f"<span style='font-size:11pt'><b>{title}</b></span> <span style='font-size:9pt'>by {unit}</span>"


def set_title(plot: pg.PlotItem, html: str, **opts) -> None:
    """Set the title only when it changes (setting the same text still re-lays out the plot)."""
    if plot.titleLabel.text != html:
        plot.setTitle(html, **opts)


class BitsView(pg.PlotWidget):
    """Input x, target y and prediction ŷ over the window, as rows of step traces."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, BITS_TITLE, "", "", grid=False)
        p.setTitle(time_title(BITS_TITLE, "online"))
        p.showLabel("bottom", False)
        p.setMenuEnabled(True)
        p.setMouseEnabled(x=True, y=False)
        self.legend = outside_legend(p, 4)
        self.c_x = p.plot(stepMode="center", name="input x")
        self.c_y = p.plot(stepMode="center", name="target y")
        self.c_p = p.plot(stepMode="center", name="prediction ŷ")
        self.bad = pg.ScatterPlotItem(symbol="x", size=9, name="wrong (round ŷ ≠ y)")
        p.addItem(self.bad)
        self.rows = [pg.InfiniteLine(base, angle=0) for base in (ROW_X, ROW_Y, ROW_P)]
        for line in self.rows:
            p.addItem(line)
        ax = p.getAxis("left")
        ax.setTicks([[(ROW_P + 0.5, "ŷ"), (ROW_Y + 0.5, "y"), (ROW_X + 0.5, "x")]])
        ax.setWidth(36)
        p.setYRange(-0.25, ROW_X + 1.3, padding=0)
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.marker.setVisible(False)
        p.addItem(self.marker)
        self.empty = EmptyNote(p)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The rows, marks and marker in the theme's colours, and the plot's own (background, axes, legend)."""
        for curve, role in ((self.c_x, "x"), (self.c_y, "y"), (self.c_p, "p")):
            curve.setPen(pg.mkPen(t.color(role), width=2))
        self.bad.setPen(pg.mkPen(t.color("wrong"), width=2))
        self.bad.setBrush(pg.mkBrush(t.color("wrong")))
        for line in self.rows:
            line.setPen(pg.mkPen(t.ref, width=1, style=Qt.DotLine))
        self.marker.setPen(pg.mkPen(t.color("marker"), width=2))
        self.empty.apply_theme(t)
        colour_scene(self, t)

    def show_snapshot(self, s) -> None:
        W = len(s.view.x)
        self.empty.show(W == 0)
        if W == 0:
            for c in (self.c_x, self.c_y, self.c_p):
                c.setData([], [])
            self.bad.setData([], [])
            return
        set_title(self.getPlotItem(), time_title(BITS_TITLE, s.mode))
        edges = np.arange(s.view.t0, s.view.t0 + W + 1, dtype=np.float64) + 0.5  # row t spans step_number(t) ± 0.5
        self.c_x.setData(edges, ROW_X + s.view.x * 0.9)
        self.c_y.setData(edges, ROW_Y + s.view.y * 0.9)
        self.c_p.setData(edges, ROW_P + np.clip(s.view.y_hat, -0.15, 1.15) * 0.9)
        wrong = np.flatnonzero((s.view.y_hat >= 0.5) != (s.view.y >= 0.5))
        self.bad.setData(step_number(s.view.t0) + wrong, np.full(len(wrong), ROW_P + 1.2))
        self.getPlotItem().setXRange(s.view.t0 + 0.5, s.view.t0 + 0.5 + max(W, 10), padding=0.01)

    def mark(self, t: float | None) -> None:
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(step_number(t))

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        cols = 4 if self.width() >= 500 else 2  # a narrow view gets two rows of entries, none cut off
        legend = self.__dict__.get("legend")  # None while the view is still being built
        if legend is not None and legend.columnCount != cols:
            legend.setColumnCount(cols)


class HiddenView(QWidget):
    """Units × time heatmap of h (or another layer of the run's cell) over the window, with a colour bar."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer = "h"
        self.mode = "online"
        self.cell = ""
        self.wanted: str | None = None  # a layer asked for that the shown cell lacks: taken when a cell has it
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot_widget = pg.PlotWidget()
        lay.addWidget(self.plot_widget, 1)
        self.layer_box = QComboBox(self)  # over the title's row, at its right: it costs no height
        self.set_cell("gru")
        self.layer_box.setToolTip("Which per-unit signal the heatmap shows")
        self.layer_box.currentIndexChanged.connect(self._layer_changed)
        p = self.plot_widget.getPlotItem()
        style_plot(p, "Hidden units over time", "unit", "", grid=False)
        p.showLabel("bottom", False)
        p.setTitle(heatmap_title("h"), justify="left")
        p.setMouseEnabled(x=True, y=False)
        self.img = pg.ImageItem(axisOrder="col-major")
        p.addItem(self.img)
        label, levels, _kind = LAYERS["h"]
        self.cbar = pg.ColorBarItem(values=levels, colorMap=pg.colormap.get("viridis"), interactive=False,
                                    width=14, label=label)
        self.cbar.setImageItem(self.img, insert_in=p)
        self.cbar.setMinimumWidth(72)  # its ticks and label: a short plot's layout must not squeeze it away
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.marker.setVisible(False)
        p.addItem(self.marker)
        self.empty = EmptyNote(p)
        self._last = None
        self.theme: Palette | None = None
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The theme's colour map for the layer shown (a dark-middled one on a dark background), marker, note
        and the plot's own colours."""
        self.theme = t
        self.cbar.setColorMap(pg.colormap.get(self.colour_map()))
        self.marker.setPen(pg.mkPen(t.color("marker"), width=2))
        self.empty.apply_theme(t)
        colour_scene(self.plot_widget, t)

    def colour_map(self) -> str:
        """The name of the colour map the layer shown uses in the theme shown."""
        return getattr(self.theme, LAYERS[self.layer][2])

    @property
    def plot(self) -> pg.PlotItem:
        return self.plot_widget.getPlotItem()

    def layers(self) -> list[str]:
        """The layers offered now: the shown cell's."""
        return [self.layer_box.itemData(i) for i in range(self.layer_box.count())]

    def set_cell(self, cell: str) -> None:
        """Offer the cell's layers; the layer shown stays if the cell has it (else a wanted one, else h)."""
        if cell == self.cell:
            return
        self.cell = cell
        keys = CELL_LAYERS[cell]
        keep = self.wanted if self.wanted in keys else (self.layer if self.layer in keys else "h")
        box = self.layer_box
        box.blockSignals(True)
        box.clear()
        for key in keys:
            box.addItem(f"layer: {LAYERS[key][0]} ({key})", key)
        box.blockSignals(False)
        if keep == self.wanted:
            self.wanted = None
        box.setCurrentIndex(box.findData(keep))
        if self.layer != keep:
            self._layer_changed()
        box.setEnabled(len(keys) > 1)
        self._place_box()

    def fill_layer_menu(self, menu) -> None:
        """Make `menu` (a QMenu, refilled each time it opens) offer the shown cell's layers, the shown one checked."""
        def refill() -> None:
            menu.clear()
            for key in self.layers():
                a = menu.addAction(f"{LAYERS[key][0]} ({key})")
                a.setCheckable(True)
                a.setChecked(key == self.layer)
                a.triggered.connect(lambda _c=False, k=key: self.set_layer(k))
        menu.aboutToShow.connect(refill)
        refill()

    def set_layer(self, key: str) -> None:
        i = self.layer_box.findData(key)
        self.wanted = None if i >= 0 else key
        if i >= 0:
            self.layer_box.setCurrentIndex(i)

    def _layer_changed(self) -> None:
        self.layer = self.layer_box.currentData()
        label, levels, _kind = LAYERS[self.layer]
        self.cbar.setColorMap(pg.colormap.get(self.colour_map()))
        self.cbar.setLevels(levels)
        self.cbar.getAxis("left").setLabel(label)  # where ColorBarItem put the first label: one label, replaced
        self.plot.setTitle(heatmap_title(self.layer, self.mode), justify="left")
        if self._last is not None:
            self.show_snapshot(self._last)

    def show_snapshot(self, s) -> None:
        self._last = s
        self.set_cell(s.view.cell)
        data = s.view.layer(self.layer)
        W = data.shape[0]
        H = data.shape[1] if data.ndim == 2 else 0
        self.empty.show(W == 0 or H == 0)
        if W == 0 or H == 0:
            self.img.clear()
            return
        self.img.setImage(data, autoLevels=False, levels=LAYERS[self.layer][1])
        self.img.setRect(QRectF(s.view.t0 + 0.5, 0, W, H))  # column t spans step_number(t) ± 0.5
        p = self.plot
        self.mode = s.mode
        set_title(p, heatmap_title(self.layer, s.mode), justify="left")
        p.setXRange(s.view.t0 + 0.5, s.view.t0 + 0.5 + max(W, 10), padding=0.01)
        p.setYRange(0, H, padding=0)
        fit = max(2, int(p.getViewBox().height() // 16))  # a unit's label every 16 px at most: none overlap
        step = max(1, -(-H // fit))
        p.getAxis("left").setTicks([[(u + 0.5, str(u)) for u in range(0, H, step)]])
        fit_to_view(p)  # laid out while wider than it is now, the colour bar would hang past the right edge

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        self._place_box()

    def _place_box(self) -> None:
        box = self.layer_box
        box.adjustSize()
        box.move(max(0, self.width() - box.width() - 6), 3)
        box.raise_()

    def mark(self, t: float | None) -> None:
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(step_number(t))

