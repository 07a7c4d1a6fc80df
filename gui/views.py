"""The live pyqtgraph views: bits (x, y, ŷ rows with wrong predictions marked), the hidden-state heatmap with
its colour bar and gate layers, and the whole-run loss and accuracy curves (peak-downsampled, clipped to view).

Each view takes a core.live.Snapshot and draws it; none of them touches the trainer.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.history import SeriesMirror

ROW_X, ROW_Y, ROW_P = 2.8, 1.4, 0.0  # baselines of the x, y and ŷ rows in the bits view
COL_X, COL_Y, COL_P, COL_BAD = "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728"
LAYERS = {"h": ("hidden state h", (-1.0, 1.0), "CET-D1"),
          "n": ("candidate n", (-1.0, 1.0), "CET-D1"),
          "z": ("update gate z", (0.0, 1.0), "viridis"),
          "r": ("reset gate r", (0.0, 1.0), "viridis")}


class CachedGrid(pg.GridItem):
    """An opaque light grid that redraws only when the visible range or size really changed at paint time
    (pyqtgraph's GridItem throws its picture away on every range signal, and auto-range emits several per
    frame even when the range ends up where it was)."""

    def __init__(self):
        super().__init__(pen=pg.mkPen((228, 228, 228), width=1), textPen=None)
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


class BitsView(pg.PlotWidget):
    """Input x, target y and prediction ŷ over the window, as rows of step traces."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "Bits: input, target, prediction", "", "timestep t", grid=False)
        p.setMenuEnabled(True)
        p.setMouseEnabled(x=True, y=False)
        self.legend = p.addLegend(offset=(4, 2), colCount=4, labelTextSize="9pt")
        self.c_x = p.plot(stepMode="center", pen=pg.mkPen(COL_X, width=2), name="input x")
        self.c_y = p.plot(stepMode="center", pen=pg.mkPen(COL_Y, width=2), name="target y")
        self.c_p = p.plot(stepMode="center", pen=pg.mkPen(COL_P, width=2), name="prediction ŷ")
        self.bad = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(COL_BAD, width=2), brush=COL_BAD,
                                      name="wrong: round(ŷ) ≠ y")
        p.addItem(self.bad)
        for base in (ROW_X, ROW_Y, ROW_P):
            p.addItem(pg.InfiniteLine(base, angle=0, pen=pg.mkPen((150, 150, 150), width=1, style=Qt.DotLine)))
        ax = p.getAxis("left")
        ax.setTicks([[(ROW_P + 0.5, "ŷ"), (ROW_Y + 0.5, "y"), (ROW_X + 0.5, "x")]])
        ax.setWidth(36)
        p.setYRange(-0.25, ROW_X + 2.6, padding=0)  # headroom above the x row for the legend
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9467bd", width=2))
        self.marker.setVisible(False)
        p.addItem(self.marker)

    def show_snapshot(self, s) -> None:
        W = len(s.x)
        if W == 0:
            for c in (self.c_x, self.c_y, self.c_p):
                c.setData([], [])
            self.bad.setData([], [])
            return
        edges = np.arange(s.t0, s.t0 + W + 1, dtype=np.float64)
        self.c_x.setData(edges, ROW_X + s.x * 0.9)
        self.c_y.setData(edges, ROW_Y + s.y * 0.9)
        self.c_p.setData(edges, ROW_P + np.clip(s.y_hat, -0.15, 1.15) * 0.9)
        wrong = np.flatnonzero((s.y_hat >= 0.5) != (s.y >= 0.5))
        self.bad.setData(s.t0 + wrong + 0.5, np.full(len(wrong), ROW_P + 1.2))
        self.getPlotItem().setXRange(s.t0, s.t0 + max(W, 10), padding=0.01)

    def mark(self, t: float | None) -> None:
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(t + 0.5)


