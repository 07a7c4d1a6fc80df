"""The Gradient tab: how far the online rule's gradient g is from the exact online gradient g* (a shadow RTRL on the
same trajectory, core/rules/fidelity.py), over the whole run: cos(g, g*) on [−1, 1] and |g|/|g*| on a log axis,
smoothed (core/smoothing.py), for the whole parameter vector or one group (or every group as thin lines), with the
Inspector's selected step marked. The lines end at the run's last step (points past it are not drawn). It says so
when fidelity is off (and how to turn it on), in batch mode and before any step. `take(snapshot)` follows every
snapshot (cheap: new points only); `draw(t)` redraws. `step_fidelity_html` is the Inspector's line for one step.
Colours are the theme's (gui.plots.theme)."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.config import Config
from core.learning_rules import CATALOGUE
from core.rules.fidelity_history import FIELDS, GROUPS, FidelityMirror
from core.smoothing import default_window
from gui.plots.style import style_plot
from gui.plots.theme import Palette, colour_scene, current, follow

OFF_TEXT = ("Gradient fidelity is off: tick 'fidelity' in the panel (costs one RTRL step per step) and Reset.")
BATCH_TEXT = ("Gradient fidelity applies to online rules only: batch mode trains with full BPTT over whole "
              "sequences, which is the exact gradient.")
EMPTY_TEXT = "No steps yet: press Step or Start; the fidelity is measured at every step trained."
EVERY = "every group"
REDRAW_S = 0.25  # s: while the run trains, the curves are redrawn at most this often


def rule_name(cfg: dict) -> str:
    """The run's rule as the catalogue labels it (core/learning_rules.py), e.g. "TBPTT(k=4)"; an unknown name as is."""
    t = cfg["train"]
    rule = CATALOGUE.get(t["rule"])
    return t["rule"] if rule is None else rule.display(t["window"])


