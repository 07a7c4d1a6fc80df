"""The status bar's fields: on the left what the run has to say (while the trainer starts, "starting the
trainer…"; once a run has reached its end, its verdict in words); on the right mode, device, progress (online
"step 13,454 / 20,000 · about 2 s left" with a bar, batch "epoch 3 · minibatch 1,200" with the epoch bar), speed,
loss and accuracy, all from the latest snapshot. Numbers go through core.formatting (significant digits, one
step numbering); a missing or non-finite value shows as "–". Each field has the width of its longest text, so
none runs into the next; the left sentence is elided (whole in its tooltip) where the bar is short."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar

from core.formatting import accuracy_text, count_text, loss_text, progress_text

FIELDS = ("mode", "device", "step", "rate", "loss", "acc")
STARTING = "starting the trainer…"
# the longest text each field shows in practice: its width, so a longer figure never pushes into the next field
WIDEST = {"mode": "mode: online", "device": "device: cuda", "step": "step 20,000 / 20,000 · about 59 min left",
          "rate": "1,000,000 steps/s", "loss": "loss 1.00e-05", "acc": "acc (last 200) 0.000"}


class ElidedLabel(QLabel):
    """A one-line label that never asks for more width than it gets: its text is elided at the right, and the
    whole text is its tooltip."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.ElideRight, max(0, self.width() - 4))
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(ev)
        self._elide()


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


class StatusLine:
    """Adds its fields to `bar`; `show_snapshot(s)` fills them."""

    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.phase = ElidedLabel()  # "starting the trainer…", then the verdict of a finished run
        self.phase.setObjectName("status-phase")
        bar.addWidget(self.phase, 1)
        self.fields = {k: QLabel() for k in FIELDS}
        for k in FIELDS:
            label = self.fields[k]
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(WIDEST[k]) + 8)
            bar.addPermanentWidget(label)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)  # the step field says the numbers
        self.progress.setVisible(False)
        bar.addPermanentWidget(self.progress)
        self._starting = False
        self._queued = ""

    # -- the first seconds ---------------------------------------------------------------------------------
    def show_starting(self) -> None:
        """The trainer has not said it is ready yet."""
        self._starting = True
        self.phase.setText(STARTING)

    def show_queued_start(self) -> None:
        """Start was pressed before the trainer was ready: it is queued, and the bar says so."""
        self._queued = " Start is queued: training begins when it is ready."
        if self._starting:
            self.phase.setText(STARTING + self._queued)

    @property
    def starting(self) -> bool:
        return self._starting

    def show_device(self, info: dict) -> None:
        """The trainer is ready (its Ready message)."""
        self.fields["device"].setText(f"device: {info.get('device', '?')}")
        if self._starting:
            self._starting = False
            self._queued = ""
            self.phase.setText("")

    # -- a snapshot ----------------------------------------------------------------------------------------
    def show_snapshot(self, s, lockstep: bool = False) -> None:
        """Snapshot `s`'s figures; with `lockstep` (a lockstep recording drives the run, pausing it at each frame)
        a paused snapshot's rate field says so instead of \"paused\"."""
        f = self.fields
        f["mode"].setText(f"mode: {s.mode}")
        f["device"].setText(f"device: {s.device}")
        if s.mode == "batch":
            epochs = int(s.config["train"]["epochs"])
            epoch = s.view.epoch
            f["step"].setText(f"epoch {count_text(epoch)} / {count_text(epochs)} · minibatch {count_text(s.step)}")
            self._show_bar(s.view.epoch, epochs)
        else:
            total = int(s.config["train"]["steps"])
            rate = s.steps_per_second if s.running and _finite(s.steps_per_second) else math.nan
            f["step"].setText(progress_text(s.step, total, rate))
            self._show_bar(s.step, total)
        if s.running and _finite(s.steps_per_second):
            f["rate"].setText(f"{s.steps_per_second:,.0f} steps/s")
        else:
            f["rate"].setText("recording, lockstep" if lockstep else "paused")
        f["loss"].setText(f"loss {loss_text(s.loss) if _finite(s.loss) else '–'}")
        acc = s.view.accuracy
        f["acc"].setText(f"{s.view.accuracy_label} {accuracy_text(acc) if _finite(acc) else '–'}")
        verdict = getattr(s, "verdict", None)
        if not self._starting:
            self.phase.setText(verdict.text if verdict is not None else "")

    def _show_bar(self, done: int, total: int) -> None:
        """The progress bar in permille, so that totals past 2**31 and a step past the total both draw."""
        self.progress.setVisible(total > 0)
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, max(0, done) / total)))
            self.progress.setToolTip(f"{count_text(done)} of {count_text(total)}")