class HiddenView(QWidget):
    """Units × time heatmap of h (or n, z, r) over the window, with a colour bar."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer = "h"
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layer:"))
        self.layer_box = QComboBox()
        for key, (label, _, _) in LAYERS.items():
            self.layer_box.addItem(f"{label} ({key})", key)
        self.layer_box.setToolTip("Which per-unit signal the heatmap shows")
        self.layer_box.currentIndexChanged.connect(self._layer_changed)
        bar.addWidget(self.layer_box)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.plot_widget = pg.PlotWidget()
        lay.addWidget(self.plot_widget, 1)
        p = self.plot_widget.getPlotItem()
        style_plot(p, "Hidden units over time", "unit", "timestep t", grid=False)
        p.setMouseEnabled(x=True, y=False)
        self.img = pg.ImageItem(axisOrder="col-major")
        p.addItem(self.img)
        label, levels, cmap = LAYERS["h"]
        self.cbar = pg.ColorBarItem(values=levels, colorMap=pg.colormap.get(cmap), interactive=False, width=14,
                                    label=label)
        self.cbar.setImageItem(self.img, insert_in=p)
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9467bd", width=2))
        self.marker.setVisible(False)
        p.addItem(self.marker)
        self._last = None

    @property
    def plot(self) -> pg.PlotItem:
        return self.plot_widget.getPlotItem()

    def set_layer(self, key: str) -> None:
        i = self.layer_box.findData(key)
        if i >= 0:
            self.layer_box.setCurrentIndex(i)

    def _layer_changed(self) -> None:
        self.layer = self.layer_box.currentData()
        label, levels, cmap = LAYERS[self.layer]
        self.cbar.setColorMap(pg.colormap.get(cmap))
        self.cbar.setLevels(levels)
        self.cbar.setLabel("right", label)  # a ColorBarItem is a PlotItem: its axis carries the label
        if self._last is not None:
            self.show_snapshot(self._last)

    def show_snapshot(self, s) -> None:
        self._last = s
        data = getattr(s, self.layer)
        W = data.shape[0]
        H = data.shape[1] if data.ndim == 2 else 0
        if W == 0 or H == 0:
            self.img.clear()
            return
        self.img.setImage(data, autoLevels=False, levels=LAYERS[self.layer][1])
        self.img.setRect(QRectF(s.t0, 0, W, H))
        p = self.plot
        p.setXRange(s.t0, s.t0 + max(W, 10), padding=0.01)
        p.setYRange(0, H, padding=0)
        step = max(1, H // 8)
        p.getAxis("left").setTicks([[(u + 0.5, str(u)) for u in range(0, H, step)]])

    def mark(self, t: float | None) -> None:
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(t + 0.5)


class CurveView(pg.PlotWidget):
    """A whole-run curve: raw (light) and smoothed (bold), plus per-epoch points in batch mode."""

    def __init__(self, title: str, ylabel: str, raw_name: str, smooth_name: str, epoch_name: str,
                 color: str, parent=None, capacity: int = 1 << 20):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, title, ylabel, "step")
        self.legend = p.addLegend(offset=(-6, 4), labelTextSize="9pt")
        c = pg.mkColor(color)  # the raw curve in a light tint of the colour, opaque: alpha blending is slow
        raw_col = pg.mkColor(*(int(255 - 0.3 * (255 - v)) for v in (c.red(), c.green(), c.blue())))
        self.raw = p.plot(pen=pg.mkPen(raw_col, width=1), name=raw_name)
        self.smooth = p.plot(pen=pg.mkPen(color, width=2), name=smooth_name)
        self.epochs = pg.PlotDataItem(pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=6,
                                      symbolBrush="#d62728")
        p.addItem(self.epochs)
        self.epoch_name = epoch_name
        self._epoch_in_legend = False
        # The curves get only what can be seen: the visible span as a min/max envelope of ~2 points per pixel
        # (SeriesMirror.envelope), so a frame costs O(visible points) in NumPy, never pyqtgraph's per-point
        # work on a million points (its downsampling, clipping and bounds run on the few points we pass).
        self.mirror = SeriesMirror(capacity)
        self.log_y = False
        self._run = None
        self.show_raw = True
        self._drawn_span = None
        p.getViewBox().sigXRangeChanged.connect(self._range_changed)
        # The x range follows the run with 25% headroom, so it stays the same for many frames and the axis and
        # grid are not re-laid out on every frame as the run grows; a zoom or pan by hand stops the following,
        # and the auto-range button ("A") resumes it.
        self._follow_x = True
        self._extent_x = 0.0
        vb = p.getViewBox()
        vb.enableAutoRange(x=False)
        vb.sigRangeChangedManually.connect(self._manual_range)

    def set_show_raw(self, on: bool) -> None:
        self.show_raw = bool(on)
        if not on:
            self.legend.removeItem(self.raw)
        self._redraw()

    def set_smoothing(self, w: float) -> None:
        self.mirror.set_smoothing(w)
        self._redraw()

    def set_log(self, on: bool) -> None:
        self.log_y = bool(on)
        self.getPlotItem().setLogMode(y=self.log_y)
        self._redraw()

    # -- overlays: fixed curves drawn over the view (pinned runs) -----------------------------------------
    def add_overlay(self, x: np.ndarray, y: np.ndarray, pen) -> pg.PlotDataItem:
        return self.getPlotItem().plot(x, self._y(y), pen=pen)

    def remove_overlay(self, item: pg.PlotDataItem) -> None:
        self.legend.removeItem(item)
        self.getPlotItem().removeItem(item)

    def name_overlay(self, item: pg.PlotDataItem, text: str) -> None:
        self.legend.removeItem(item)
        self.legend.addItem(item, text)

    def _y(self, v: np.ndarray) -> np.ndarray:
        return np.maximum(v, 1e-8) if self.log_y else v

    def _span(self) -> tuple[int, int] | None:
        """The mirror's index range in view (with a point of margin each side); None when all of it is."""
        m = self.mirror
        vb = self.getPlotItem().getViewBox()
        if vb.autoRangeEnabled()[0]:
            return None
        x0, x1 = vb.viewRange()[0]
        i0, i1 = int(math.floor(x0 / m.stride)) - 1, int(math.ceil(x1 / m.stride)) + 1
        return None if i0 <= 0 and i1 >= m.n else (max(i0, 0), min(max(i1, 0), m.n))

    def _bins(self) -> int:
        w = self.getPlotItem().getViewBox().width()
        return max(256, 2 * int(w)) if w > 0 else 4096  # bins of at most one pixel: the envelope is exact

    def _range_changed(self, *_a) -> None:
        span = self._span()
        if span is None and self._drawn_span is None:
            return  # all of it was drawn already (auto range following the data)
        self._redraw()

    def _redraw(self) -> None:
        m = self.mirror
        span = self._span()
        i0, i1 = span if span is not None else (0, m.n)
        bins = self._bins()
        if self.show_raw:
            x, y = m.envelope(i0, i1, bins)
            self.raw.setData(x, self._y(y))
        else:
            self.raw.setData([], [])
        self.raw.setVisible(self.show_raw)
        x, y = m.envelope(i0, i1, bins, smoothed=True)
        self.smooth.setData(x, self._y(y))
        self._drawn_span = span
        self._follow(float(m.n * m.stride))

    def _manual_range(self, *_a) -> None:
        self._follow_x = False

    def _follow(self, end: float) -> None:
        vb = self.getPlotItem().getViewBox()
        if vb.autoRangeEnabled()[0]:  # the user pressed auto-range: follow the run again, with headroom
            self._follow_x = True
            self._extent_x = 0.0
            vb.enableAutoRange(x=False)
        if not self._follow_x:
            return
        if end > self._extent_x or end < 0.5 * self._extent_x:  # past the headroom, or a new, shorter run
            self._extent_x = max(end * 1.25, 10.0)
            vb.setXRange(0.0, self._extent_x, padding=0.02)

    def show_snapshot(self, s, chunk, epoch_values=None) -> None:
        if self._run != s.run_id:
            self._run = s.run_id
            self.mirror.clear()
        self.mirror.apply(chunk)
        self._redraw()
        batch = s.mode == "batch"
        if batch != self._epoch_in_legend:  # the per-epoch entry is in the legend in batch mode only
            if batch:
                self.legend.addItem(self.epochs, self.epoch_name)
            else:
                self.legend.removeItem(self.epochs)
            self._epoch_in_legend = batch
        if epoch_values is not None and len(epoch_values):
            xs = np.arange(1, len(epoch_values) + 1) * max(s.batches_per_epoch, 1)
            self.epochs.setData(xs, self._y(np.asarray(epoch_values, dtype=np.float64)))
        else:
            self.epochs.setData([], [])