def _num(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "n/a"


def step_fidelity_html(s, i: int) -> str:
    """The Inspector's line for row i of snapshot s: this step's cos(g, g*) and |g|/|g*| (whole vector), or ''
    when the run does not measure fidelity."""
    w = getattr(s, "fidelity_window", None)
    if w is None or not (0 <= i < len(w)):
        return ""
    row = dict(zip(FIELDS, (float(v) for v in w[i])))
    if not math.isfinite(row["cos_all"]):
        return "<br>gradient vs exact RTRL: not measured at this step"
    return (f"<br>gradient vs exact RTRL: cos(g, g*) = <b>{_num(row['cos_all'])}</b> &nbsp; "
            f"|g|/|g*| = <b>{_num(row['ratio_all'])}</b> &nbsp; (recurrent: cos {_num(row['cos_recurrent'])})")


class GradientView(QWidget):
    """cos(g, g*) and |g|/|g*| over the run, per group, smoothed, with the scrub marker."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("group"))
        self.group = QComboBox()
        for g in (*GROUPS, EVERY):
            self.group.addItem(g)
        self.group.setToolTip("Which parameters' gradient to compare: the whole vector (all), one group, or every "
                              "group as thin lines")
        self.group.currentIndexChanged.connect(self._group_changed)
        row.addWidget(self.group)
        row.addStretch(1)
        lay.addLayout(row)
        self.head = QLabel(EMPTY_TEXT)
        self.head.setWordWrap(True)
        self.head.setTextFormat(Qt.RichText)
        self.head.setAlignment(Qt.AlignTop | Qt.AlignLeft)  # with the plots hidden the message stays on top
        lay.addWidget(self.head)
        self.cos_plot = pg.PlotWidget()
        style_plot(self.cos_plot.getPlotItem(), "cos(g, g*): direction vs exact RTRL",
                   "cos", "step")
        self.cos_plot.setYRange(-1.05, 1.05, padding=0)
        self.cos_plot.getPlotItem().getViewBox().setLimits(yMin=-1.05, yMax=1.05)
        self.zero = pg.InfiniteLine(0, angle=0)
        self.cos_plot.addItem(self.zero)
        self.ratio_plot = pg.PlotWidget()
        style_plot(self.ratio_plot.getPlotItem(), "|g| / |g*|: size vs exact RTRL",
                   "ratio (log)", "step")
        self.ratio_plot.getPlotItem().setLogMode(y=True)
        self.ratio_plot.setXLink(self.cos_plot)
        for p in (self.cos_plot, self.ratio_plot):
            p.getPlotItem().addLegend(offset=(-6, 4), labelTextSize="8pt")
            lay.addWidget(p, 1)
        self.markers = [pg.InfiniteLine(angle=90, movable=False) for _ in range(2)]
        self.cos_plot.addItem(self.markers[0])
        self.ratio_plot.addItem(self.markers[1])
        self._curves: dict[tuple, pg.PlotDataItem] = {}
        self._drawn_at = -math.inf
        self.mirror = FidelityMirror()
        self.snap = None
        self._run = None
        self._window = 500
        self._t = None
        self.drawn_cos = np.zeros(0)  # the smoothed cos values last drawn (tests read it)
        self._show_plots(False)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The zero line, markers and plots in the theme's colours; the curves are drawn again in them."""
        self.zero.setPen(pg.mkPen(t.ref, style=Qt.DotLine))
        for mk in self.markers:
            mk.setPen(pg.mkPen(t.color("marker"), width=2))
        for p in (self.cos_plot, self.ratio_plot):
            colour_scene(p, t)
        if self._curves:
            self._drawn_at = -math.inf
            self.draw(self._t)

    # -- following the run --------------------------------------------------------------------------------
    def take(self, s) -> None:
        """Follow snapshot s: a new run clears the curves; new fidelity points are appended."""
        if s.run_id != self._run:
            self._run = s.run_id
            self.mirror.clear()
            self._drawn_at = -math.inf
            self._window = default_window(Config.from_dict(s.config))
        if s.fidelity_chunks is not None:
            self.mirror.apply(s.fidelity_chunks)
        self.snap = s

    def state_text(self) -> str:
        """What the view shows now, in words (also when it shows nothing)."""
        s = self.snap
        if s is None:
            return EMPTY_TEXT
        if s.mode == "batch":
            return BATCH_TEXT
        if s.fidelity_chunks is None:
            return OFF_TEXT
        if self.mirror.n == 0:
            return EMPTY_TEXT
        w = s.fidelity_window
        now = ""
        if w is not None and len(w) and math.isfinite(float(w[-1, 0])):
            now = (f" Latest step: cos {_num(float(w[-1, 0]))}, ratio {_num(float(w[-1, 1]))}.")
        return (f"<b>{rule_name(s.config)}</b> gradient g against exact RTRL's g* on the same run "
                f"(cos 1 and ratio 1: the exact gradient; cos near 0: it points elsewhere). "
                f"Smoothed over {self._window:,} steps.{now}")

    def _group_changed(self, _i: int) -> None:
        self._drawn_at = -math.inf
        self.draw(self._t)

    def _show_plots(self, on: bool) -> None:
        self.cos_plot.setVisible(on)
        self.ratio_plot.setVisible(on)
        self.group.setEnabled(on)

    # -- drawing ------------------------------------------------------------------------------------------
    def _curve(self, plot, key, pen, name=None) -> pg.PlotDataItem:
        c = self._curves.get(key)
        if c is None:
            c = self._curves[key] = plot.plot(pen=pen, name=name, connect="finite")
        return c

    def draw(self, t=None) -> None:
        """Redraw the curves (at most 4 times a second while the run trains) and put the marker on step t (the
        Inspector's selection; None hides it)."""
        self._t = t
        for mk in self.markers:
            mk.setVisible(t is not None)
            if t is not None:
                mk.setValue(t + 0.5)
        s, now = self.snap, time.perf_counter()
        if s is not None and s.running and now - self._drawn_at < REDRAW_S:
            return
        self._drawn_at = now
        self.head.setText(self.state_text())
        on = s is not None and s.mode == "online" and s.fidelity_chunks is not None and self.mirror.n > 0
        self._show_plots(on)
        if not on:
            return
        m = self.mirror
        k = min(m.n, -(-max(int(s.step), 0) // m.stride))  # the points that begin at or before the run's last step
        x = m.x()[:k]
        choice = self.group.currentText()
        groups = GROUPS if choice == EVERY else (choice,)
        theme = current()
        for c in self._curves.values():
            c.setVisible(False)
        self.drawn_cos = np.zeros(0)
        for g in groups:
            for p, kind in ((self.cos_plot, "cos"), (self.ratio_plot, "ratio")):
                y = m.smoothed(f"{kind}_{g}", self._window)[:k]
                if not np.isfinite(y).any():
                    continue
                if kind == "ratio":
                    y = np.where(y > 0, y, np.nan)
                if choice != EVERY:  # one group: the raw points faintly behind the smoothed line
                    raw = m.values(f"{kind}_{g}")[:k]
                    c = self._curve(p, (kind, "raw"), None)
                    c.setPen(pg.mkPen(theme.tint("all", 0.3), width=1))
                    c.setData(x, np.where(raw > 0, raw, np.nan) if kind == "ratio" else raw)
                    c.setVisible(True)
                    c.setZValue(-1)
                c = self._curve(p, (kind, g), None, name=g)
                c.setPen(pg.mkPen(theme.color(g), width=1 if choice == EVERY else 2))
                c.setData(x, y)
                c.setVisible(True)
                if kind == "cos" and not len(self.drawn_cos):
                    self.drawn_cos = y
        if not len(self.drawn_cos):
            self.head.setText(self.state_text() + f" Nothing measured for the group '{choice}' (the readout group "
                              "exists only with readout=linear).")
        self.cos_plot.setYRange(-1.05, 1.05, padding=0)
