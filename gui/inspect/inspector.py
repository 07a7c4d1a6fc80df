"""The step inspector: one step of the recorded window — x, y, ŷ, loss, and per unit the cell's own quantities
(GRU h[t−1], r, z, n, h[t]; LSTM h[t−1], c[t−1], i, f, g, o, c[t], h[t]; RNN h[t−1], a, h[t]) — with the
chosen cell's equations filled in (gui.inspect.equations), the readout (ŷ from h[t]) and where the target came
from (core.analysis.step_story);
steps are numbered from 1 as everywhere (core.formatting.step_number); a slider (and Alt+←/→) scrubs over the
window, the selection is emitted so the views can mark it. The equations' box, the verdict and the table's shading
take the theme's colours (gui.plots.theme) and follow it when it changes."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.analysis.step_story import readout_text, target_text
from core.formatting import sig, step_number
from gui.inspect.equations import COLUMNS, cell_value, equations_html, is_gate
from gui.inspect.gradient import step_fidelity_html
from gui.plots.theme import Palette, current, follow, readable_on


class Inspector(QWidget):
    """One step's numbers: x, y, ŷ, loss, and per unit the cell's quantities, with its equations filled in."""

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
        lay.addWidget(self.eq)
        self.table = QTableWidget(0, 0)
        self.cell = ""  # the cell whose columns the table has
        self._set_cell("gru")
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        # no column narrower than a value: a narrow dock scrolls the LSTM's eight columns instead of clipping them
        self.table.horizontalHeader().setMinimumSectionSize(self.table.fontMetrics().horizontalAdvance("+0.000") + 12)
        lay.addWidget(self.table, 1)
        self.snap = None
        self.row = -1
        self.sel_t = None  # the selected step t when not following the newest
        self._loading = False
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The equations in the theme's text colour on its panel colour; the step drawn again in the theme."""
        self.eq.setStyleSheet(f"QLabel {{ color: {t.fg}; background: {t.panel}; border: 1px solid {t.border};"
                              " padding: 6px; }")
        self._refresh()

    def _set_cell(self, cell: str) -> None:
        """The table's columns for the cell (gui.inspect.equations.COLUMNS); rows are made again."""
        if cell == self.cell:
            return
        self.cell = cell
        self.table.setRowCount(0)
        self.table.setColumnCount(len(COLUMNS[cell]))
        self.table.setHorizontalHeaderLabels([head for head, _ in COLUMNS[cell]])

    # -- selection -------------------------------------------------------------------------------------
    def set_snapshot(self, s) -> None:
        self.snap = s
        W = len(s.view.x)
        self._loading = True
        self.slider.setRange(0, max(W - 1, 0))
        if self.follow.isChecked() or self.sel_t is None:
            self.row = W - 1
        else:  # keep the selected step itself when the window moves or W changes
            self.row = int(np.clip(self.sel_t - s.view.t0, 0, max(W - 1, 0)))
        self.slider.setValue(max(self.row, 0))
        self._loading = False
        self.unit.setRange(0, max(s.view.h.shape[1] - 1, 0) if s.view.h.ndim == 2 else 0)
        self._refresh()

    def step_by(self, d: int) -> None:
        if self.snap is None or len(self.snap.view.x) == 0:
            return
        self.follow.setChecked(False)
        self.slider.setValue(int(np.clip(self.slider.value() + d, 0, len(self.snap.view.x) - 1)))

    def _follow_toggled(self, on: bool) -> None:
        self.sel_t = None
        if on and self.snap is not None:
            self.row = len(self.snap.view.x) - 1
            self._refresh()

    def _slider_moved(self, v: int) -> None:
        if self._loading:
            return
        self.row = v
        if self.snap is not None and v < len(self.snap.view.x) - 1:
            self.follow.setChecked(False)
        self._refresh()

    def selected_t(self):
        if self.snap is None or not (0 <= self.row < len(self.snap.view.x)):
            return None
        return self.snap.view.t0 + self.row

    # -- drawing ---------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        s, i = self.snap, self.row
        if s is not None and 0 <= i < len(s.view.x) and not self.follow.isChecked():
            self.sel_t = s.view.t0 + i
        if s is None or not (0 <= i < len(s.view.x)):
            self.head.setText("<i>No steps yet: press Step or Start.</i>")
            self.eq.setText("")
            self.table.setRowCount(0)
            self.selected.emit(None)
            return
        h = s.view.h[i]
        y_hat = float(s.view.y_hat[i])
        ok = (y_hat >= 0.5) == (s.view.y[i] >= 0.5)
        theme = current()
        verdict = (f"<span style='color:{theme.good}'>right</span>" if ok
                   else f"<span style='color:{theme.bad}'>wrong</span>")
        if s.mode == "batch":  # the probe sequence's timesteps, numbered from 1 like the steps
            where = f"<b>timestep {step_number(i):,}</b> of the probe sequence"
        else:
            where = f"<b>step {step_number(s.view.t0 + i):,}</b> (stream index t = {s.view.t0 + i:,})"
        self.head.setText(
            f"{where} &nbsp; x = <b>{int(s.view.x[i])}</b> &nbsp; y = <b>{int(s.view.y[i])}</b>"
            f" &nbsp; ŷ = <b>{y_hat:.3f}</b> ({verdict}) &nbsp; loss = {sig(float(s.view.step_loss[i]), 3)}"
            + step_fidelity_html(s, i))
        cfg = s.config
        w_b = s.readout if s.readout is not None else (None, 0.0)
        rest = (readout_text(cfg["model"]["readout"], cfg["train"]["loss"], h, w_b[0], w_b[1], y_hat),
                target_text(cfg["task"]["kind"], int(cfg["task"]["lag"]), s.view.x, s.view.t0, i, int(s.view.y[i])))
        u = min(self.unit.value(), len(h) - 1)
        self.eq.setText(equations_html(s.view, i, u)
                        + f"<p style='margin-top:4px'>{html.escape(rest[0])}<br>{html.escape(rest[1])}</p>")
        self._set_cell(s.view.cell)
        layers = [layer for _, layer in COLUMNS[self.cell]]
        cols = [s.view.layer(layer)[i] for layer in layers]
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
                item.setText(cell_value(v))
                gate = is_gate(layers[c])
                v = v if np.isfinite(v) else 0.0  # not recorded: the palest shade
                lo = 0.0 if gate else -1.0  # gates live in (0, 1), states in (−1, 1)
                frac = (np.clip(v, lo, 1.0) - lo) / (1.0 - lo)
                sat = 0.15 + 0.55 * abs(frac * 2 - 1) if not gate else 0.15 + 0.55 * frac
                col = QColor.fromHsvF(0.0 if v >= 0 else 0.6, sat, 0.42 if theme.dark else 1.0)  # dark: deep shades
                item.setBackground(col)
                item.setForeground(readable_on(col))
        self.selected.emit(s.view.t0 + i)
