"""The main window: config panel and run controls on the left, the live views on the right, menus, status bar,
screenshots and view exports, a message bar for notices and errors, and remembered geometry and config.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.config import Config, ConfigError

from .controls import ConfigPanel
from .inspect_panel import InspectTabs
from .views import BitsView, CurveView, HiddenView
from .worker import WorkerHandle

SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 0]  # steps/s; 0 = as fast as it goes
SMOOTHING_MAX = 0.999
GUI_CPU_BUDGET = 0.5  # cores the window may use for drawing while training runs (the trainer keeps its own)
MAX_FRAME_DELAY = 0.25  # s: the budget never drops the live view below 4 frames a second


def settings_store() -> QSettings:
    import os

    path = os.environ.get("GML_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "GRU Memory Lab", "gru-memory-lab")


class MessageBar(QWidget):
    """A dismissable in-window banner for notices (blue) and errors (red); never blocks the event loop."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.text, 1)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(close)
        self.setAutoFillBackground(True)
        self.level = None
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level
        colors = {"info": ("#0b4f8a", "#e3f0fb", "#9cc3e6"), "error": ("#8a1111", "#fde8e8", "#e6a0a0")}
        fg, bg, border = colors.get(level, colors["info"])
        self.setStyleSheet(f"MessageBar {{ background: {bg}; border: 1px solid {border}; border-radius: 3px; }}"
                           f" QLabel {{ color: {fg}; }}")
        self.text.setText(text)
        self.show()


