"""The status bar's permanent fields: mode, device, step (and epoch progress in batch mode), speed, loss and
accuracy, all from the latest snapshot; a missing or non-finite value shows as "–"."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

FIELDS = ("mode", "device", "step", "rate", "loss", "acc")


def _fmt(v, spec=".4f") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


class StatusLine:
    """Adds its fields to `bar`; `show_snapshot(s)` fills them."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.fields = {k: QLabel() for k in FIELDS}
        for k in FIELDS:
            self.fields[k].setMinimumWidth(90)
            bar.addPermanentWidget(self.fields[k])
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("epoch %v / %m")
        self.progress.setVisible(False)
        bar.addPermanentWidget(self.progress)

    def show_device(self, info: dict) -> None:
        self.fields["device"].setText(f"device: {info.get('device', '?')}")

    def show_snapshot(self, s) -> None:
        f = self.fields
        f["mode"].setText(f"mode: {s.mode}")
        f["device"].setText(f"device: {s.device}")
        if s.mode == "batch":
            f["step"].setText(f"epoch {s.epoch} · batch {s.step:,}")
            self.progress.setVisible(True)
            self.progress.setMaximum(s.config["train"]["epochs"])
            self.progress.setValue(s.epoch)
        else:
            f["step"].setText(f"step {s.step:,}")
            self.progress.setVisible(False)
        f["rate"].setText(f"{s.steps_per_second:,.0f} steps/s" if s.running else "paused")
        f["loss"].setText(f"loss {_fmt(s.loss)}")
        f["acc"].setText(f"{s.accuracy_label} {_fmt(s.accuracy, '.3f')}")
