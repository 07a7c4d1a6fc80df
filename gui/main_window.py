"""The main window: it builds the layout (config panel left; the pages right: the live run's views, Seeds, Sweep,
Thread, switched from the menu bar's corner; the Inspect dock), the menus,
actions and shortcuts, and wires its parts together. The parts do the work: AppState (the state), RunCommands
(start/pause/step/reset and live settings: the one door that buttons, keys, menus and scripts all go through),
FramePresenter (snapshot → views, frame pacing), Exporter (screenshots, view exports), MessageBar,
WindowSettings (also the dock's place: saveState/restoreState), SessionUI, Startup (the first seconds); panels get
a WindowServices, never this.

Keys: the run's shortcuts (Space, S/→, R, P, F12, Alt+←/→ …) are application-wide, and FieldKeys lets them
through a number field that has focus (the field keeps the keys it edits with; Enter leaves it); a focused slider
keeps its arrow keys.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QScrollArea, QSplitter, QVBoxLayout, QWidget

from core.config import Config, ConfigError
from gui.actions import FieldKeys, make_action
from gui.app_state import AppState
from gui.children.worker import WorkerHandle
from gui.commands import RunCommands
from gui.dock import InspectTabs
from gui.files.pictures import Exporter
from gui.files.report import ReportExporter
from gui.files.sessions import SessionUI
from gui.files.unsaved import UnsavedWork
from gui.frames import FramePresenter
from gui.inspect.compare import PinOverlay
from gui.pages import PageStack
from gui.plots.curves import CurveView
from gui.plots.views import BitsView, HiddenView
from gui.recording.control import RecordingControl
from gui.services import WindowServices
from gui.settings import WindowSettings
from gui.startup import Startup
from gui.window import appearance
from gui.window import help as help_dialogs
from gui.window.config_panel import ConfigPanel
from gui.window.message_bar import MessageBar
from gui.window.status_line import StatusLine
from gui.window.toolbar import RunToolbar

TITLE = "GRU Memory Lab"
VIEW_TITLES = (("bits", "Bits"), ("hidden", "Hidden units"), ("loss", "Loss"), ("accuracy", "Accuracy"))


LIVE_MIN_HEIGHTS = (112, 132, 150, 150)  # px: bits, hidden units, loss, accuracy: each readable at 1280x720


def dock_width(window_width: int) -> int:
    """The Inspect dock's width: 30% of the window, 360-520 px (at 1280 px the bits legend still fits)."""
    return int(min(520, max(360, 0.3 * window_width)))


