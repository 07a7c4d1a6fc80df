"""Frame pacing: each snapshot from the worker is drawn into the views, the run state is taken from it, and
the next snapshot is asked for after a delay that keeps drawing within a CPU budget while training runs.

A view that fails to draw is reported once (per distinct failure) and never stops training or the app.
"""

from __future__ import annotations

import time
import traceback

from PySide6.QtCore import QObject, QTimer, Signal

from core.config import Config

from .app_state import AppState, RunCurves

GUI_CPU_BUDGET = 0.5  # cores the window may use for drawing while training runs (the trainer keeps its own)
MAX_FRAME_DELAY = 0.25  # s: the budget never drops the live view below 4 frames a second
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
        self._smoothing = 0.6
        self._pace = None
        self._draw_errors: set[str] = set()

    # -- settings the frames follow ----------------------------------------------------------------------
    def set_smoothing(self, w: float) -> None:
        self._smoothing = w
        self.loss.set_smoothing(w)
        # online accuracy is one 0/1 per step, so it needs a long average; batch accuracy is per minibatch
        self.acc.set_smoothing(max(w, 0.99) if self.mode == "online" else w)

    def _mode_changed(self, mode: str) -> None:
        self.mode = mode
        unit = "minibatch" if mode == "batch" else "step"
        for v in (self.loss, self.acc):
            v.getPlotItem().setLabel("bottom", unit)
        self.set_smoothing(self._smoothing)

    # -- a frame -----------------------------------------------------------------------------------------
    def show(self, s) -> None:
        """Draw snapshot `s`, take the run state from it, and pace the request for the next one."""
        self.snap = s
        try:
            if s.mode != self.mode:
                self._mode_changed(s.mode)
            self.bits.show_snapshot(s)
            self.hidden.show_snapshot(s)
            batch = s.mode == "batch"
            hist = s.epoch_logs
            self.loss.show_snapshot(s, s.loss_chunk, [e["val_loss"] for e in hist] if batch else None)
            self.acc.show_snapshot(s, s.acc_chunk, [e["val_accuracy"] for e in hist] if batch else None)
            self.status.show_snapshot(s)
            self.inspect.show_snapshot(s)
        except Exception as e:  # a view that fails to draw is reported once; training and the app go on
            text = f"A view failed to draw: {type(e).__name__}: {e}"
            if text not in self._draw_errors:  # each distinct failure is reported once, not every frame
                self._draw_errors.add(text)
                self.report_error(text + "\n" + traceback.format_exc(limit=3))
        finally:
            self.frames += 1
            self.state.snapshot_drawn(s.running)
            delay = self.frame_delay(s.running)
            if delay > 0:
                QTimer.singleShot(int(delay * 1000), self.handle.frame_drawn)
            else:
                self.handle.frame_drawn()
        self.frame_shown.emit(s)

    def frame_delay(self, running: bool) -> float:
        """Seconds to wait before asking for the next snapshot, so that drawing (this process's CPU, paints
        included) stays within GUI_CPU_BUDGET of a core while training runs; 0 when paused."""
        now, cpu = time.perf_counter(), time.process_time()
        last, self._pace = self._pace, (now, cpu)
        if not running or last is None:
            return 0.0
        d_wall, d_cpu = now - last[0], cpu - last[1]
        return min(MAX_FRAME_DELAY, max(0.0, d_cpu / GUI_CPU_BUDGET - d_wall))

    def current_curves(self) -> RunCurves | None:
        """The run's smoothed whole-run curves as drawn (at most ~PIN_POINTS points); None before any step."""
        s = self.snap
        if s is None or s.step == 0:
            return None
        lm, am = self.loss.mirror, self.acc.mirror
        stride = max(1, lm.n // PIN_POINTS)
        return RunCurves(config=Config.from_dict(s.config), step=s.step, run_id=s.run_id,
                         x=lm.x()[::stride].copy(), loss=lm.smoothed()[::stride].copy(),
                         xa=am.x()[::stride].copy(), acc=am.smoothed()[::stride].copy())
