"""Views of the snapshot's analysis (core/analysis/inspection.py) and of RTRL's sensitivities: the hidden-state
portrait, the memory probe, the diagnosis hints and the sensitivity norms. None computes a statistic of its own.
The plots scale to the dock: titles go on two lines when narrow (never widening the plot past its view), the probe
shows every k, and its sentences wrap. Colours are the theme's (gui.plots.theme); each view re-colours itself when
the theme changes."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from gui.plots.style import fit_title, style_plot
from gui.plots.theme import Palette, colour_scene, current, follow

LABEL_ROLES = {0: "class0", 1: "class1", -1: "unlabelled"}  # the theme's colours of x[t−lag] = 0, 1, unknown
PROBE_FLOOR = 0.01  # a probe whose best R² is below this decodes nothing
PROBE_EMPTY = "nothing decodable: no memory of x[t−k] in h[t]\n(held-out R² below 0.01 at every k)"
PROBE_NONE = "No probe yet: train a few steps (Step or Start)."
VERDICT_ROLE = {"learned": "good", "partly": "warn", "base-rate": "bad", "diverged": "bad", "not-run": "muted"}


class PortraitView(pg.PlotWidget):
    """h[t] in 2-D (the units for 2 units, else PCA over the window), coloured by x[t−lag]."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "Hidden-state portrait", "", "")
        self.legend = p.addLegend(offset=(4, 4), labelTextSize="9pt")
        self.sc = {}
        for lab, name in ((0, "x[t−lag] = 0"), (1, "x[t−lag] = 1"), (-1, "unknown (before the window)")):
            self.sc[lab] = pg.ScatterPlotItem(size=6, pen=None)
            p.addItem(self.sc[lab])
            if lab != -1:  # points before the window (label unknown) are grey and need no legend entry
                self.legend.addItem(self.sc[lab], name)
        self.sel = pg.ScatterPlotItem(size=16, brush=None, symbol="o")
        p.addItem(self.sel)
        self.note = pg.TextItem(anchor=(0, 0))
        p.addItem(self.note)
        self.a = None
        self._title = ("Hidden-state portrait", "")
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        for lab, sc in self.sc.items():
            c = pg.mkColor(t.color(LABEL_ROLES[lab]))
            c.setAlpha(150)
            sc.setBrush(c)
        self.sel.setPen(pg.mkPen(t.plot_fg, width=2))
        self.note.setColor(t.plot_fg)
        colour_scene(self, t)

    def show_analysis(self, a, lag: int) -> None:
        self.a = a
        p = self.getPlotItem()
        if a is None or a.portrait is None:
            for sc in self.sc.values():
                sc.setData([], [])
            return
        pts, lab = a.portrait.points, a.portrait_labels
        ok = np.isfinite(pts).all(axis=1)
        for k, sc in self.sc.items():
            m = ok & (lab == k)
            sc.setData(pts[m, 0], pts[m, 1])
        p.setLabel("bottom", a.portrait.labels[0])
        p.setLabel("left", a.portrait.labels[1])
        self._title = ("Hidden-state portrait", f"(colour: x[t−{lag}]; separation {a.separation:.2f})")
        fit_title(p, *self._title)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        if "_title" in self.__dict__:
            fit_title(self.getPlotItem(), *self._title)

    def mark(self, t) -> None:
        a = self.a
        if a is None or a.portrait is None or t is None:
            self.sel.setData([], [])
            return
        i = t - a.portrait_t0
        if 0 <= i < len(a.portrait.points):
            self.sel.setData([a.portrait.points[i, 0]], [a.portrait.points[i, 1]])
        else:
            self.sel.setData([], [])