class MainWindow(QMainWindow):
    frame_shown = Signal(object)  # emitted after a snapshot was drawn (tests and automation hook here)

    def __init__(self, cfg: Config | None = None, restore: bool = True, max_fps: float = 60.0):
        super().__init__()
        self.setWindowTitle("GRU Memory Lab")
        self.settings = settings_store()
        saved = None
        if restore and cfg is None:
            saved = self._saved_config()
        cfg = cfg or saved or Config()
        self.snap = None
        self.reset_count = 0  # Resets sent so far (answers to earlier requests can tell they are stale)
        self._pace = None
        self._mode = "online"
        self.running = False
        self.frames = 0
        self.frame_ms = 0.0
        self.errors: list[str] = []
        self._draw_errors: set[str] = set()
        self.notices: list[str] = []
        self._build_ui()
        self.panel.set_config(cfg)
        self.panel.mark_applied(cfg)
        self.applied = cfg
        if restore:
            geo = self.settings.value("window/geometry")
            if geo is not None:
                self.restoreGeometry(geo)
            self.smoothing.setValue(int(self.settings.value("view/smoothing", 60)))
            self.window_spin.setValue(int(self.settings.value("view/window", 200)))
        if not restore or self.settings.value("window/geometry") is None:
            self.resize(1440, 900)
        self.handle = WorkerHandle(cfg.to_dict(), max_fps=max_fps, parent=self)
        w = self.handle.worker
        w.snapshot.connect(self._on_snapshot)
        w.notice.connect(self._on_notice)
        w.error.connect(self._on_error)
        w.ready.connect(self._on_ready)
        self.handle.set_window(self.window_spin.value())
        self._smoothing_changed(self.smoothing.value())
        self._apply_speed()
        self._closing = False
        from . import session_ui  # File ▸ sessions, recent files, CSV export
        session_ui.install(self)

    # -- layout -------------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.panel = ConfigPanel()
        self.panel.live_changed.connect(self._live_changed)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        self.message = MessageBar()
        self.bits = BitsView()
        self.hidden = HiddenView()
        self.loss = CurveView("Loss (whole run)", "loss", "loss (raw)", "loss (smoothed)", "val_loss (epoch)",
                              "#1f77b4")
        self.acc = CurveView("Accuracy (whole run)", "accuracy", "accuracy (raw)", "accuracy (smoothed)",
                             "val_accuracy (epoch)", "#2ca02c")
        self.acc.set_show_raw(False)
        self.acc.legend.setOffset((-6, -6))  # bottom right: accuracy lives near the top
        self.acc.getPlotItem().setYRange(0, 1.02, padding=0)
        self.views = {"bits": self.bits, "hidden": self.hidden, "loss": self.loss, "accuracy": self.acc}

        right = QSplitter(Qt.Vertical)
        for v in (self.bits, self.hidden, self.loss, self.acc):
            v.setMinimumHeight(120)
            right.addWidget(v)
        right.setSizes([220, 260, 220, 160])
        holder = QWidget()
        hl = QVBoxLayout(holder)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.message)
        hl.addWidget(right, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(scroll)
        split.addWidget(holder)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 1100])
        self.setCentralWidget(split)
        self.inspect = InspectTabs(self)
        self.inspect.inspector.selected.connect(self._mark_selected)
        self.inspect_dock = QDockWidget("Inspect", self)
        self.inspect_dock.setObjectName("inspect-dock")
        self.inspect_dock.setWidget(self.inspect)
        self.inspect_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                                      | QDockWidget.DockWidgetFloatable)
        self.inspect_dock.setMinimumWidth(360)
        self.addDockWidget(Qt.RightDockWidgetArea, self.inspect_dock)
        self.resizeDocks([self.inspect_dock], [400], Qt.Horizontal)
        self._build_actions()
        self._build_toolbar()
        self._build_status()

    def _build_actions(self) -> None:
        def act(text, slot, keys=(), tip=""):
            a = QAction(text, self)
            if keys:
                a.setShortcuts([QKeySequence(k) for k in keys])
                tip = f"{tip} ({' or '.join(QKeySequence(k).toString() for k in keys)})"
            a.setToolTip(tip.strip())
            a.setStatusTip(tip.strip())
            a.triggered.connect(slot)
            return a

        self.act_start = act("&Start", self.toggle_run, ["Space"], "Start or pause training")
        self.act_step = act("S&tep", self.step, ["Right", "S"],
                            "One timestep online, one minibatch in batch mode")
        self.act_reset = act("&Reset", self.reset, ["R"], "Build a new model from the config and start over")
        self.act_shot = act("Save &screenshot…", self.save_screenshot_default, ["Ctrl+S"],
                            "Save a PNG of the whole window into screenshots/")
        self.act_shot_as = act("Save screenshot &as…", self.save_screenshot_as, ["Ctrl+Shift+S"],
                               "Save a PNG of the whole window, choosing the path")
        self.act_quit = act("&Quit", self.close, ["Ctrl+Q"], "Close the window")
        for a in (self.act_start, self.act_step, self.act_reset):
            a.setShortcutContext(Qt.ApplicationShortcut)
        mb = self.menuBar()
        # menus are parented to the window and kept as attributes, so no wrapper's collection can delete them
        m_file = self.m_file = QMenu("&File", self)
        mb.addMenu(m_file)
        m_file.addAction(self.act_shot)
        m_file.addAction(self.act_shot_as)
        m_exp = self.m_export = QMenu("&Export view", self)
        m_file.addMenu(m_exp)
        for key, title in (("bits", "Bits"), ("hidden", "Hidden units"), ("loss", "Loss"), ("accuracy", "Accuracy")):
            for fmt in ("png", "svg"):
                a = QAction(f"{title} as {fmt.upper()}…", self)
                a.triggered.connect(lambda _c=False, k=key, f=fmt: self.export_view_dialog(k, f))
                m_exp.addAction(a)
        m_file.addSeparator()
        m_file.addAction(self.act_quit)
        m_run = self.m_run = QMenu("&Run", self)
        mb.addMenu(m_run)
        for a in (self.act_start, self.act_step, self.act_reset):
            m_run.addAction(a)
        self.m_view = QMenu("&View", self)
        mb.addMenu(self.m_view)
        self.m_view.addAction(self.inspect_dock.toggleViewAction())
        self.act_pin = act("&Pin this run", lambda: self.inspect.compare.pin(), ["P"],
                           "Overlay this run's loss and accuracy on later runs")
        self.act_pin.setShortcutContext(Qt.ApplicationShortcut)
        self.m_view.addAction(self.act_pin)
        self.act_log = QAction("Log-scale loss", self, checkable=True)
        self.act_log.toggled.connect(self._log_toggled)
        self.m_view.addAction(self.act_log)
        for key in ("h", "n", "z", "r"):
            a = QAction(f"Heatmap: {key}", self)
            a.triggered.connect(lambda _c=False, k=key: self.hidden.set_layer(k))
            self.m_view.addAction(a)
        self.m_help = QMenu("&Help", self)
        mb.addMenu(self.m_help)
        a = QAction("&Keyboard shortcuts", self)
        a.triggered.connect(self.show_shortcuts)
        self.m_help.addAction(a)
        a = QAction("&About GRU Memory Lab", self)
        a.triggered.connect(self.show_about)
        self.m_help.addAction(a)
        self.addActions([self.act_start, self.act_step, self.act_reset, self.act_shot, self.act_shot_as])

    def _build_toolbar(self) -> None:
        tb = QToolBar("Run")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.btn_start = QPushButton("▶  Start")
        self.btn_start.setMinimumWidth(96)
        self.btn_start.clicked.connect(self.toggle_run)
        self.btn_start.setToolTip(self.act_start.toolTip())
        self.btn_step = QPushButton("Step")
        self.btn_step.clicked.connect(self.step)
        self.btn_step.setToolTip(self.act_step.toolTip())
        self.btn_reset = QPushButton("Reset")
        self.btn_reset.clicked.connect(self.reset)
        self.btn_reset.setToolTip(self.act_reset.toolTip())
        for b in (self.btn_start, self.btn_step, self.btn_reset):
            b.setFocusPolicy(Qt.NoFocus)
            tb.addWidget(b)
        tb.addSeparator()
        tb.addWidget(QLabel(" Speed "))
        self.speed = QSlider(Qt.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(len(SPEEDS) - 1)
        self.speed.setFixedWidth(140)
        self.speed.setToolTip("Steps per second: from a few (to follow by eye) to as fast as it goes; applies live")
        self.speed.valueChanged.connect(self._apply_speed)
        tb.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(70)
        tb.addWidget(self.speed_label)
        tb.addSeparator()
        tb.addWidget(QLabel(" Window W "))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(20, 2000)
        self.window_spin.setSingleStep(50)
        self.window_spin.setValue(200)
        self.window_spin.setToolTip("How many recent timesteps the bits and hidden views show (20–2000)")
        self.window_spin.valueChanged.connect(lambda v: self.handle.set_window(v))
        tb.addWidget(self.window_spin)
        tb.addSeparator()
        tb.addWidget(QLabel(" Smoothing "))
        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setFixedWidth(110)
        self.smoothing.setToolTip("Exponential smoothing of the loss and accuracy curves (as TensorBoard's)")
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        tb.addWidget(self.smoothing)
        self.smoothing_label = QLabel("0.60")
        self.smoothing_label.setMinimumWidth(36)
        tb.addWidget(self.smoothing_label)
        self.log_box = QCheckBox("log-y loss")
        self.log_box.setToolTip("Logarithmic loss axis")
        self.log_box.toggled.connect(self.act_log.setChecked)
        tb.addWidget(self.log_box)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.st = {k: QLabel() for k in ("mode", "device", "step", "rate", "loss", "acc")}
        for k in ("mode", "device", "step", "rate", "loss", "acc"):
            self.st[k].setMinimumWidth(90)
            sb.addPermanentWidget(self.st[k])
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("epoch %v / %m")
        self.progress.setVisible(False)
        sb.addPermanentWidget(self.progress)

    # -- commands -----------------------------------------------------------------------------------------
    def toggle_run(self) -> None:
        if self.running:
            self.pause()
        else:
            self.start()

    def start(self) -> None:
        self.handle.send("start")
        self._set_running(True)

    def pause(self) -> None:
        self.handle.send("pause")
        self._set_running(False)

    def step(self) -> None:
        self.handle.send("step", 1)
        self._set_running(False)

    def reset(self) -> None:
        try:
            cfg = self.panel.config()
        except ConfigError as e:
            self._on_error(f"Cannot reset: {e}")
            return
        self.handle.send("reset", cfg.to_dict())
        self.reset_count += 1
        ui = getattr(self, "session_ui", None)
        if ui is not None and ui.current_path:  # a new run is no longer the saved session: Save asks for a path
            ui.current_path = None
            ui._title()
        self.applied = cfg
        self.panel.mark_applied(cfg)
        self.inspect.compare.relabel()
        self._set_running(False)
        self.message.hide()
        self._save_settings()

    def _set_running(self, on: bool) -> None:
        self.running = on
        self.btn_start.setText("⏸  Pause" if on else "▶  Start")
        self.act_start.setText("&Pause" if on else "&Start")

    def _live_changed(self, name: str, value) -> None:
        if name == "lr":
            self.handle.send("set_lr", float(value))
            d = self.applied.to_dict()
            d["train"]["lr"] = float(value)
            self.applied = Config.from_dict(d)
            self.panel.mark_applied(self.applied)

    def _apply_speed(self) -> None:
        v = SPEEDS[self.speed.value()]
        self.speed_label.setText("max" if v == 0 else f"{v:,}/s")
        self.handle.send("set_speed", float(v))

    def _smoothing_changed(self, v: int) -> None:
        w = min(v / 100.0, SMOOTHING_MAX)
        self.smoothing_label.setText(f"{w:.2f}")
        self.loss.set_smoothing(w)
        # online accuracy is one 0/1 per step, so it needs a long average; batch accuracy is per minibatch
        self.acc.set_smoothing(max(w, 0.99) if self._mode == "online" else w)

    def _mode_changed(self, mode: str) -> None:
        self._mode = mode
        unit = "minibatch" if mode == "batch" else "step"
        for v in (self.loss, self.acc):
            v.getPlotItem().setLabel("bottom", unit)
        self._smoothing_changed(self.smoothing.value())

    def _log_toggled(self, on: bool) -> None:
        self.log_box.setChecked(on)
        self.loss.set_log(on)

    # -- worker messages ----------------------------------------------------------------------------------
    def _on_ready(self, info: dict) -> None:
        self.st["device"].setText(f"device: {info.get('device', '?')}")

    def _on_notice(self, text: str) -> None:
        self.notices.append(text)
        self.message.show_message(text, "info")
        if "finished" in text.lower() or "reached" in text.lower():
            self._set_running(False)

    def _on_error(self, text: str) -> None:
        self.errors.append(text)
        self.message.show_message(text, "error")
        self._set_running(False)

    def _on_snapshot(self, s) -> None:
        t0 = time.perf_counter()
        self.snap = s
        try:
            if s.mode != self._mode:
                self._mode_changed(s.mode)
            self.bits.show_snapshot(s)
            self.hidden.show_snapshot(s)
            hist = s.epoch_logs
            self.loss.show_snapshot(s, s.loss_chunk, [e["val_loss"] for e in hist] if s.mode == "batch" else None)
            self.acc.show_snapshot(s, s.acc_chunk,
                                   [e["val_accuracy"] for e in hist] if s.mode == "batch" else None)
            self._update_status(s)
            self.inspect.show_snapshot(s)
        except Exception as e:  # a view that fails to draw is reported once; training and the app go on
            import traceback

            text = f"A view failed to draw: {type(e).__name__}: {e}"
            if text not in self._draw_errors:  # each distinct failure is reported once, not every frame
                self._draw_errors.add(text)
                self._on_error(text + "\n" + traceback.format_exc(limit=3))
        finally:
            self.frames += 1
            self.frame_ms = (time.perf_counter() - t0) * 1000
            delay = self._frame_delay(s.running)
            if delay > 0:
                QTimer.singleShot(int(delay * 1000), self.handle.frame_drawn)
            else:
                self.handle.frame_drawn()
        self.frame_shown.emit(s)

    def _frame_delay(self, running: bool) -> float:
        """Seconds to wait before asking for the next snapshot, so that drawing (this process's CPU, paints
        included) stays within GUI_CPU_BUDGET of a core while training runs; 0 when paused."""
        now, cpu = time.perf_counter(), time.process_time()
        last, self._pace = self._pace, (now, cpu)
        if not running or last is None:
            return 0.0
        d_wall, d_cpu = now - last[0], cpu - last[1]
        return min(MAX_FRAME_DELAY, max(0.0, d_cpu / GUI_CPU_BUDGET - d_wall))

    SHORTCUTS = (("Space", "start / pause"), ("→ or S", "one step (a minibatch in batch mode)"), ("R", "reset"),
                 ("Alt+← / Alt+→", "scrub the inspector over the recorded window"), ("P", "pin this run"),
                 ("Ctrl+S", "save a screenshot"), ("Ctrl+Shift+S", "save a screenshot as…"),
                 ("Ctrl+O", "open a session"), ("Ctrl+Alt+S", "save the session"), ("Ctrl+Q", "quit"))

    def _info(self, title: str, html: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Information, title, "", QMessageBox.Close, self)
        box.setTextFormat(Qt.RichText)
        box.setText(html)
        box.open()  # window-modal, never blocks the event loop (training and drawing go on)
        return box

    def show_shortcuts(self) -> QMessageBox:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in self.SHORTCUTS)
        return self._info("Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> QMessageBox:
        return self._info("About GRU Memory Lab", (
            "<h3>GRU Memory Lab</h3><p>Train a tiny GRU live and see, step by step, whether and how a recurrent "
            "network remembers.</p><p>It starts from a much-read question: an online GRU on random bits, asked "
            "for NOT of the previous input, that 'could not cope' — because the loss was taken on the raw GRU "
            "state. Try the <i>question</i>, <i>question-fixed</i> and <i>answer</i> presets, then longer lags "
            "with truncated BPTT against exact RTRL.</p>"))

    def _mark_selected(self, t) -> None:
        """The inspector's step, marked on every view (no marker while following the newest step)."""
        show = None if self.inspect.inspector.follow.isChecked() else t
        self.bits.mark(show)
        self.hidden.mark(show)
        self.inspect.portrait.mark(t)

    def _update_status(self, s) -> None:
        def fmt(v, spec=".4f"):
            return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)

        self.st["mode"].setText(f"mode: {s.mode}")
        self.st["device"].setText(f"device: {s.device}")
        if s.mode == "batch":
            self.st["step"].setText(f"epoch {s.epoch} · batch {s.step:,}")
            self.progress.setVisible(True)
            self.progress.setMaximum(s.config["train"]["epochs"])
            self.progress.setValue(s.epoch)
        else:
            self.st["step"].setText(f"step {s.step:,}")
            self.progress.setVisible(False)
        self.st["rate"].setText(f"{s.steps_per_second:,.0f} steps/s" if s.running else "paused")
        self.st["loss"].setText(f"loss {fmt(s.loss)}")
        self.st["acc"].setText(f"{s.accuracy_label} {fmt(s.accuracy, '.3f')}")

    # -- screenshots and exports --------------------------------------------------------------------------
    def save_screenshot(self, path: str | Path) -> Path | None:
        """Write a PNG of the whole window; on failure show a message and return None."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._on_error(f"Cannot create the folder {path.parent}: {e.strerror}. Nothing was saved.")
            return None
        pix = self.grab()
        if pix.isNull() or not pix.save(str(path), "PNG"):
            self._on_error(f"Could not write the screenshot to {path} (is the folder writable?). "
                           "Nothing was lost; choose another path with File ▸ Save screenshot as….")
            return None
        self.statusBar().showMessage(f"Screenshot saved: {path}", 5000)
        return path

    def default_screenshot_path(self) -> Path:
        return Path("screenshots") / time.strftime("gml-%Y%m%d-%H%M%S.png")

    def save_screenshot_default(self) -> Path | None:
        return self.save_screenshot(self.default_screenshot_path())

    def save_screenshot_as(self) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", str(self.default_screenshot_path()),
                                              "PNG image (*.png)")
        return self.save_screenshot(path) if path else None

    def _plot_item(self, key: str):
        v = self.views[key]
        return v.plot if isinstance(v, HiddenView) else v.getPlotItem()

    def export_view(self, key: str, path: str | Path) -> Path | None:
        """Export one view as PNG or SVG (by the path's suffix); on failure a message, and None."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        exporter_cls = {"png": pg.exporters.ImageExporter, "svg": pg.exporters.SVGExporter}.get(fmt)
        if exporter_cls is None:
            self._on_error(f"Unknown export format '.{fmt}': use .png or .svg.")
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            exp = exporter_cls(self._plot_item(key))
            if fmt == "png":
                exp.parameters()["width"] = max(800, int(self.views[key].width() * 2))
            exp.export(str(path))
        except Exception as e:  # an exporter or file-system failure is a message, never a crash
            self._on_error(f"Could not export the {key} view to {path}: {e}. Nothing was lost.")
            return None
        if not path.exists():
            self._on_error(f"Could not export the {key} view to {path}.")
            return None
        self.statusBar().showMessage(f"Exported {key} view: {path}", 5000)
        return path

    def export_view_dialog(self, key: str, fmt: str) -> None:
        default = Path("screenshots") / time.strftime(f"gml-{key}-%Y%m%d-%H%M%S.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export {key} view", str(default), f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export_view(key, path)

    # -- settings and closing -----------------------------------------------------------------------------
    def _saved_config(self) -> Config | None:
        import json

        raw = self.settings.value("config/last")
        if not raw:
            return None
        try:
            return Config.from_dict(json.loads(raw))
        except (ValueError, TypeError, ConfigError):
            return None  # a stale or damaged setting: start from defaults

    def _save_settings(self) -> None:
        import json

        self.settings.setValue("config/last", json.dumps(self.applied.to_dict()))
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("view/smoothing", self.smoothing.value())
        self.settings.setValue("view/window", self.window_spin.value())
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if not self._closing:
            self._closing = True
            try:
                self.applied = self.panel.config()
            except ConfigError:
                pass
            self._save_settings()
            self.inspect.seeds.stop()
            self.handle.stop(1000)
        super().closeEvent(event)
