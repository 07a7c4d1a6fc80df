"""Recording in the window: the Record action (toolbar button, Ctrl+R), its dialog and the recording it runs.

Pressing Record asks for a file (GIF, WebP, MP4 when PyAV is installed; the suffix picks the format), what to
record (the window or one view), the steps per recorded frame (default: a ~10-s clip of the configured run) and
how: lockstep (the default: training waits for each frame, so every frame is a picture of its own step; the
run's commands go through gui/recording/lockstep.py's pacer) or live (frames grabbed while training runs freely;
a busy machine repeats pictures). It opens in the folder of the last recording, else Documents/GRU Memory
Lab/recordings (gui.settings.DialogFolders), and records until pressed again. Frames are grabbed after a drawn
snapshot (`frame_shown(snap)`, wired to the window's `frame_shown`) when `core.recording.schedule.StepSchedule`
says one is due, so a clip is spaced in training steps, not wall time; each carries its step in its corner.
The toolbar's `RecordIndicator` shows a red dot, the elapsed time and the size so far; when done the status bar
and the message bar show the file's full path, the mode and how many frames repeat the picture before.

Any failure (an unwritable or missing folder, a full disk, an unknown suffix) is one message in the message
bar; nothing partial is left (core/recording/recorder.py writes a temporary file) and the recording stops, while
training goes on. The controller receives a WindowServices and the widgets it may record, never the window.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from core.config import Config
from core.recording.recorder import FORMATS, RecordingError, check_record_path, supported_suffixes
from core.recording.schedule import DEFAULT_CLIP_SECONDS, StepSchedule, describe, plan_steps_per_frame
from core.tasks import run_units
from gui.actions import make_action
from gui.plots.theme import current
from gui.recording.capture import RecordIndicator, WidgetRecorder, format_size
from gui.recording.flags import DEFAULT_RECORD_FPS, RECORD_VIEWS, RecordOptions
from gui.recording.lockstep import LockstepPacer
from gui.settings import DialogFolders

VIEW_NAMES = {"window": "the whole window", "bits": "Bits", "hidden": "Hidden units", "loss": "Loss",
              "accuracy": "Accuracy", "portrait": "Hidden-state portrait (Inspect)"}
SETTINGS_KEY = "record/last_path"
MODE_NAMES = {True: "Lockstep: training waits for each frame (every frame shows its own step)",
              False: "Live: frames taken while training runs freely (a busy machine repeats pictures)"}
ENCODER_RETRY_MS = 15  # lockstep: the run waits while the encoder's queue is full; look again this often


def total_steps(cfg: Config) -> int:
    """The run's length in the units the window counts: steps online, minibatches in batch mode."""
    return run_units(cfg.train)


def default_steps_per_frame(cfg: Config, fps: float = DEFAULT_RECORD_FPS) -> int:
    return plan_steps_per_frame(max(1, total_steps(cfg)), DEFAULT_CLIP_SECONDS, fps)


class RecordDialog(QDialog):
    """File, view, frame rate and steps per recorded frame; `options()` once accepted."""

    def __init__(self, parent: QWidget, path: str, spf: int, view: str = "window", lockstep: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Record")
        form = QFormLayout(self)
        self.path = QLineEdit(path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.view = QComboBox()
        for key in RECORD_VIEWS:
            self.view.addItem(VIEW_NAMES[key], key)
        self.view.setCurrentIndex(RECORD_VIEWS.index(view))
        form.addRow("Record", self.view)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 50)
        self.fps.setValue(DEFAULT_RECORD_FPS)
        form.addRow("Frames per second", self.fps)
        self.spf = QSpinBox()
        self.spf.setRange(1, 10_000_000)
        self.spf.setValue(spf)
        self.spf.setToolTip("Training steps between recorded frames: the clip's pace, the same on any machine")
        form.addRow("Steps per frame", self.spf)
        self.mode = QComboBox()
        for key in (True, False):
            self.mode.addItem(MODE_NAMES[key], key)
        self.mode.setCurrentIndex(0 if lockstep else 1)
        self.mode.setToolTip("Lockstep makes the trainer wait while each frame is drawn and grabbed: the clip shows "
                             "every frame it announces, on any machine. Live never slows training.")
        form.addRow("Mode", self.mode)
        self.pace = QLabel()
        self.pace.setWordWrap(True)
        form.addRow(self.pace)
        self.why = QLabel()
        self.why.setStyleSheet(f"color: {current().bad}")
        self.why.setWordWrap(True)
        form.addRow(self.why)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Record")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        for sig in (self.fps.valueChanged, self.spf.valueChanged):
            sig.connect(self._show_pace)
        self._show_pace()

    def _show_pace(self) -> None:
        self.pace.setText(describe(self.spf.value(), self.fps.value()))

    def _browse(self) -> None:
        kinds = ";;".join(f"{FORMATS[s]} (*{s})" for s in supported_suffixes())
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.path.text(), kinds)
        if path:
            self.path.setText(path)

    def _accept(self) -> None:
        why = check_record_path(self.path.text().strip())
        if why is not None:
            self.why.setText(f"Cannot record there: {why}.")
            return
        self.accept()

    def options(self) -> RecordOptions:
        return RecordOptions(path=self.path.text().strip(), view=self.view.currentData(), fps=self.fps.value(),
                             steps_per_frame=self.spf.value(), lockstep=bool(self.mode.currentData()))


