"""The Sweep tab: pick one or two config axes, the seeds and the steps, press Run, and watch the reliability map
fill in while the learners train (core.children.sweep.sweep_child in its own process, through a ChildLink; typed
messages SweepEvent / SweepDone / Error). Stop keeps the finished cells (a partial report). Clicking a cell loads
that config with its first failing seed (or its first seed when all learned) into the window, ready to Start.
Export writes the map as PNG or SVG (core.sweep.render) or the cells as CSV, through core.atomic_io. The window's
map, hint and error line take the theme's colours (gui.plots.theme).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.atomic_io import LabFileError, write_bytes
from core.config import ConfigError
from core.formatting import progress_text
from core.messages import Error, StopSweep, SweepDone, SweepEvent
from core.sweep.grid import AxisError, SweepCollector, parse_axis, plan_sweep
from core.sweep.render import title
from core.workers.pool import SCHEDULER_SETTING, window_workers
from gui.children.entry import sweep_main
from gui.children.link import ChildLink
from gui.experiments.sweep_map import SweepMap
from gui.plots.theme import Palette, current, follow
from gui.settings import DialogFolders

STOP_GRACE_MS = 15000  # after Stop, the child finishes its chunk and reports; past this it is ended outright
EXPORTS = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV table (*.csv)"}


class SweepPanel(QWidget):
    """`services` is the window's WindowServices: the left panel's config (the sweep's base), load_config, and
    the message bar."""

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.link = ChildLink(sweep_main, name="gml-sweep", duplex=True, parent=self)
        self.link.message.connect(self._on_message)
        self.link.died.connect(self._on_died)
        self.plan = None
        self.collector: SweepCollector | None = None
        self.report: dict | None = None  # the last full or partial report (what Export writes)
        self.done_cells: dict[int, dict] = {}
        self.live: dict[tuple[int, int], list[int]] = {}  # (batch, cell) -> [reached, learners]
        self.engine_text = ""  # where the learners run, as the sweep process said
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self.stop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        self.x_edit = QLineEdit("lag=1:4")
        self.y_edit = QLineEdit("window=1:4")
        self.y_edit.setPlaceholderText("optional, e.g. window=1:7 or rule=tbptt,rtrl")
        tip = ("FIELD=VALUES: lag=1:6 (inclusive), lag=1,3,5, lr=log:1e-4:1e-1:7, p=lin:0.1:0.5:5, rule=tbptt,rtrl, "
               "cell=rnn,gru,lstm")
        for e in (self.x_edit, self.y_edit):
            e.setToolTip(tip)
            e.returnPressed.connect(self.run)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 256)
        self.seeds.setValue(8)
        self.seeds.setToolTip("Learners per cell: the config's seed and the next S - 1")
        self.steps = QSpinBox()
        self.steps.setRange(100, 1_000_000)
        self.steps.setSingleStep(1000)
        self.steps.setValue(10000)
        self.steps.setGroupSeparatorShown(True)
        self.steps.setToolTip("Online training steps per learner (then the config's held-out steps)")
        grid.addWidget(QLabel("x axis"), 0, 0)
        grid.addWidget(self.x_edit, 0, 1, 1, 3)
        grid.addWidget(QLabel("y axis"), 1, 0)
        grid.addWidget(self.y_edit, 1, 1, 1, 3)
        grid.addWidget(QLabel("seeds"), 2, 0)
        grid.addWidget(self.seeds, 2, 1)
        grid.addWidget(QLabel("steps"), 2, 2)
        grid.addWidget(self.steps, 2, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        lay.addLayout(grid)
        row = QHBoxLayout()
        self.btn_run = QPushButton("Run")
        self.btn_run.setToolTip("Sweep the left panel's config (online) over the axes, in a separate process")
        self.btn_run.clicked.connect(self.run)
        self.btn_stop = QPushButton("Stop")
        self.btn_stop.setToolTip("Stop after the current chunk, keeping the finished cells (a partial map)")
        self.btn_stop.setEnabled(False)
        self.btn_stop.clicked.connect(self.request_stop)
        self.btn_export = QPushButton("Export")
        self.export_menu = QMenu(self)
        for fmt, text in EXPORTS.items():
            self.export_menu.addAction(text.split(" (")[0] + "…", lambda f=fmt: self.export_dialog(f))
        self.btn_export.setMenu(self.export_menu)
        self.btn_export.setEnabled(False)
        for b in (self.btn_run, self.btn_stop, self.btn_export):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        lay.addWidget(self.progress)
        self.status = QLabel("Sweeps the config in the left panel (online) over one or two axes: each cell trains "
                             "S seeds and counts those whose held-out accuracy reaches 0.99.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)  # it quotes the axis specs typed: markup shows as typed
        lay.addWidget(self.status)
        self.map_title = QLabel("")
        self.map_title.setWordWrap(True)
        self.map_title.setTextFormat(Qt.PlainText)  # field names and values from the specs
        self.map_title.setStyleSheet("font-weight: bold")
        lay.addWidget(self.map_title)
        self.map = SweepMap()
        self.map.cell_clicked.connect(self.load_cell)
        lay.addWidget(self.map, 1)
        self.hint = QLabel("Colour: fraction learned so far (k/S in the cell; … = still training). Click a cell to "
                           "load its first failing seed into the window.")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self._error = False
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        self.hint.setStyleSheet(f"color: {t.muted}")
        self.status.setStyleSheet(f"color: {t.bad}" if self._error else "")

    # -- running ----------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.link.alive

    def _say(self, text: str, error: bool = False) -> None:
        self._error = error
        self.apply_theme(current())
        self.status.setText(text)

    def run(self) -> bool:
        """Validate the axes, plan the sweep and start it in a child process; a bad input is one message."""
        if self.busy:
            return False
        try:
            base = self.services.edited_config().replace(mode="online", steps=self.steps.value())
        except ConfigError as e:
            self._say(f"Cannot sweep the left panel's config: {e}", error=True)
            return False
        specs = [s for s in (self.x_edit.text().strip(), self.y_edit.text().strip()) if s]
        try:
            if not specs:
                raise AxisError("the x axis is empty: e.g. lag=1:6")
            axes = [parse_axis(s, base) for s in specs]
            plan = plan_sweep(base, axes, self.seeds.value())
        except (AxisError, ConfigError, ValueError) as e:
            self._say(f"Cannot sweep: {e}", error=True)
            return False
        self.plan, self.collector, self.report = plan, SweepCollector(plan), None
        self.done_cells, self.live = {}, {}
        ys = axes[1] if len(axes) > 1 else None
        self.map.set_grid(axes[0].field, axes[0].labels, ys.field if ys else "", ys.labels if ys else [],
                          [(c.index, c.ix, c.iy, plan.seeds) for c in plan.cells])
        self.map_title.setText(title({**self.collector.report(False), "partial": False}))
        request = {"config": base.to_dict(), "axes": specs, "seeds": plan.seeds, "app_device": base.train.device,
                   **self._where(plan.learner_steps)}
        self.engine_text = ""
        self.link.start(request, poll_ms=100)
        self.progress.setValue(0)
        n = len(plan.cells)
        self._say(f"Training {n} cells × {plan.seeds} seeds = {n * plan.seeds} learners, "
                  f"{plan.learner_steps:,} learner-steps…")
        self._set_running(True)
        return True

    def _where(self, learner_steps: int) -> dict:
        """Where the learners run: local workers (a core left to the live trainer while it runs), or the Dask
        scheduler named in the settings (SCHEDULER_SETTING; docs/scaling.md). Services without settings or state
        (a test's slice of WindowServices) mean no scheduler and an idle trainer."""
        settings, state = getattr(self.services, "settings", None), getattr(self.services, "state", None)
        scheduler = str(settings.value(SCHEDULER_SETTING, "") or "").strip() or None if settings is not None else None
        running = bool(getattr(state, "running", False))
        return {"workers": window_workers(running, learner_steps), "scheduler": scheduler}

    def request_stop(self) -> None:
        """Stop after the current chunk; the child sends the partial report (or is ended after a grace time)."""
        if self.busy and self.link.send(StopSweep()):
            self._say("Stopping after the current chunk; finished cells are kept…")
            self.btn_stop.setEnabled(False)
            self._stop_timer.start(STOP_GRACE_MS)
        else:
            self.stop()

    def stop(self) -> None:
        """End the child now, keeping the finished cells (used when the window closes)."""
        self._stop_timer.stop()
        was_running = self.busy
        self.link.stop()
        if was_running and self.report is None and self.plan is not None:
            self._finish(self._local_report(), stopped=True)
        self._set_running(False)

    def _set_running(self, on: bool) -> None:
        self.btn_run.setEnabled(not on)
        self.btn_stop.setEnabled(on)
        self.btn_export.setEnabled(not on and self.report is not None)
        for w in (self.x_edit, self.y_edit, self.seeds, self.steps):
            w.setEnabled(not on)

    # -- messages from the child ------------------------------------------------------------------------------
    def _on_message(self, msg) -> None:
        """One handler per type of core.messages.SWEEP_REPLIES (`HANDLERS`)."""
        handler = self.HANDLERS.get(type(msg))
        if handler is not None:
            handler(self, msg)

    def _on_event(self, msg: SweepEvent) -> None:
        ev = msg.event
        if ev["type"] == "cell":
            self._cell_done(ev["cell"])
        elif ev["type"] == "progress":
            self._progress(ev)
        elif ev["type"] == "engine":
            self.engine_text = ev["text"] + (f" ({ev['note']})" if ev.get("note") else "")

    def _on_done(self, msg: SweepDone) -> None:
        self._stop_timer.stop()
        self.link.stop()
        for c in msg.report["cells"]:
            if c["done"]:
                self._cell_done(c)
        self._finish(msg.report, stopped=msg.report["partial"])
        self._set_running(False)

    def _on_error(self, msg: Error) -> None:
        self.link.stop()
        self._say(f"The sweep failed: {msg.text}", error=True)
        self._set_running(False)

    HANDLERS: dict[type, Callable[[SweepPanel, object], None]] = {
        SweepEvent: _on_event, SweepDone: _on_done, Error: _on_error}

    def _on_died(self, code) -> None:
        if self.report is None and self.plan is not None:
            self._finish(self._local_report(), stopped=True)
            self._say(f"The sweep process ended before finishing (exit code {code}); "
                      f"kept {len(self.done_cells)} finished cell(s).", error=True)
        self._set_running(False)

    def _progress(self, ev: dict) -> None:
        if self.collector is not None:
            self.collector.learner_steps = ev["done"]
        for c, (reached, n) in ev["live"].items():
            self.live[(ev["batch"], int(c))] = [reached, n]
        sums: dict[int, list[int]] = {}
        for (_b, c), (reached, n) in self.live.items():
            s = sums.setdefault(c, [0, 0])
            s[0] += reached
            s[1] += n
        for c, (reached, n) in sums.items():
            if c not in self.done_cells:
                cell = self.plan.cells[c]
                self.map.set_cell(cell.ix, cell.iy, reached, n, False)
        total = max(1, ev["total"])
        self.progress.setValue(int(1000 * ev["done"] / total))
        rate = ev["done"] / ev["elapsed"] if ev["elapsed"] > 0 else 0.0
        self._say(f"{progress_text(ev['done'], ev['total'], rate, 'learner-step')} · batch {ev['batch'] + 1}/"
                  f"{ev['n_batches']} · {len(self.done_cells)}/{len(self.plan.cells)} cells judged"
                  + (f" · {self.engine_text}" if self.engine_text else ""))

    def _cell_done(self, c: dict) -> None:
        self.done_cells[c["index"]] = c
        self.map.set_cell(c["ix"], c["iy"], c["learned"], c["n_seeds"], True)

    def _local_report(self) -> dict:
        """The report of what finished, built here (when the child could not send its own): partial."""
        rep = self.collector.report(partial=True)
        rep["cells"] = [self.done_cells.get(c["index"], c) for c in rep["cells"]]
        rep["cells_done"] = len(self.done_cells)
        rep["peak_rss_mb"] = None  # this process's, not the sweep's
        return rep

    def _finish(self, report: dict, stopped: bool) -> None:
        self.report = report
        self.map_title.setText(title(report))
        k = sum(c["learned"] for c in report["cells"] if c["done"])
        n = sum(c["n_seeds"] for c in report["cells"] if c["done"])
        d = sum(c.get("diverged", 0) for c in report["cells"] if c["done"])
        head = (f"Stopped: kept {report['cells_done']}/{report['cells_total']} finished cells (partial)" if stopped
                else f"Finished {report['cells_total']} cells in {report['elapsed_s']:.0f} s"
                + (f" ({self.engine_text})" if self.engine_text else ""))
        self.progress.setValue(1000 if not stopped else self.progress.value())
        diverged = f", {d} diverged (a diverged learner never counts as learned)" if d else ""
        self._say(f"{head}; {k}/{n} learners learned{diverged}. Click a cell to load it.")

    # -- a cell into the window -------------------------------------------------------------------------------
    def load_cell(self, index: int) -> bool:
        """Load cell `index`'s config with its first failing seed (or first seed) into the window, not started."""
        if self.plan is None:
            return False
        cell = self.plan.cells[index]
        first = self.plan.base.train.seed
        done = self.done_cells.get(index)
        if done is None:
            seed, why = first, "not judged yet, its first seed"
        elif done["first_failing_seed"] is not None:
            seed = done["first_failing_seed"]
            why = f"its first failing seed; {done['learned']}/{done['n_seeds']} learned" + (
                f", {done['diverged']} diverged" if done.get("diverged") else "")
        else:
            seed, why = first, f"all {done['n_seeds']} learned, its first seed"
        cfg = cell.cfg.replace(seed=seed)
        where = ", ".join(f"{k}={v}" for k, v in cell.changes.items())
        if not self.services.load_config(cfg, start=False):
            self._say("This window cannot load a config from the Sweep tab.", error=True)
            return False
        text = f"Loaded {where}, seed {seed} ({why}) into the window: press Start to watch it."
        self.services.notify(text)  # the status line keeps the sweep's summary
        return True

    # -- export -----------------------------------------------------------------------------------------------
    def export_dialog(self, fmt: str) -> None:
        if self.report is None:
            return
        folders = DialogFolders(self.services.settings)
        path, _ = QFileDialog.getSaveFileName(self.services.dialog_parent, f"Export the sweep as {fmt.upper()}",
                                              folders.suggest("data", f"sweep.{fmt}"), EXPORTS[fmt])
        if path:
            folders.remember("data", path)
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        """Write the last report as PNG, SVG or CSV (by the suffix); one message on failure."""
        fmt = Path(path).suffix.lower().lstrip(".")
        if self.report is None or fmt not in EXPORTS:
            self.services.report_error(f"Cannot export {path}: choose a .png, .svg or .csv file after a sweep.")
            return False
        from core.cli.sweep import report_csv
        from core.sweep.render import render_png, render_svg

        make = {"png": render_png, "svg": render_svg, "csv": report_csv}[fmt]
        try:
            write_bytes(path, make(self.report))
        except LabFileError as e:
            self.services.report_error(e.message)
            return False
        self.services.show_status(f"Sweep exported to {path}", 5000)
        return True
