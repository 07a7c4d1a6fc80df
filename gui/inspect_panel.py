"""The inspection panels: a step inspector with scrubbing, the hidden-state portrait, the memory probe, the
diagnosis hints, RTRL's sensitivity norms, and pinned runs to compare. They show what core/analysis.py and
the snapshot carry; nothing here computes a statistic of its own.
"""

from __future__ import annotations

import html
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.analysis import run_label
from core.config import Config

from .seeds_panel import SeedsPanel
from .views import style_plot

LABEL_COLORS = {0: "#1f77b4", 1: "#d62728", -1: "#b0b0b0"}
PIN_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
MAX_PINS = 6


def _par(v: float) -> str:
    """A value for an equation: negatives in parentheses, with a true minus sign."""
    return f"({v:.3f})".replace("-", "−") if v < 0 else f"{v:.3f}"


def _fmt(v: float) -> str:
    return f"{v:+.3f}" if np.isfinite(v) else "nan"


class Inspector(QWidget):
    """One step's numbers: x, y, ŷ, loss, and per unit h[t−1], r, z, n, h[t], with the equations filled in."""

    selected = Signal(object)  # the selected step index t (or None when following the latest)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.follow = QCheckBox("follow latest")
        self.follow.setChecked(True)
        self.follow.setToolTip("Show the newest step; untick (or move the slider) to inspect an earlier one")
        self.follow.toggled.connect(self._follow_toggled)
        row.addWidget(self.follow)
        row.addWidget(QLabel("unit"))
        self.unit = QSpinBox()
        self.unit.setRange(0, 0)
        self.unit.setToolTip("Which unit the equations show")
        self.unit.valueChanged.connect(self._refresh)
        row.addWidget(self.unit)
        row.addStretch(1)
        lay.addLayout(row)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setToolTip("Scrub over the recorded window (while paused); Alt+←/Alt+→ move one step")
        self.slider.valueChanged.connect(self._slider_moved)
        lay.addWidget(self.slider)
        self.head = QLabel()
        self.head.setTextFormat(Qt.RichText)
        self.head.setWordWrap(True)
        lay.addWidget(self.head)
        self.eq = QLabel()
        self.eq.setTextFormat(Qt.RichText)
        self.eq.setWordWrap(True)
        self.eq.setStyleSheet("QLabel { background: #fafafa; border: 1px solid #ddd; padding: 6px; }")
        lay.addWidget(self.eq)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["h[t−1]", "r", "z", "n", "h[t]"])
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        lay.addWidget(self.table, 1)
        self.snap = None
        self.row = -1
        self.sel_t = None  # the selected step t when not following the newest
        self._loading = False

    # -- selection -------------------------------------------------------------------------------------
    def set_snapshot(self, s) -> None:
        self.snap = s
        W = len(s.x)
        self._loading = True
        self.slider.setRange(0, max(W - 1, 0))
        if self.follow.isChecked() or self.sel_t is None:
            self.row = W - 1
        else:  # keep the selected step itself when the window moves or W changes
            self.row = int(np.clip(self.sel_t - s.t0, 0, max(W - 1, 0)))
        self.slider.setValue(max(self.row, 0))
        self._loading = False
        self.unit.setRange(0, max(s.h.shape[1] - 1, 0) if s.h.ndim == 2 else 0)
        self._refresh()

    def step_by(self, d: int) -> None:
        if self.snap is None or len(self.snap.x) == 0:
            return
        self.follow.setChecked(False)
        self.slider.setValue(int(np.clip(self.slider.value() + d, 0, len(self.snap.x) - 1)))

    def _follow_toggled(self, on: bool) -> None:
        self.sel_t = None
        if on and self.snap is not None:
            self.row = len(self.snap.x) - 1
            self._refresh()

    def _slider_moved(self, v: int) -> None:
        if self._loading:
            return
        self.row = v
        if self.snap is not None and v < len(self.snap.x) - 1:
            self.follow.setChecked(False)
        self._refresh()

    def selected_t(self):
        if self.snap is None or not (0 <= self.row < len(self.snap.x)):
            return None
        return self.snap.t0 + self.row

    # -- drawing ---------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        s, i = self.snap, self.row
        if s is not None and 0 <= i < len(s.x) and not self.follow.isChecked():
            self.sel_t = s.t0 + i
        if s is None or not (0 <= i < len(s.x)):
            self.head.setText("<i>No steps yet: press Step or Start.</i>")
            self.eq.setText("")
            self.table.setRowCount(0)
            self.selected.emit(None)
            return
        h_prev = s.h_prev[i]
        r, z, n, h = s.r[i], s.z[i], s.n[i], s.h[i]
        y_hat = float(s.y_hat[i])
        ok = (y_hat >= 0.5) == (s.y[i] >= 0.5)
        where = "probe sequence" if s.mode == "batch" else "stream"
        verdict = "<span style='color:#2ca02c'>right</span>" if ok else "<span style='color:#d62728'>wrong</span>"
        self.head.setText(
            f"<b>t = {s.t0 + i:,}</b> ({where}) &nbsp; x = <b>{int(s.x[i])}</b> &nbsp; y = <b>{int(s.y[i])}</b>"
            f" &nbsp; ŷ = <b>{y_hat:.3f}</b> ({verdict}) &nbsp; loss = {float(s.step_loss[i]):.4g}")
        u = min(self.unit.value(), len(h) - 1)
        self.eq.setText(
            "<table cellspacing='2'>"
            f"<tr><td>r = σ(W<sub>ir</sub>x + b<sub>ir</sub> + W<sub>hr</sub>h[t−1] + b<sub>hr</sub>)</td>"
            f"<td>r<sub>{u}</sub> = {r[u]:.3f}</td></tr>"
            f"<tr><td>z = σ(W<sub>iz</sub>x + b<sub>iz</sub> + W<sub>hz</sub>h[t−1] + b<sub>hz</sub>)</td>"
            f"<td>z<sub>{u}</sub> = {z[u]:.3f}</td></tr>"
            f"<tr><td>n = tanh(W<sub>in</sub>x + b<sub>in</sub> + r ⊙ (W<sub>hn</sub>h[t−1] + b<sub>hn</sub>))</td>"
            f"<td>n<sub>{u}</sub> = {n[u]:.3f}</td></tr>"
            f"<tr><td>h[t] = (1 − z) ⊙ n + z ⊙ h[t−1]</td>"
            f"<td>h<sub>{u}</sub> = (1 − {z[u]:.3f})·{_par(n[u])} + {z[u]:.3f}·{_par(h_prev[u])} = "
            f"<b>{h[u]:.3f}</b></td></tr></table>")
        cols = (h_prev, r, z, n, h)
        H = len(h)
        if self.table.rowCount() != H:  # items are made once per size and then updated in place
            self.table.setRowCount(H)
            self.table.setVerticalHeaderLabels([f"unit {k}" for k in range(H)])
            for k in range(H):
                for c in range(len(cols)):
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    self.table.setItem(k, c, item)
        for k in range(H):
            for c, vec in enumerate(cols):
                v = float(vec[k])
                item = self.table.item(k, c)
                item.setText(_fmt(v))
                lo = 0.0 if c in (1, 2) else -1.0  # gates live in (0, 1), states in (−1, 1)
                frac = (np.clip(v, lo, 1.0) - lo) / (1.0 - lo)
                col = QColor.fromHsvF(0.0 if v >= 0 else 0.6, 0.15 + 0.55 * abs(frac * 2 - 1)
                                      if c not in (1, 2) else 0.15 + 0.55 * frac, 1.0)
                item.setBackground(col)
        self.selected.emit(s.t0 + i)