class RecordingControl(QObject):
    """The Record action and the recording it runs; `frame_shown(snap)` after each drawn snapshot."""

    def __init__(self, services, widgets: dict[str, QWidget], show_view=lambda key: None, parent=None,
                 commands=None):
        """`commands` (gui.commands.RunCommands) is the run's door a lockstep recording drives through."""
        super().__init__(parent)
        self.services, self.widgets, self.show_view, self.commands = services, widgets, show_view, commands
        store = getattr(services, "settings", None)
        self.folders = DialogFolders(store) if store is not None else None
        state = getattr(services, "state", None)
        self.pacer = LockstepPacer(lambda: self.rec.schedule, self._continue_to,
                                   state.set_driven if state is not None else (lambda on: None))
        self._pending: tuple[int, int] | None = None  # lockstep: (step, frames) waiting for the encoder's room
        if getattr(services, "handle", None) is not None:
            services.handle.worker.error.connect(self._training_stopped)
        self.indicator = RecordIndicator()
        self.action = make_action(services.dialog_parent, "&Record…", self.toggle, ["Ctrl+R"],
                                  "Record the window or one view to a GIF, WebP or MP4 until pressed again")
        self.action.setCheckable(True)
        self.action.setShortcutContext(Qt.ApplicationShortcut)
        self.rec: WidgetRecorder | None = None
        self.options: RecordOptions | None = None
        self.saved: Path | None = None
        self._drawn = self._recorded = None  # steps of the last snapshot drawn / recorded
        self._run_id = None
        self._repeats = 0  # frames that repeat a drawn state (the run outran the drawing)
        self._indicator_action = None
        self.ask = self._ask  # a seam: tests replace the dialog
        services.dialog_parent.installEventFilter(self)  # the window closing finishes the clip

    def install(self, toolbar: QToolBar) -> None:
        toolbar.addSeparator()
        button = QToolButton()
        button.setDefaultAction(self.action)
        button.setText("● Record")
        button.setFocusPolicy(Qt.NoFocus)
        toolbar.addWidget(button)
        self._indicator_action = toolbar.addWidget(self.indicator)  # a toolbar shows its widgets through these
        self._indicator_action.setVisible(False)
        self.button = button

    def _show_indicator(self, on: bool) -> None:
        if self._indicator_action is not None:
            self._indicator_action.setVisible(on)

    @property
    def recording(self) -> bool:
        return self.rec is not None

    # -- start / stop ------------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.recording:
            self.stop()
            return
        opts = self.ask()
        if opts is None or not self.start(opts):
            self.action.setChecked(False)

    def suggested_path(self) -> str:
        """A new file in the folder of the last recording (else Documents/GRU Memory Lab/recordings), with the
        last recording's format; never the process's working folder."""
        store = self.services.settings
        last = str(store.value(SETTINGS_KEY, "") or "") if store is not None else ""
        suffix = os.path.splitext(last)[1].lower() if last else ".gif"
        name = "gml-recording" + (suffix if suffix in supported_suffixes() else ".gif")
        if self.folders is None:
            return os.path.join(os.path.expanduser("~"), name)
        return self.folders.suggest("recordings", name)

    def _ask(self) -> RecordOptions | None:
        last = self.options
        dlg = RecordDialog(self.services.dialog_parent, self.suggested_path(),
                           default_steps_per_frame(self.services.state.applied), last.view if last else "window",
                           last.lockstep if last else True)
        if dlg.exec() != QDialog.Accepted:
            return None
        opts = dlg.options()
        if self.services.settings is not None:
            self.services.settings.setValue(SETTINGS_KEY, opts.path)
        if self.folders is not None:
            self.folders.remember("recordings", opts.path)
        return opts

    def start(self, opts: RecordOptions) -> bool:
        """Start recording as `opts` says; False (and one message) when it cannot."""
        if self.recording:
            return True
        widget = self.widgets.get(opts.view)
        if widget is None:
            known = ", ".join(self.widgets)
            self.services.report_error(f"Cannot record the {opts.view!r} view: choose one of {known}.")
            return False
        self.show_view(opts.view)
        try:
            self.rec = WidgetRecorder(widget, opts.path, opts.fps, opts.steps_per_frame)
        except RecordingError as e:
            self.services.report_error(f"{e}. Training goes on.")
            return False
        self.options, self.saved = opts, None
        self._drawn = self._recorded = self._pending = None
        self._repeats = 0
        self.action.setChecked(True)
        self.indicator.start(self.rec.recorder)
        self._show_indicator(True)
        how = "lockstep: training waits for each frame" if opts.lockstep else "live: training runs freely"
        self.services.show_status(f"Recording {VIEW_NAMES[opts.view]} to {self.rec.recorder.path}: one frame every "
                                  f"{opts.steps_per_frame:,} steps ({how}); press Record (Ctrl+R) again to stop", 8000)
        if opts.lockstep and self.commands is not None:
            self.pacer.paused()
            self.commands.pacer = self.pacer
            if self.services.state.running:  # training runs: from now on it goes frame by frame
                self.commands.start()
        return True

    @property
    def lockstep(self) -> bool:
        return self.rec is not None and self.options is not None and self.options.lockstep and self.commands is not None

    def _release(self, resume: bool) -> None:
        """The run's commands no longer go through the pacer; with `resume`, a run it was driving trains on."""
        if self.commands is None or self.commands.pacer is not self.pacer:
            return
        driving, end = self.pacer.driving, self.pacer.end
        self.pacer.paused()
        self.commands.pacer = None
        if resume and driving:
            self.commands.start(end)

    def stop(self, resume: bool = True) -> Path | None:
        """Finish the clip (the last drawn state is its last frame) and show its full path; None on failure.
        A run the lockstep pacer was driving trains on freely (unless `resume` is False: the window closes)."""
        rec = self.rec
        if rec is None:
            return None
        lockstep = self.lockstep
        try:
            if self._pending is not None:  # a frame waiting for the encoder's room: it waits no more
                rec.record(*self._pending)
                self._recorded, self._pending = self._pending[0], None
            if self._drawn is not None and self._drawn != self._recorded:
                rec.capture(self._drawn)  # the state on screen now ends the clip
            self._release(resume)
            path = rec.finish()
        except RecordingError as e:
            self._failed(e)
            return None
        self.rec = None
        self.action.setChecked(False)
        size = path.stat().st_size if path.exists() else 0
        self.saved = path
        self.indicator.show_saved(path, size)
        self._show_indicator(True)
        frames = rec.recorder.frames
        how = "lockstep: each frame drawn at its own step" if lockstep else "live capture"
        text = (f"Recording saved: {path} ({frames} frames, {how}, {rec.recorder.clip_seconds:.1f} s at "
                f"{rec.recorder.fps:g} fps, {format_size(size)})")
        if frames and self._repeats > 0.1 * frames:
            why = ("training ran faster than the window drew or the encoder kept up; lockstep mode (Record's "
                   "dialog) gives every frame its own picture" if not lockstep else
                   "steps were taken past several frame times at once (Step, or the run ended between frames)")
            text += f". {self._repeats} of its {frames} frames repeat the picture before them: {why}"
        self.services.show_status(text, 15000)
        self.services.notify(text)
        return path

    def abort(self) -> None:
        self._release(resume=False)
        self._pending = None
        if self.rec is not None:
            self.rec.abort()
            self.rec = None
        self.indicator.stop()
        self._show_indicator(False)
        self.action.setChecked(False)

    def _failed(self, e: RecordingError) -> None:
        self._release(resume=True)  # training goes on
        self._pending = None
        if self.rec is not None:
            self.rec.abort()  # already closed by the failure; removes anything left
        self.rec = None
        self.indicator.stop()
        self._show_indicator(False)
        self.action.setChecked(False)
        self.services.report_error(f"{e}. The recording has stopped; training goes on.")

    # -- frames ------------------------------------------------------------------------------------------
    def frame_shown(self, snap) -> None:
        if self.rec is None or snap is None:
            return
        if self._run_id is not None and (snap.run_id != self._run_id or (self._drawn or 0) > snap.step):
            self.rec.schedule = StepSchedule(self.rec.schedule.steps_per_frame)  # a new run: from its start
        self._run_id, self._drawn = snap.run_id, snap.step
        if self.lockstep:
            self._lockstep_frame(snap)
            return
        try:
            held = self.rec.held_over
            n = self.rec.frame_drawn(snap.step)
            if n:
                self._recorded = snap.step
                held = self.rec.held_over - held  # all n frames kept the picture before: the encoder was behind
                self._repeats += held if held else n - 1
        except RecordingError as e:
            self._failed(e)

    def _lockstep_frame(self, snap) -> None:
        """A drawn snapshot while recording in lockstep: a paused state at the leg's end is recorded (once the
        encoder has room), then the next leg starts."""
        if self._pending is not None or not self.pacer.reached(snap):
            return
        n = self.rec.schedule.frames_due(snap.step)
        if not n:
            self.pacer.go_on(snap.step)
            return
        self._repeats += n - 1  # steps were taken past several frame times at once (Step)
        self._pending = (snap.step, n)
        self._record_pending()

    def _record_pending(self) -> None:
        if self.rec is None or self._pending is None:
            return
        if self.rec.recorder.busy:  # the encoder is behind: the run waits for it, the window stays responsive
            QTimer.singleShot(ENCODER_RETRY_MS, self, self._record_pending)
            return
        step, n = self._pending
        try:
            self.rec.record(step, n)
        except RecordingError as e:
            self._failed(e)
            return
        self._recorded, self._pending = step, None
        self.pacer.go_on(step)

    def _training_stopped(self, _text: str) -> None:
        """Training stopped on an error: no more legs until the next Start."""
        self.pacer.paused()

    def _continue_to(self, step: int) -> None:
        if self.commands is not None:
            self.commands.continue_to(step)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Close and self.recording:
            self.stop(resume=False)
        return False
