"""A whole-run curve view (loss or accuracy): the raw values faint behind a smoothed line (a debiased EMA over
a window in steps, core.smoothing), per-epoch points in batch mode, reference lines (the constant-predictor
loss, the base rate, the solved line: core.analysis.verdict.references), the inspector's step marked, and a legend
under the plot area, never over the data: the reference lines are named there too (dashed), so no label sits on
the curve, and its entries fill as many columns as the width holds. The smoothed line's entry says what it is at
this step ("mean over the last 42 steps" until the run is as long as the window).

Steps are numbered from 1 (core.formatting.step_number): the point of the record with stream index t is drawn
at x = t + 1, so the marker, the status bar and the Inspector name the same step. Colours are roles of the theme
(gui.plots.theme): the view re-colours its lines when the theme changes.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.analysis.verdict import references
from core.formatting import sig, step_number
from core.history import SeriesMirror
from gui.plots.empty_note import EmptyNote
from gui.plots.style import fit_legend_columns, legend_entry_text, outside_legend, style_plot
from gui.plots.theme import Palette, colour_scene, current, follow

DEFAULT_WEIGHT = 0.6  # the smoothing control's default position; it means the run's default window


def smoothing_window(weight: float, default_steps: float) -> float:
    """The window in steps that the smoothing control's position means: 0 = off; the default position (0.60)
    = the run's default window (core.smoothing.default_window); each 0.4 up or down = 10x longer or shorter."""
    if weight <= 0:
        return 0.0
    return float(default_steps) * 10.0 ** ((float(weight) - DEFAULT_WEIGHT) / 0.4)


def loss_references(cfg) -> list[tuple[float, str, str, bool, float]]:
    """The loss plot's line: the constant-predictor loss (always predicting the mean target)."""
    ref = references(cfg)
    return [(ref.constant_loss, f"constant predictor {sig(ref.constant_loss, 3)}", "ref", False, 1.0)]


def accuracy_references(cfg) -> list[tuple[float, str, str, bool, float]]:
    """The accuracy plot's lines: the base rate (always answering the majority class) and the solved line."""
    ref = references(cfg)
    return [(ref.base_rate, f"base rate {ref.base_rate:.2f} (always {ref.majority})", "ref", True, 0.03),
            (ref.solved, f"solved {ref.solved:.2f}", "solved", True, 1.0)]


