"""Comparing runs: pin a run's loss and accuracy curves (kept in the AppState, smoothed over at least the run's
default window), overlay them thin and dashed under the live curves, and label each by how its config differs
from the run now applied."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from core.analysis.inspection import run_label
from core.config import Config
from gui.app_state import MAX_PINS, AppState, Pin

PIN_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def pin_labels(pins, applied: Config) -> list[str]:
    """Each pin's label: what differs from `applied` ("same config, run k" when nothing does)."""
    out = []
    for k, pin in enumerate(pins):
        text = run_label(pin.curves.config, applied)
        if text == "same config":
            text = f"same config, run {k + 1}"
        out.append(f"pinned: {text}")
    return out


class PinOverlay:
    """Draws the AppState's pins on the loss and accuracy views, and keeps their legend labels current."""

    def __init__(self, state: AppState, loss_view, acc_view):
        self.state, self.loss, self.acc = state, loss_view, acc_view
        self.items: dict[Pin, tuple] = {}  # pin -> (its loss curve item, its accuracy curve item)
        state.pins_changed.connect(self.sync)
        state.applied_changed.connect(self.sync)

    def sync(self, *_applied) -> None:
        pins = self.state.pins
        for pin in [p for p in self.items if p not in pins]:
            c_loss, c_acc = self.items.pop(pin)
            self.loss.remove_overlay(c_loss)
            self.acc.remove_overlay(c_acc)
        for pin in pins:
            if pin not in self.items:
                pen = pg.mkPen(pin.color, width=1, style=Qt.DashLine)  # thin: the current run stays on top
                c = pin.curves
                self.items[pin] = (self.loss.add_overlay(c.x, c.loss, pen), self.acc.add_overlay(c.xa, c.acc, pen))
        for pin, text in zip(pins, pin_labels(pins, self.state.applied)):
            c_loss, c_acc = self.items[pin]
            self.loss.name_overlay(c_loss, text)
            self.acc.name_overlay(c_acc, text)


class ComparePanel(QWidget):
    """Pin and Clear buttons and the list of pins; `services` is the window's WindowServices."""

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.state: AppState = services.state
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
        note = QLabel("Pinned curves are dashed; each is labelled by how its config differs from the current run's.")
        note.setWordWrap(True)  # unwrapped, this line alone forced the dock wide enough to clip the bits legend
        lay.addWidget(note)
        self.state.pins_changed.connect(self.relabel)
        self.state.applied_changed.connect(self.relabel)

    def pin(self) -> Pin | None:
        curves = self.services.current_curves()
        if curves is None:
            self.services.notify("Nothing to pin yet: train a few steps first.")
            return None
        n = min(len(self.state.pins), MAX_PINS - 1)  # the oldest pin goes when all are taken
        pin = Pin(curves, PIN_COLORS[n % len(PIN_COLORS)])
        self.state.add_pin(pin)
        return pin

    def clear(self) -> None:
        self.state.clear_pins()

    def labels(self) -> list[str]:
        return pin_labels(self.state.pins, self.state.applied)

    def relabel(self, *_applied) -> None:
        self.list.clear()
        for pin, text in zip(self.state.pins, self.labels()):
            self.list.addItem(f"{text}  ({pin.curves.step:,} steps)")