class PortraitView(pg.PlotWidget):
    """h[t] in 2-D (the units for 2 units, else PCA over the window), coloured by x[t−lag]."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "Hidden-state portrait", "", "")
        self.legend = p.addLegend(offset=(4, 4), labelTextSize="9pt")
        self.sc = {}
        for lab, name in ((0, "x[t−lag] = 0"), (1, "x[t−lag] = 1"), (-1, "unknown (before the window)")):
            c = pg.mkColor(LABEL_COLORS[lab])
            c.setAlpha(150)
            self.sc[lab] = pg.ScatterPlotItem(size=6, pen=None, brush=c)
            p.addItem(self.sc[lab])
            if lab != -1:  # points before the window (label unknown) are grey and need no legend entry
                self.legend.addItem(self.sc[lab], name)
        self.sel = pg.ScatterPlotItem(size=16, pen=pg.mkPen("#000", width=2), brush=None, symbol="o")
        p.addItem(self.sel)
        self.note = pg.TextItem(anchor=(0, 0), color="#333")
        p.addItem(self.note)
        self.a = None

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
        p.setTitle(f"<span style='font-size:11pt'><b>Hidden-state portrait</b></span> "
                   f"<span style='font-size:9pt'>(colour: x[t−{lag}]; separation {a.separation:.2f})</span>")

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


class ProbeView(pg.PlotWidget):
    """How well a linear probe decodes x[t−k] from h[t], for k = 0…K (held-out R², 0 = chance)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "Memory probe: decoding x[t−k] from h[t]", "held-out R² (0 = chance, 1 = exact)", "k")
        p.setYRange(0, 1.05, padding=0)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#1f77b4")
        p.addItem(self.bars)
        self.lag_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=1, style=Qt.DashLine))
        p.addItem(self.lag_line)
        self.probe = None

    def show_analysis(self, a, lag: int) -> None:
        pr = a.probe if a is not None else None
        self.probe = pr
        if pr is None:
            self.bars.setOpts(x=[], height=[])
            return
        sc = np.nan_to_num(pr.score, nan=0.0)
        brushes = ["#d62728" if k == lag else "#1f77b4" for k in pr.lags]
        self.bars.setOpts(x=pr.lags, height=sc, brushes=brushes)
        self.lag_line.setValue(lag)
        self.getPlotItem().setTitle("<span style='font-size:11pt'><b>Memory probe: decoding x[t−k] from h[t]"
                                    f"</b></span> <span style='font-size:9pt;color:#d62728'>(red: the task's lag, "
                                    f"k = {lag})</span>")
        self.getPlotItem().setXRange(-0.6, pr.lags[-1] + 0.6, padding=0)