class MemoryProbeView(pg.PlotWidget):
    """How well a linear probe decodes x[t−k] from h[t], for k = 0…K (held-out R², 0 = chance)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "Memory probe: decoding x[t−k] from h[t]", "held-out R² (0 = chance, 1 = exact)", "k")
        p.setYRange(0, 1.05, padding=0)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=current().color("bars"))
        p.addItem(self.bars)
        self.lag_line = pg.InfiniteLine(angle=90)
        p.addItem(self.lag_line)
        self.empty = pg.TextItem("", anchor=(0.5, 0.5))
        p.addItem(self.empty)
        self.probe = None
        self._shown: tuple | None = None  # the analysis and lag drawn, drawn again in a new theme
        self._title = ("Memory probe: decoding x[t−k] from h[t]", "")
        self._say(PROBE_NONE)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        self.lag_line.setPen(pg.mkPen(t.color("lag"), width=1, style=Qt.DashLine))
        self.empty.setColor(t.muted)
        colour_scene(self, t)
        if self._shown is not None:
            self.show_analysis(*self._shown)

    def _say(self, text: str) -> None:
        """A line in the middle of the chart when there is nothing to draw ('' hides it)."""
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        self.empty.setTextWidth(max(120.0, self.getPlotItem().getViewBox().width() - 24))  # long sentences wrap
        x0, x1 = self.getPlotItem().getViewBox().viewRange()[0]
        self.empty.setPos((x0 + x1) / 2, 0.5)

    def message(self) -> str:
        """What the chart says instead of bars ('' when it draws bars)."""
        return self.empty.toPlainText() if self.empty.isVisible() else ""

    def show_analysis(self, a, lag: int) -> None:
        pr = a.probe if a is not None else None
        self.probe, self._shown = pr, (a, lag)
        if pr is None:
            self.bars.setOpts(x=[], height=[])
            self._say(PROBE_NONE)
            return
        sc = np.nan_to_num(pr.score, nan=0.0)
        t = current()
        brushes = [t.color("lag") if k == lag else t.color("bars") for k in pr.lags]
        self.bars.setOpts(x=pr.lags, height=sc, brushes=brushes)
        self.lag_line.setValue(lag)
        self._title = (f"Memory probe: decoding x[t−k] from {getattr(a, 'probe_reads', 'h[t]')}",
                       f"<span style='color:{t.color('lag')}'>(red: the task's lag, k = {lag})</span>")
        fit_title(self.getPlotItem(), *self._title)
        self.getPlotItem().setXRange(-0.6, pr.lags[-1] + 0.6, padding=0)
        if float(np.max(sc, initial=0.0)) >= PROBE_FLOOR:
            self._say("")
        elif np.isnan(pr.score).all() and pr.reason:  # nothing could be scored: say why
            self._say(f"No probe: {pr.reason}")
        else:
            self._say(PROBE_EMPTY)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        if "_title" in self.__dict__:
            fit_title(self.getPlotItem(), *self._title)
            if self.empty.isVisible():
                self._say(self.empty.toPlainText())

class HintsView(QLabel):
    """The run's verdict (once it reached its end) and the diagnosis hints in plain words, errors first."""

    ICON = {"error": "✖", "warning": "⚠", "info": "ℹ"}
    ROLE = {"error": "bad", "warning": "warn", "info": "info"}  # the theme's text colours
    ORDER = ("error", "warning", "info")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.setStyleSheet("QLabel { padding: 6px; }")
        self.codes: set[str] = set()
        self.levels: dict[str, str] = {}  # code -> level of the hints shown
        self.verdict = None
        self.hints = ()
        follow(self.apply_theme)

    def apply_theme(self, _t: Palette) -> None:
        self.show_hints(self.hints, self.verdict)

    def show_hints(self, hints, verdict=None) -> None:
        self.codes = {h.code for h in hints}
        self.levels = {h.code: h.level for h in hints}
        self.verdict, self.hints = verdict, tuple(hints)
        t = current()
        parts = []
        if verdict is not None:
            c = t.color(VERDICT_ROLE.get(verdict.code, "fg"))
            parts.append(f"<p style='font-size:11pt'><b style='color:{c}'>Verdict: {html.escape(verdict.text)}"
                         "</b></p>")
        if not hints:
            parts.append(f"<p style='color:{t.good}'><b>✓ No problems detected.</b></p>"
                         f"<p style='color:{t.muted}'>Hints appear here when the setup or the live numbers show a "
                         "known failure: a raw readout, a truncation window shorter than the lag, accuracy at "
                         "the base rate, a rising or non-finite loss, vanishing updates.</p>")
        for level in self.ORDER:
            for h in (h for h in hints if h.level == level):
                c = t.color(self.ROLE.get(level, "fg"))
                parts.append(f"<p><b style='color:{c}'>{self.ICON.get(level, '')} {html.escape(h.title)}</b>"
                             f"<br>{html.escape(h.text)}</p>")
        self.setText("".join(parts))


class SensitivityView(pg.PlotWidget):
    """RTRL: the norm of dh/dθ per parameter group (how strongly each group's past shapes the state)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "RTRL sensitivity ‖∂h/∂θ‖ per parameter group", "norm", "")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        p.addItem(self.bars)
        self.empty = pg.TextItem("Choose learning rule = rtrl to see RTRL's sensitivities.", anchor=(0.5, 0.5))
        p.addItem(self.empty)
        self.norms = {}
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        self.bars.setOpts(brush=t.color("sensitivity"))
        self.empty.setColor(t.muted)
        colour_scene(self, t)

    def show_norms(self, norms: dict) -> None:
        self.norms = dict(norms or {})
        p = self.getPlotItem()
        if not self.norms:
            self.bars.setOpts(x=[], height=[])
            self.empty.setVisible(True)
            self.empty.setPos(0.5, 0.5)
            p.setXRange(0, 1)
            p.setYRange(0, 1)
            return
        self.empty.setVisible(False)
        keys = list(self.norms)
        self.bars.setOpts(x=np.arange(len(keys)), height=[self.norms[k] for k in keys])
        p.getAxis("bottom").setTicks([[(i, k) for i, k in enumerate(keys)]])
        p.setXRange(-0.6, len(keys) - 0.4, padding=0)
        p.enableAutoRange(axis="y")