class MainWindow(QMainWindow):
    frame_shown = Signal(object)  # emitted after a snapshot was drawn (tests and automation hook here)

    def __init__(self, cfg: Config | None = None, restore: bool = True, max_fps: float = 60.0,
                 handle: WorkerHandle | None = None):
        """`handle`: a WorkerHandle made (listen=False) from the same config before the window, so that the
        trainer starts while the window is built (gui.app does this); by default the window makes its own."""
        super().__init__()
        self.settings = WindowSettings()
        cfg = self.settings.opening_config(cfg, restore)
        self.state = AppState(cfg, self)
        self._closing = False
        self._dock_sized = False
        self._on_live, self._dock_was_shown = True, True
        if handle is None:
            handle = WorkerHandle(cfg.to_dict(), max_fps=max_fps, listen=False)
        handle.setParent(self)
        self.handle = handle
        self.message = MessageBar()
        self.panel = ConfigPanel(self.state)
        self.panel.set_config(cfg)
        self.bits = BitsView()
        self.hidden = HiddenView()
        self.loss = CurveView("Loss (whole run)", "loss", "loss (raw)", "loss (smoothed)", "val_loss (epoch)",
                              "loss")
        self.acc = CurveView("Accuracy (whole run)", "accuracy", "accuracy (raw)", "accuracy (smoothed)",
                             "val_accuracy (epoch)", "accuracy")
        self.acc.set_show_raw(False)
        self.acc.legend.setOffset((-6, -6))  # bottom right: accuracy lives near the top
        self.acc.getPlotItem().setYRange(0, 1.02, padding=0)
        self.acc.getPlotItem().getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)],
                                                         [(v, f"{v:g}") for v in (0.25, 0.75)]])
        self.views = {"bits": self.bits, "hidden": self.hidden, "loss": self.loss, "accuracy": self.acc}
        self.toolbar = RunToolbar(self)
        self.toolbar.setObjectName("run-toolbar")  # saveState names it
        self.addToolBar(self.toolbar)
        self.status = StatusLine(self.statusBar())
        self.commands = RunCommands(self.handle, self.state, self.panel.config, self.message.error,
                                    self._after_reset, self.status.show_queued_start)
        self.services = WindowServices(
            state=self.state, handle=self.handle, settings=self.settings.store, dialog_parent=self,
            messages=self.message, show_status=self.statusBar().showMessage, config_panel=self.panel,
            save_settings=self.save_settings, pause=self.commands.pause,
            current_curves=lambda: self.presenter.current_curves(), view_settings=self.view_settings,
            restore_view_settings=self.restore_view_settings, reset=self.commands.reset, start=self.commands.start,
            show_live=lambda: self.show_tab("live"))
        self.inspect = InspectTabs(self.services)
        self.presenter = FramePresenter(self.state, self.handle, self.views, self.inspect, self.status,
                                        self.message.error, self)
        self.exports = Exporter(self, self.views, self.message.error, self.statusBar().showMessage,
                                folders=self.settings.folders)
        self.startup = Startup(self, self.status, [self.bits.getPlotItem(), self.hidden.plot,
                                                   self.loss.getPlotItem(), self.acc.getPlotItem()], self)
        self.pin_overlay = PinOverlay(self.state, self.loss, self.acc)
        self.session_ui = SessionUI(self.services, self, self.commands)
        self.unsaved = UnsavedWork(self, self.state, self.session_ui, self.commands, TITLE)  # [*], Save/Discard/Cancel
        recordable = {"window": self, **self.views, "portrait": self.inspect.portrait}
        self.recording = RecordingControl(self.services, recordable, self._show_recorded_view, self, self.commands)
        self.report = ReportExporter(self.services, lambda: self.presenter.snap, self.views,
                                     {"portrait": self.inspect.portrait, "probe": self.inspect.probe})
        self._build_layout()
        self._build_actions()
        self._build_menus()
        self.field_keys = FieldKeys(self._shortcut_keys, self._leave_field, self)
        self.field_keys.watch_all(self)
        self._wire()
        if restore:
            geo = self.settings.geometry()
            if geo is not None:
                self.restoreGeometry(geo)
            self.restore_window_state()
            smoothing, window = self.settings.view_values()
            self.toolbar.smoothing.setValue(smoothing)
            self.toolbar.window_spin.setValue(window)
        if not restore or self.settings.geometry() is None:
            self.resize(1440, 900)
        self.commands.set_window(self.toolbar.window_spin.value())
        self.presenter.set_smoothing(self.toolbar.smoothing_weight())
        self.commands.set_speed(self.toolbar.steps_per_second())
        self.handle.listen()  # every reply is wired: the child's Ready and the first snapshot may come
        ignored = self.settings.take_notices()  # damaged remembered settings were ignored one by one: say which
        if ignored:
            self.message.notice("\n".join(ignored))

    # -- what the tests, the command line and the benches drive ------------------------------------------
    @property
    def snap(self):
        """The last snapshot drawn (None before the first)."""
        return self.presenter.snap

    def show_tab(self, name: str) -> None:
        """Show a page (gui.PAGES) or an Inspect tab (gui.INSPECT_TABS, on the live run's page): `--tab NAME`."""
        if name in self.pages.pages:
            self.pages.show_page(name)
            return
        self.pages.show_page("live")
        self.inspect_dock.show()
        self.inspect.show_tab(name)

    def restore_window_state(self) -> bool:
        """The dock's place and size as remembered; a damaged one is ignored (and named in the notices)."""
        raw = self.settings.window_state()
        if raw is None:
            return False
        if self.restoreState(raw):
            self._dock_sized = True  # the remembered width wins over the first showing's default
            return True
        self.settings.state_not_taken(raw)
        return False

    # -- layout -------------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.live_split = right = QSplitter(Qt.Vertical)
        right.setChildrenCollapsible(False)
        for v, h in zip((self.bits, self.hidden, self.loss, self.acc), LIVE_MIN_HEIGHTS):
            v.setMinimumHeight(h)
            right.addWidget(v)
        right.setSizes([200, 240, 240, 240])
        self.pages = PageStack(right, self.services)
        self.pages.page_changed.connect(self._page_changed)
        self.menuBar().setCornerWidget(self.pages.bar, Qt.TopRightCorner)
        holder = QWidget()
        hl = QVBoxLayout(holder)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.message)
        hl.addWidget(self.pages, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(scroll)
        split.addWidget(holder)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 1100])
        self.setCentralWidget(split)
        self.inspect_dock = QDockWidget("Inspect", self)
        self.inspect_dock.setObjectName("inspect-dock")
        self.inspect_dock.setWidget(self.inspect)
        self.inspect_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                                      | QDockWidget.DockWidgetFloatable)
        self.inspect_dock.setMinimumWidth(360)
        self.addDockWidget(Qt.RightDockWidgetArea, self.inspect_dock)
        self.resizeDocks([self.inspect_dock], [400], Qt.Horizontal)

    # -- actions and menus --------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        ex = self.exports
        self.act_start = make_action(self, "&Start", self.commands.toggle_run, ["Space"], "Start or pause training")
        self.act_step = make_action(self, "S&tep", lambda: self.commands.step(), ["S", "Right"],
                                    "One timestep online, one minibatch in batch mode; → moves the cursor "
                                    "instead while a number field has focus")
        self.act_reset = make_action(self, "&Reset", self.commands.reset, ["R"],
                                     "Build a new model from the config and start over")
        self.act_shot = make_action(self, "Save &screenshot…", ex.save_screenshot_default, ["F12"],
                                    f"Save a PNG of the whole window into {ex.folder()}")
        self.act_shot_as = make_action(self, "Save screenshot &as…", ex.save_screenshot_as, ["Shift+F12"],
                                       "Save a PNG of the whole window, choosing the path")
        self.act_quit = make_action(self, "&Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"], "Quit")
        self.act_close = make_action(self, "&Close window", self.close, [QKeySequence.StandardKey.Close], "Close")
        self.act_pin = make_action(self, "&Pin this run", self.inspect.compare.pin, ["P"],
                                   "Overlay this run's loss and accuracy on later runs")
        for a in (self.act_start, self.act_step, self.act_reset, self.act_pin, self.act_shot, self.act_shot_as):
            a.setShortcutContext(Qt.ApplicationShortcut)  # also from the floating Inspect dock
        self.act_log = QAction("Log-scale loss", self, checkable=True)
        self.toolbar.set_tooltips(self.act_start.toolTip(), self.act_step.toolTip(), self.act_reset.toolTip())
        self.addActions([self.act_start, self.act_step, self.act_reset, self.act_shot, self.act_shot_as])
        self.addActions(self.session_ui.shortcut_actions)
        self.scrub_keys = []
        self.recording.install(self.toolbar)
        self.addAction(self.recording.action)
        for key, d in (("Alt+Left", -1), ("Alt+Right", 1)):  # scrub the inspector
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ApplicationShortcut)
            sc.activated.connect(lambda d=d: self.inspect.inspector.step_by(d))
            self.scrub_keys.append(sc)

    def _shortcut_keys(self) -> list[QKeySequence]:
        """Every shortcut of the window (its actions' and the scrub keys)."""
        actions = {id(a): a for a in (*self.actions(), *self.findChildren(QAction))}
        keys = [k for a in actions.values() for k in a.shortcuts()]
        return keys + [sc.key() for sc in self.scrub_keys]

    def _leave_field(self) -> None:
        """Enter in a number field: it was applied; the focus goes back to the plots."""
        self.bits.setFocus(Qt.ShortcutFocusReason)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        # menus are parented to the window and kept as attributes, so no wrapper's collection can delete them
        self.m_file = QMenu("&File", self)
        mb.addMenu(self.m_file)
        self.m_file.addAction(self.act_shot)
        self.m_file.addAction(self.act_shot_as)
        self.m_export = QMenu("&Export view", self)
        self.m_file.addMenu(self.m_export)
        self.m_file.addAction(self.report.action)
        for key, title in VIEW_TITLES:
            for fmt in ("png", "svg"):
                a = QAction(f"{title} as {fmt.upper()}…", self)
                a.triggered.connect(lambda _c=False, k=key, f=fmt: self.exports.export_view_dialog(k, f))
                self.m_export.addAction(a)
        self.m_file.addSeparator()
        self.m_file.addActions([self.act_close, self.act_quit])  # both ask first when the run is not saved
        self.session_ui.install(self.m_file)
        self.m_run = QMenu("&Run", self)
        mb.addMenu(self.m_run)
        for a in (self.act_start, self.act_step, self.act_reset, self.recording.action):
            self.m_run.addAction(a)
        self.m_view = QMenu("&View", self)
        mb.addMenu(self.m_view)
        self.m_view.addAction(self.inspect_dock.toggleViewAction())
        self.m_view.addAction(self.act_pin)
        self.m_view.addAction(self.act_log)
        appearance.install(self.m_view, self.settings.store)  # Theme: System, Light, Dark (remembered)
        self.hidden.fill_layer_menu(self.m_view.addMenu("Heatmap layer"))  # the shown cell's layers
        self.m_help = QMenu("&Help", self)
        mb.addMenu(self.m_help)
        help_dialogs.install(self, self.m_help)  # shortcuts, the docs, the log folder, About; the window icon

    def show_shortcuts(self):
        return help_dialogs.show_shortcuts(self)

    def show_about(self):
        return help_dialogs.show_about(self)

    # -- wiring -------------------------------------------------------------------------------------------
    def _wire(self) -> None:
        tb, st = self.toolbar, self.state
        tb.btn_start.clicked.connect(self.commands.toggle_run)
        tb.btn_step.clicked.connect(lambda: self.commands.step())  # not clicked(bool) as n
        tb.btn_reset.clicked.connect(self.commands.reset)
        tb.speed_changed.connect(self.commands.set_speed)
        tb.window_changed.connect(self.commands.set_window)
        tb.smoothing_changed.connect(self.presenter.set_smoothing)
        tb.log_box.toggled.connect(self.act_log.setChecked)
        self.act_log.toggled.connect(self._log_toggled)
        self.panel.live_changed.connect(self.commands.live_changed)
        self.inspect.inspector.selected.connect(self._mark_selected)
        st.running_changed.connect(self._show_running)
        self.presenter.frame_shown.connect(self.frame_shown)
        self.presenter.frame_shown.connect(lambda s: self.toolbar.show_mode(s.mode))
        self.frame_shown.connect(self.recording.frame_shown)
        w = self.handle.worker
        w.snapshot.connect(self.presenter.show)
        w.notice.connect(self.message.notice)
        w.error.connect(self._child_error)
        w.ready.connect(self.startup.ready)
        if self.handle.ready_info is not None:
            self.startup.ready(self.handle.ready_info)

    def _show_recorded_view(self, key: str) -> None:
        if key == "portrait":
            self.show_tab("portrait")

    def _page_changed(self, name: str) -> None:
        """The Inspect dock belongs to the live run: hidden on an experiment page, back as it was on the live one."""
        if name == "live":
            if self._dock_was_shown:
                self.inspect_dock.show()
        else:
            if self._on_live:
                self._dock_was_shown = self.inspect_dock.isVisible()
            self.inspect_dock.hide()
        self._on_live = name == "live"

    def _child_error(self, text: str) -> None:
        """The child (or the worker) reports an error: training has stopped."""
        self.message.error(text)
        self.state.stopped()

    def _show_running(self, on: bool) -> None:
        self.toolbar.show_running(on)
        self.act_start.setText("&Pause" if on else "&Start")

    def _log_toggled(self, on: bool) -> None:
        self.toolbar.log_box.setChecked(on)
        self.loss.set_log(on)

    def _mark_selected(self, t) -> None:
        """The inspector's step, marked on every view (no marker while following the newest step)."""
        show = None if self.inspect.inspector.follow.isChecked() else t
        self.bits.mark(show)
        self.hidden.mark(show)
        self.inspect.portrait.mark(t)

    def _after_reset(self) -> None:
        self.message.hide()
        self.save_settings()

    # -- view settings (kept in sessions) and remembered settings ----------------------------------------
    def view_settings(self) -> dict:
        tb = self.toolbar
        return {"window": tb.window_spin.value(), "smoothing": tb.smoothing.value(), "log": self.act_log.isChecked(),
                "layer": self.hidden.layer}

    def restore_view_settings(self, g: dict) -> None:
        if "window" in g:
            self.toolbar.window_spin.setValue(g["window"])  # the spin box clamps to its range
        if "smoothing" in g:
            self.toolbar.smoothing.setValue(g["smoothing"])
        if "log" in g:
            self.act_log.setChecked(g["log"])
        if "layer" in g:
            self.hidden.set_layer(g["layer"])

    def save_settings(self, cfg: Config | None = None) -> None:
        tb = self.toolbar
        state = self.saveState() if self._on_live else None  # an experiment page hides the dock for a while only
        self.settings.save(cfg or self.state.applied, self.saveGeometry(), tb.smoothing.value(),
                           tb.window_spin.value(), state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._dock_sized:  # at its first showing, at its real size: the plots keep most of the width
            self._dock_sized = True
            self.resizeDocks([self.inspect_dock], [dock_width(self.width())], Qt.Horizontal)

    def closeEvent(self, event) -> None:
        if not self._closing and not self.commands.may_close():  # Quit and Close: unsaved work is asked about
            event.ignore()
            return
        if not self._closing:
            self._closing = True
            try:
                edited = self.panel.config()  # remembered as edited, applied or not
            except ConfigError:
                edited = None
            self.show_tab("live")  # the dock as the live run's page has it is what is remembered
            self.save_settings(edited)
            self.pages.stop()
            self.handle.stop(1000)
        super().closeEvent(event)