class HintsView(QLabel):
    """The diagnosis hints in plain words."""

    ICON = {"error": "✖", "warning": "⚠", "info": "ℹ"}
    COLOR = {"error": "#8a1111", "warning": "#8a5a00", "info": "#0b4f8a"}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.setStyleSheet("QLabel { padding: 6px; }")
        self.codes: set[str] = set()
        self.show_hints(())

    def show_hints(self, hints) -> None:
        self.codes = {h.code for h in hints}
        if not hints:
            self.setText("<p style='color:#2ca02c'><b>✓ No problems detected.</b></p>"
                         "<p style='color:#555'>Hints appear here when the setup or the live numbers show a "
                         "known failure: a raw readout, a truncation window shorter than the lag, accuracy at "
                         "the base rate, a rising or non-finite loss, vanishing updates.</p>")
            return
        parts = []
        for h in hints:
            c = self.COLOR.get(h.severity, "#333")
            parts.append(f"<p><b style='color:{c}'>{self.ICON.get(h.severity, '')} {html.escape(h.title)}</b>"
                         f"<br>{html.escape(h.text)}</p>")
        self.setText("".join(parts))


class SensitivityView(pg.PlotWidget):
    """RTRL: the norm of dh/dθ per parameter group (how strongly each group's past shapes the state)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        p = self.getPlotItem()
        style_plot(p, "RTRL sensitivity ‖∂h/∂θ‖ per parameter group", "norm", "")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#9467bd")
        p.addItem(self.bars)
        self.empty = pg.TextItem("Choose learning rule = rtrl to see RTRL's sensitivities.", color="#555",
                                 anchor=(0.5, 0.5))
        p.addItem(self.empty)
        self.norms = {}

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


class ComparePanel(QWidget):
    """Pin runs' loss and accuracy curves and overlay them on the live ones, labelled by what differed."""

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.win = window
        self.pins: list[dict] = []
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.btn_pin = QPushButton("Pin this run")
        self.btn_pin.setToolTip("Keep this run's smoothed loss and accuracy curves on the plots (P)")
        self.btn_pin.clicked.connect(self.pin)
        self.btn_clear = QPushButton("Clear pins")
        self.btn_clear.clicked.connect(self.clear)
        row.addWidget(self.btn_pin)
        row.addWidget(self.btn_clear)
        row.addStretch(1)
        lay.addLayout(row)
        self.list = QListWidget()
        lay.addWidget(self.list, 1)
        lay.addWidget(QLabel("Pinned curves are dashed; each is labelled by how its config differs from the "
                             "current run's."))

    def pin(self) -> dict | None:
        s = self.win.snap
        if s is None or s.step == 0:
            self.win._on_notice("Nothing to pin yet: train a few steps first.")
            return None
        if len(self.pins) >= MAX_PINS:
            self._remove(0)
        lm, am = self.win.loss.mirror, self.win.acc.mirror
        stride = max(1, lm.n // 4000)  # a pinned curve keeps at most ~4,000 points
        pin = {"config": Config.from_dict(s.config), "step": s.step, "run_id": s.run_id,
               "x": lm.x()[::stride].copy(), "loss": lm.smoothed()[::stride].copy(),
               "xa": am.x()[::stride].copy(), "acc": am.smoothed()[::stride].copy(),
               "color": PIN_COLORS[len(self.pins) % len(PIN_COLORS)]}
        pen = pg.mkPen(pin["color"], width=2, style=Qt.DashLine)
        pin["c_loss"] = self.win.loss.getPlotItem().plot(pin["x"], self.win.loss._y(pin["loss"]), pen=pen)
        pin["c_acc"] = self.win.acc.getPlotItem().plot(pin["xa"], pin["acc"], pen=pen)
        self.pins.append(pin)
        self.relabel()
        return pin

    def _remove(self, i: int) -> None:
        pin = self.pins.pop(i)
        for key, view in (("c_loss", self.win.loss), ("c_acc", self.win.acc)):
            view.legend.removeItem(pin[key])
            view.getPlotItem().removeItem(pin[key])

    def clear(self) -> None:
        while self.pins:
            self._remove(0)
        self.relabel()

    def labels(self) -> list[str]:
        cur = self.win.applied
        out = []
        for k, pin in enumerate(self.pins):
            text = run_label(pin["config"], cur)
            if text == "same config":
                text = f"same config, run {k + 1}"
            out.append(f"pinned: {text}")
        return out

    def relabel(self) -> None:
        self.list.clear()
        for pin, text in zip(self.pins, self.labels()):
            for key, view in (("c_loss", self.win.loss), ("c_acc", self.win.acc)):
                view.legend.removeItem(pin[key])
                view.legend.addItem(pin[key], text)
            self.list.addItem(f"{text}  ({pin['step']:,} steps)")


class InspectTabs(QTabWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.inspector = Inspector()
        self.portrait = PortraitView()
        self.probe = ProbeView()
        self.hints = HintsView()
        self.sens = SensitivityView()
        self.compare = ComparePanel(window)
        self.addTab(self.inspector, "Inspector")
        self.addTab(self.portrait, "Portrait")
        self.addTab(self.probe, "Memory probe")
        self.addTab(self.hints, "Hints")
        self.addTab(self.sens, "Sensitivity")
        self.addTab(self.compare, "Compare")
        self.seeds = SeedsPanel(window)
        self.addTab(self.seeds, "Seeds")
        for key, d in (("Alt+Left", -1), ("Alt+Right", 1)):
            sc = QShortcut(QKeySequence(key), window)
            sc.activated.connect(lambda d=d: self.inspector.step_by(d))
        self._snap = None
        self._ins_at = 0.0
        self.currentChanged.connect(lambda _i: self._draw_current())

    def show_snapshot(self, s) -> None:
        """Draw the snapshot into the visible tab only (the others catch up when shown): frames stay cheap."""
        self._snap = s
        a = s.extras.get("analysis")
        hints = a.hints if a is not None else ()
        self.hints.codes = {h.code for h in hints}
        label = f"Hints ({len(hints)})" if hints else "Hints"
        if self.tabText(3) != label:  # re-setting the same text still re-lays out and repaints the tab bar
            self.setTabText(3, label)
        if self.isVisible():
            self._draw_current()

    def _draw_current(self) -> None:
        s = getattr(self, "_snap", None)
        if s is None:
            return
        a = s.extras.get("analysis")
        lag = s.config["task"]["lag"]
        w = self.currentWidget()
        now = time.perf_counter()
        if self.inspector.snap is None or (w is self.inspector and (not s.running or now - self._ins_at > 0.2)):
            self.inspector.set_snapshot(s)  # also drives the selection markers; 5 updates/s while running
            self._ins_at = now
        if w is self.portrait:
            self.portrait.show_analysis(a, lag)
            self.portrait.mark(self.inspector.selected_t())
        elif w is self.probe:
            self.probe.show_analysis(a, lag)
        elif w is self.hints:
            self.hints.show_hints(a.hints if a is not None else ())
        elif w is self.sens:
            self.sens.show_norms(s.extras.get("sensitivity_norms", {}))
