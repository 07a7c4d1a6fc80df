"""Frame pacing: each snapshot from the worker is drawn into the views, the run state (and the run id and step,
the evidence of unsaved work) is taken from it, and the next snapshot is asked for after a delay that keeps
drawing within a CPU budget while training runs. The trainer comes first: when it waits for a CPU, the budget
shrinks and the drawing thread yields its priority (gui.children.priority.TrainerFirst). The worker asks for a
snapshot only when the run moved on, so a slow or paused run is drawn once per step or not at all.

A view that fails to draw is reported once (per distinct failure) and never stops training or the app.
"""

from __future__ import annotations

import time
import traceback

from PySide6.QtCore import QObject, QTimer, Signal

from core.config import Config
from core.smoothing import default_window, smooth
from gui.app_state import AppState, RunCurves
from gui.children.priority import BUDGET, TrainerFirst
from gui.plots.curves import accuracy_references, loss_references, smoothing_window

# cores the window may use for drawing while training runs, and the longest frame delay (4 frames a second);
# while the trainer is behind, gui.children.priority.BUDGET_BEHIND
GUI_CPU_BUDGET, MAX_FRAME_DELAY = BUDGET
PIN_POINTS = 4000  # a pinned curve keeps at most about this many points


class FramePresenter(QObject):
    """Snapshot → views. `snap` is the last snapshot drawn, `frames` how many were drawn."""

    frame_shown = Signal(object)  # emitted after a snapshot was drawn (tests and automation hook here)

    def __init__(self, state: AppState, handle, views: dict, inspect, status, report_error, parent=None):
        super().__init__(parent)
        self.state, self.handle = state, handle
        self.bits, self.hidden, self.loss, self.acc = (views[k] for k in ("bits", "hidden", "loss", "accuracy"))
        self.inspect, self.status, self.report_error = inspect, status, report_error
        self.snap = None
        self.frames = 0
        self.mode = "online"
        self._config, self._cfg = None, Config()
        self._smoothing = 0.6
        inspect.inspector.selected.connect(self.mark)
        self._pace = None
        self.trainer_first = TrainerFirst()
        self._draw_errors: set[str] = set()

    # -- settings the frames follow ----------------------------------------------------------------------
    def set_smoothing(self, w: float) -> None:
        """The smoothing control's position (0 = off, 0.60 = the run's default window, see
        gui.plots.curves.smoothing_window), as a window in steps for both curves."""
        self._smoothing = w
        window = smoothing_window(w, default_window(self._cfg))
        unit = "minibatches" if self.mode == "batch" else "steps"
        self.loss.set_smoothing_window(window, unit)
        # online accuracy is one 0/1 per step: never less than the default window; batch's is per minibatch
        default = default_window(self._cfg)
        self.acc.set_smoothing_window(max(window, default) if self.mode == "online" else window, unit)

    def _config_changed(self, config: dict) -> None:
        """A new run (or its config changed): its mode, smoothing window, and the plots' reference lines."""
        self._config = config
        self._cfg = Config.from_dict(config)
        self.mode = self._cfg.train.mode
        unit = "minibatch" if self.mode == "batch" else "step"
        for v in (self.loss, self.acc):
            v.set_unit(unit)
        self.set_smoothing(self._smoothing)
        self.loss.set_references(loss_references(self._cfg))
        self.acc.set_references(accuracy_references(self._cfg))

    def mark(self, t) -> None:
        """The Inspector's step (None: following the newest), marked on the curves (online: a step of the run;
        batch's inspector shows the probe sequence, which is no point of the curves)."""
        show = t if (self.mode == "online" and not self.inspect.inspector.follow.isChecked()) else None
        self.loss.mark(show)
        self.acc.mark(show)

    # -- a frame -----------------------------------------------------------------------------------------
    def show(self, s) -> None:
        """Draw snapshot `s`, take the run state from it, and pace the request for the next one."""
        self.snap = s
        try:
            if s.config != self._config:
                self._config_changed(s.config)
            self.bits.show_snapshot(s)
            self.hidden.show_snapshot(s)
            batch = s.mode == "batch"
            hist = s.view.epoch_logs
            self.loss.show_snapshot(s, s.loss_chunk, [e["val_loss"] for e in hist] if batch else None)
            self.acc.show_snapshot(s, s.acc_chunk, [e["val_accuracy"] for e in hist] if batch else None)
            self.status.show_snapshot(s, lockstep=self.state.driven)
            self.inspect.show_snapshot(s)
        except Exception as e:  # a view that fails to draw is reported once; training and the app go on
            text = f"A view failed to draw: {type(e).__name__}: {e}"
            if text not in self._draw_errors:  # each distinct failure is reported once, not every frame
                self._draw_errors.add(text)
                self.report_error(text + "\n" + traceback.format_exc(limit=3))
        finally:
            self.frames += 1
            self.state.snapshot_drawn(s.running)
            self.state.run_at(s.run_id, s.step)  # the evidence of unsaved work
            delay = self.frame_delay(s.running)
            if delay > 0:
                QTimer.singleShot(int(delay * 1000), self.handle.frame_drawn)
            else:
                self.handle.frame_drawn()
        self.frame_shown.emit(s)

    def frame_delay(self, running: bool) -> float:
        """Seconds to wait before asking for the next snapshot, so that drawing (this process's CPU, paints
        included) stays within the budget (GUI_CPU_BUDGET of a core; less while the trainer is behind) while
        training runs; 0 when paused."""
        now, cpu = time.perf_counter(), time.process_time()
        last, self._pace = self._pace, (now, cpu)
        if not running or last is None:
            return 0.0
        self.trainer_first.update(self.handle.child_pid)
        budget, longest = self.trainer_first.budget()
        d_wall, d_cpu = now - last[0], cpu - last[1]
        return min(longest, max(0.0, d_cpu / budget - d_wall))

    def current_curves(self) -> RunCurves | None:
        """The run's smoothed whole-run curves as drawn (at most ~PIN_POINTS points); None before any step."""
        s = self.snap
        if s is None or s.step == 0:
            return None
        lm, am = self.loss.mirror, self.acc.mirror
        stride = max(1, lm.n // PIN_POINTS)
        # a pin is drawn thin and always smoothed, at least over the run's default window
        window = max(smoothing_window(self._smoothing, default_window(self._cfg)), default_window(self._cfg))
        return RunCurves(config=Config.from_dict(s.config), step=s.step, run_id=s.run_id,
                         x=lm.x()[::stride].copy(), loss=smooth(lm.values(), window, lm.stride)[::stride].copy(),
                         xa=am.x()[::stride].copy(), acc=smooth(am.values(), window, am.stride)[::stride].copy())
