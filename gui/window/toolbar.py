"""The run toolbar: Start/Pause, Step, Reset buttons and the live settings — speed, the view window W, curve
smoothing, log-y loss. It only says what the user chose (signals); the window wires them to the commands and
the views. Start/Pause carry the style's play/pause icons (a font's ⏸ glyph is an empty box on some systems)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QSlider, QSpinBox, QStyle, QToolBar

SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 0]  # steps/s; 0 = as fast as it goes
SMOOTHING_MAX = 0.999
WINDOW_TIP = "How many recent timesteps the bits and hidden views show (20–2000)"
WINDOW_BATCH_TIP = ("In batch mode the bits and hidden views show the whole probe sequence, so the window W "
                    "does not apply (it applies again in online mode)")


class RunToolbar(QToolBar):
    speed_changed = Signal(float)      # steps per second; 0 = as fast as it goes
    window_changed = Signal(int)       # W, the recent steps the bits and hidden views show
    smoothing_changed = Signal(float)  # the curves' exponential smoothing weight in [0, SMOOTHING_MAX]

    def __init__(self, parent=None):
        super().__init__("Run", parent)
        self.setMovable(False)
        self.btn_start = QPushButton()
        self.btn_start.setMinimumWidth(96)
        self.show_running(False)
        self.btn_step = QPushButton("Step")
        self.btn_reset = QPushButton("Reset")
        for b in (self.btn_start, self.btn_step, self.btn_reset):
            b.setFocusPolicy(Qt.NoFocus)
            self.addWidget(b)
        self.addSeparator()
        self.addWidget(QLabel(" Speed "))
        self.speed = QSlider(Qt.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setFixedWidth(140)
        self.speed.setToolTip("Steps per second: from a few (to follow by eye) to as fast as it goes; applies live")
        self.speed.valueChanged.connect(self._speed_moved)
        self.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(70)
        self.addWidget(self.speed_label)
        self.addSeparator()
        self.addWidget(QLabel(" Window W "))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(20, 2000)
        self.window_spin.setSingleStep(50)
        self.window_spin.setValue(200)
        self.window_spin.setToolTip(WINDOW_TIP)
        self.window_spin.valueChanged.connect(self.window_changed)
        self.addWidget(self.window_spin)
        self.addSeparator()
        self.addWidget(QLabel(" Smoothing "))
        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setFixedWidth(110)
        self.smoothing.setToolTip("Exponential smoothing of the loss and accuracy curves (as TensorBoard's)")
        self.smoothing.valueChanged.connect(self._smoothing_moved)
        self.addWidget(self.smoothing)
        self.smoothing_label = QLabel("0.60")
        self.smoothing_label.setMinimumWidth(36)
        self.addWidget(self.smoothing_label)
        self.log_box = QCheckBox("log-y loss")
        self.log_box.setToolTip("Logarithmic loss axis")
        self.addWidget(self.log_box)
        self._show_speed()

    def set_tooltips(self, start: str, step: str, reset: str) -> None:
        """The buttons say what their actions say (shortcuts included)."""
        for b, tip in ((self.btn_start, start), (self.btn_step, step), (self.btn_reset, reset)):
            b.setToolTip(tip)

    def show_running(self, on: bool) -> None:
        icon = QStyle.SP_MediaPause if on else QStyle.SP_MediaPlay
        self.btn_start.setIcon(self.style().standardIcon(icon))
        self.btn_start.setText("Pause" if on else "Start")

    def show_mode(self, mode: str) -> None:
        """The window W applies online only: in batch mode its box is disabled and says why."""
        batch = mode == "batch"
        self.window_spin.setEnabled(not batch)
        self.window_spin.setToolTip(WINDOW_BATCH_TIP if batch else WINDOW_TIP)

    # -- values ------------------------------------------------------------------------------------------
    def steps_per_second(self) -> float:
        return float(SPEEDS[self.speed.value()])

    def set_speed_nearest(self, sps: float) -> None:
        """The slider position nearest to `sps` steps per second (0 or less: as fast as it goes)."""
        target = sps if sps > 0 else 1e9
        self.speed.setValue(min(range(len(SPEEDS)), key=lambda i: abs((SPEEDS[i] or 1e9) - target)))

    def smoothing_weight(self) -> float:
        return min(self.smoothing.value() / 100.0, SMOOTHING_MAX)

    def _speed_moved(self) -> None:
        self._show_speed()
        self.speed_changed.emit(self.steps_per_second())

    def _show_speed(self) -> None:
        v = SPEEDS[self.speed.value()]
        self.speed_label.setText("max" if v == 0 else f"{v:,}/s")

    def _smoothing_moved(self) -> None:
        w = self.smoothing_weight()
        self.smoothing_label.setText(f"{w:.2f}")
        self.smoothing_changed.emit(w)