class CurveView(pg.PlotWidget):
    """A whole-run curve: raw (faint) and smoothed (bold), plus per-epoch points in batch mode. `color`: a role
of the theme's palette ("loss", "accuracy") or a colour."""

    def __init__(self, title: str, ylabel: str, raw_name: str, smooth_name: str, epoch_name: str,
                 color: str, parent=None, capacity: int = 1 << 20):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, title, ylabel, "")
        self.title = title
        self.unit = ""
        self.set_unit("step")
        self.legend = outside_legend(p, 4)
        self.setMinimumHeight(150)  # title, axis, legend and a plot area that still shows its lines
        self.color = color
        self.raw_name, self.smooth_name = raw_name, smooth_name
        self.raw = p.plot(name=raw_name)
        self.raw.setZValue(-10)
        self.smooth = p.plot(name=smooth_name, symbolPen=None, symbolSize=7)
        self.epochs = pg.PlotDataItem(symbol="o", symbolSize=6)
        p.addItem(self.epochs)
        self.epoch_name = epoch_name
        self._epoch_in_legend = False
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.marker.setVisible(False)
        p.addItem(self.marker)
        self.empty = EmptyNote(p)
        self.ref_lines: list[tuple[float, pg.InfiniteLine, str, pg.PlotDataItem]] = []  # (value, line, label,
        # its legend sample): the reference lines drawn
        self._ref_roles: list[str] = []  # each reference line's colour role
        self._smooth_steps, self._smooth_unit, self._covered = 0.0, "steps", 0
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
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """Lines, points, reference lines and marker in the theme's colours; the raw curve a faint opaque tint of
        the smoothed one's colour (alpha blending is slow to paint)."""
        color = t.color(self.color)
        self.raw.setPen(pg.mkPen(t.tint(color), width=1))
        self.smooth.setPen(pg.mkPen(color, width=2))
        self.smooth.setSymbolBrush(color)
        self.epochs.setPen(pg.mkPen(t.color("epochs"), width=2))
        self.epochs.setSymbolBrush(t.color("epochs"))
        self.marker.setPen(pg.mkPen(t.color("marker"), width=2))
        for (_v, line, _label, sample), role in zip(self.ref_lines, self._ref_roles):
            pen = pg.mkPen(t.color(role), width=1, style=Qt.DashLine)
            line.setPen(pen)
            sample.setPen(pen)
        self.empty.apply_theme(t)
        colour_scene(self, t)

    # -- settings -----------------------------------------------------------------------------------------
    def set_unit(self, unit: str) -> None:
        """What the x axis counts ("step" online, "minibatch" in batch mode): said in the title, which leaves
        the plot area the height an axis label would take."""
        if unit != self.unit:
            self.unit = unit
            self.getPlotItem().setTitle(f"<span style='font-size:11pt'><b>{self.title}</b></span> "
                                        f"<span style='font-size:9pt'>by {unit}</span>")
            self.getPlotItem().showLabel("bottom", False)

    def set_show_raw(self, on: bool) -> None:
        self.show_raw = bool(on)
        if not on:
            self.legend.removeItem(self.raw)
            self._fit_legend()
        self._redraw()

    def set_smoothing(self, w: float) -> None:
        """A fixed EMA weight per point (TensorBoard's slider); the window prefers set_smoothing_window."""
        self.mirror.set_smoothing(w)
        legend_entry_text(self.legend, self.smooth, self.smooth_name)
        self._redraw()

    def set_smoothing_window(self, steps: float, unit: str = "steps") -> None:
        """A debiased EMA over `steps` steps (0 = off), the same at any zoom and resolution."""
        self.mirror.set_smoothing_window(steps)
        self._smooth_steps, self._smooth_unit = float(steps), unit
        self._name_smoothed()
        self._redraw()

    def smoothing_text(self) -> str:
        """The smoothed line's legend entry, true at this step: a run shorter than the window is averaged over
        all of its steps so far."""
        base = self.smooth_name.replace(" (smoothed)", "")
        steps, unit, done = self._smooth_steps, self._smooth_unit, self._covered
        if steps < 1:
            return f"{base} (not smoothed)"
        if 0 < done < steps:
            last = f"the last {unit[:-1]}" if done == 1 else f"the last {done:,} {unit}"
            return f"{base} (mean over {last})"
        return f"{base} (mean over ~{steps:,.0f} {unit})"

    def _name_smoothed(self) -> None:
        for sample, label in self.legend.items:
            if sample.item is self.smooth and label.text != self.smoothing_text():
                legend_entry_text(self.legend, self.smooth, self.smoothing_text())
                self._fit_legend()

    def set_log(self, on: bool) -> None:
        self.log_y = bool(on)
        self.getPlotItem().setLogMode(y=self.log_y)
        self._place_refs()
        self._redraw()

    # -- reference lines and the scrub marker -------------------------------------------------------------
    def set_references(self, lines) -> None:
        """Horizontal reference lines: an iterable of (value, label, colour role, label_below, label_at); replaces
        the ones drawn. label_at: where along the line (0 left, 1 right) its label sits, above or below it, where
        the curve seldom is; the label has a light fill, so a curve under it does not make it unreadable."""
        p = self.getPlotItem()
        for _v, line, _label, sample in self.ref_lines:
            p.removeItem(line)
            self.legend.removeItem(sample)
        self.ref_lines, self._ref_roles = [], []
        for value, label, role, _below, _at in lines:
            pen = pg.mkPen(current().color(role), width=1, style=Qt.DashLine)
            self._ref_roles.append(role)
            line = pg.InfiniteLine(angle=0, movable=False, pen=pen)
            line.setZValue(-5)
            p.addItem(line)
            sample = pg.PlotDataItem(pen=pen)  # never drawn: the legend's sample of the dashed line
            self.legend.addItem(sample, label)
            self.ref_lines.append((float(value), line, label, sample))
        self._place_refs()
        self._fit_legend()

    def _place_refs(self) -> None:
        for value, line, _label, _sample in self.ref_lines:
            line.setValue(math.log10(max(value, 1e-8)) if self.log_y else value)

    def references(self) -> list[tuple[float, str]]:
        """(value, label) of each reference line drawn."""
        return [(v, label) for v, _line, label, _sample in self.ref_lines]

    def mark(self, t: int | None) -> None:
        """Mark the step with stream index t (the Inspector's selection); None hides the marker."""
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(step_number(t))

    # -- overlays: fixed curves drawn over the view (pinned runs) -----------------------------------------
    def add_overlay(self, x: np.ndarray, y: np.ndarray, pen) -> pg.PlotDataItem:
        item = self.getPlotItem().plot(np.asarray(x) + 0.5, self._y(y), pen=pen)
        item.setZValue(-2)  # under the current run's line
        return item

    def remove_overlay(self, item: pg.PlotDataItem) -> None:
        self.legend.removeItem(item)
        self.getPlotItem().removeItem(item)

    def name_overlay(self, item: pg.PlotDataItem, text: str) -> None:
        self.legend.removeItem(item)
        self.legend.addItem(item, text)

    # -- drawing ------------------------------------------------------------------------------------------
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
        # x + 0.5: the point of stride s covering steps i*s+1 .. (i+1)*s sits at their centre (step 1 at x = 1)
        if self.show_raw:
            x, y = m.envelope(i0, i1, bins)
            self.raw.setData(x + 0.5, self._y(y))
        else:
            self.raw.setData([], [])
        self.raw.setVisible(self.show_raw)
        x, y = m.envelope(i0, i1, bins, smoothed=True)
        self.smooth.setSymbol("o" if m.n == 1 else None)  # one point is no line: draw it as a dot
        self.smooth.setData(x + 0.5, self._y(y))
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

    def _new_run(self) -> None:
        """A new run: its curves, and ranges that forget the last run's (a diverged run's 2e+38 included)."""
        self.mirror.clear()
        self.marker.setVisible(False)
        vb = self.getPlotItem().getViewBox()
        self._follow_x, self._extent_x = True, 10.0  # the new run's range from its first step, not the last run's
        vb.setXRange(0.0, self._extent_x, padding=0.02)
        if vb.autoRangeEnabled()[1]:  # a y range that follows the data starts over from the new run's
            vb.setYRange(0.0, 1.0, padding=0)
            vb.enableAutoRange(y=True)

    def show_snapshot(self, s, chunk, epoch_values=None) -> None:
        if self._run != s.run_id:
            self._run = s.run_id
            self._new_run()
        self.mirror.apply(chunk)
        self.empty.show(self.mirror.n == 0)
        self._covered = self.mirror.n * self.mirror.stride  # the steps (or minibatches) the curve holds
        self._name_smoothed()  # cheap: the label is set only when its text changes
        self._redraw()
        batch = s.mode == "batch"
        if batch != self._epoch_in_legend:  # the per-epoch entry is in the legend in batch mode only
            if batch:
                self.legend.addItem(self.epochs, self.epoch_name)
            else:
                self.legend.removeItem(self.epochs)
            self._epoch_in_legend = batch
            self._fit_legend()
        if epoch_values is not None and len(epoch_values):
            xs = np.arange(1, len(epoch_values) + 1) * max(s.view.batches_per_epoch, 1)
            self.epochs.setData(xs, self._y(np.asarray(epoch_values, dtype=np.float64)))
        else:
            self.epochs.setData([], [])

    def _fit_legend(self) -> None:
        fit_legend_columns(self.legend, self.width())

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        if "legend" in self.__dict__:  # not while the view is still being built
            self._fit_legend()
