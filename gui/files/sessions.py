"""File ▸ sessions: Open session…, Save session, Save session as…, Open recent ▸, Export history as CSV….

`SessionUI(services)` makes the actions; `install(file_menu)` puts them at the top of the File menu. The work
happens in the training child (core.live.files.save / open_into / export_csv, asked through the worker
handle); its answers come back on the worker's `result` signal as the typed results of
core.messages (SaveResult, OpenResult, ExportResult), and SessionUI passes them on as they are.
Every failure (a corrupt, truncated, hostile or wrong-version file, an unwritable path) becomes one message in
the message bar and changes nothing else. Opening pauses training; Start continues from the saved step.

Keys are the platform's standard ones (Open, Save, Save As). Open session… and Open recent drop the current run,
so they go through RunCommands' door for that (`may_open`: the unsaved-work question, gui/files/unsaved.py);
`save_and_wait` is that question's Save. Each save and open tells the AppState which run and step the file
holds: the evidence the modified marker rests on.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from core.atomic_io import check_writable
from core.config import Config, ConfigError
from core.messages import ExportResult, FileResult, OpenResult, SaveResult
from core.sessions.container import SUFFIX
from core.snapshot import ALL_LAYERS
from gui.actions import make_action
from gui.settings import DialogFolders

RECENT_KEY = "session/recent"
RECENT_MAX = 8
FILTER = f"GRU Memory Lab session (*{SUFFIX});;All files (*)"
WHAT_FAILED = {SaveResult: "Saving the session failed.", OpenResult: "Could not open the session.",
               ExportResult: "Exporting the history failed."}  # a failed result that carries no message
VIEW_LAYERS = ALL_LAYERS  # a layer the opened run's cell lacks waits for a run with it (HiddenView.set_layer)


class SessionUI(QObject):
    """The session actions. `saved`, `opened` and `exported` carry the child's successful SaveResult, OpenResult
    and ExportResult; `failed` carries any of them that failed (`ok` False).

    `services` is the window's WindowServices; the session file is `services.state.current_path`."""

    saved = Signal(object)     # SaveResult
    opened = Signal(object)    # OpenResult
    exported = Signal(object)  # ExportResult
    failed = Signal(object)    # SaveResult | OpenResult | ExportResult, with ok False

    def __init__(self, services, parent=None, commands=None):
        """`commands`: the window's RunCommands, whose `may_open` is asked before a dialog or a recent file replaces
        the run (None: nothing is asked)."""
        super().__init__(parent)
        self.services = services
        self.commands = commands
        self.state = services.state
        self.handle = services.handle
        self.settings = services.settings
        self.folders = DialogFolders(services.settings)  # where the dialogs open: the last folder used, else Documents
        self._on_open_done = {}  # path -> callbacks(ok) waiting for that open's answer
        self._open_marks = {}  # path -> the reset count when that open was asked for
        self.handle.worker.result.connect(self._on_result)
        self.act_open = make_action(
            self, "&Open session…", self.open_dialog, [QKeySequence.StandardKey.Open],
            f"Open a saved session ({SUFFIX}): config, model, optimizer, curves; Start continues")
        self.act_save = make_action(self, "Save sess&ion", self.save, [QKeySequence.StandardKey.Save],
                                    "Save the session to its file (asks for a path the first time)")
        self.act_save_as = make_action(self, "Save session &as…", self.save_as,
                                       [QKeySequence.StandardKey.SaveAs, "Ctrl+Shift+S"],
                                       "Save the session to a new file")
        self.act_export_csv = make_action(
            self, "Export history as &CSV…", self.export_dialog, (),
            "Write the whole-run loss and accuracy (batch: also per-epoch logs) as CSV")
        self.shortcut_actions = [self.act_open, self.act_save, self.act_save_as]
        self.m_recent: QMenu | None = None

    def install(self, file_menu: QMenu) -> None:
        """Put the session actions and the Open recent menu at the top of `file_menu`."""
        self.m_recent = QMenu("Open &recent", file_menu)
        self.m_recent.aboutToShow.connect(self.refresh_recent)
        first = file_menu.actions()[0] if file_menu.actions() else None
        for a in (self.act_open, self.m_recent.menuAction(), self.act_save, self.act_save_as,
                  self.act_export_csv):
            file_menu.insertAction(first, a)
        file_menu.insertSeparator(first)
        self._fill_recent(self.recent())

    # -- recent files -------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        raw = self.settings.value(RECENT_KEY)
        try:
            items = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            items = []
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str) and p][:RECENT_MAX]

    def store_recent(self, items: list[str]) -> None:
        self.settings.setValue(RECENT_KEY, json.dumps(items[:RECENT_MAX]))
        self.settings.sync()
        self._fill_recent(items[:RECENT_MAX])

    def add_recent(self, path: str) -> None:
        p = os.path.abspath(path)
        self.store_recent([p] + [q for q in self.recent() if q != p])

    def refresh_recent(self) -> list[str]:
        """Prune missing files (with a message) and rebuild the Open recent menu; returns the kept paths."""
        items = self.recent()
        kept = [p for p in items if os.path.isfile(p)]
        gone = [p for p in items if p not in kept]
        if gone:
            self.store_recent(kept)
            names = ", ".join(Path(p).name for p in gone)
            self.services.notify(f"Removed from Open recent (the file no longer exists): {names}.")
        else:
            self._fill_recent(kept)
        return kept

    def _fill_recent(self, items: list[str]) -> None:
        m = self.m_recent
        if m is None:  # not installed in a menu
            return
        m.clear()
        for i, p in enumerate(items):
            a = m.addAction(f"&{i + 1}  {Path(p).name}")
            a.setToolTip(html.escape(p))  # tooltips render markup: a file name is text
            a.setStatusTip(p)
            a.setData(p)
            a.triggered.connect(lambda _c=False, path=p: self.open_recent(path))
        if not items:
            a = m.addAction("(none)")
            a.setEnabled(False)
        else:
            m.addSeparator()
            m.addAction("Clear list", lambda: self.store_recent([]))
        m.menuAction().setEnabled(True)

    def open_recent(self, path: str) -> None:
        if not os.path.isfile(path):  # nothing would replace the run: nothing to ask
            self.store_recent([q for q in self.recent() if q != path])
            self.services.report_error(
                f"Cannot open {path}: the file no longer exists; it was removed from Open recent.")
            return
        if self._may_open():
            self.open_session_from(path)

    # -- commands -----------------------------------------------------------------------------------------
    def save_session_to(self, path) -> bool:
        """Ask the child to save the session to `path`; False (and a message) when the path is not writable."""
        path = os.fspath(path)
        reason = check_writable(path)
        if reason:
            self.services.report_error(f"Cannot save the session to {path}: {reason}. Nothing was saved.")
            return False
        self.handle.save_session(path, {"gui": self.services.view_settings()})
        self.services.show_status(f"Saving {path}…", 3000)
        return True

    def open_session_from(self, path, on_done=None) -> None:
        """Ask the child to open `path`. Training pauses; on success the config panel, views and title follow."""
        path = os.fspath(path)
        if on_done is not None:
            self._on_open_done.setdefault(path, []).append(on_done)
        self.services.pause()
        self._open_marks[path] = self.state.reset_count
        self.handle.open_session(path)
        self.services.show_status(f"Opening {path}…", 3000)

    def export_csv_to(self, path) -> bool:
        path = os.fspath(path)
        reason = check_writable(path)
        if reason:
            self.services.report_error(f"Cannot export the history to {path}: {reason}. Nothing was written.")
            return False
        self.handle.export_csv(path)
        return True

    # -- dialogs (File menu) ------------------------------------------------------------------------------
    def _may_open(self) -> bool:
        return self.commands is None or self.commands.may_open()

    def open_dialog(self) -> None:
        if not self._may_open():
            return
        path, _ = QFileDialog.getOpenFileName(self.services.dialog_parent, "Open session",
                                              str(self.folders.folder("sessions")), FILTER)
        if path:
            self.folders.remember("sessions", path)
            self.open_session_from(path)

    def save(self) -> None:
        if self.state.current_path:
            self.save_session_to(self.state.current_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path = self.choose_save_path()
        if path:
            self.save_session_to(path)

    def choose_save_path(self) -> str | None:
        """The Save session dialog: the path chosen (with the suffix added when it has none), None when cancelled."""
        cur = self.state.current_path  # Save as… offers the session's own name; else the sessions folder
        default = cur if cur and os.path.isdir(os.path.dirname(cur)) else self.folders.suggest("sessions",
                                                                                                f"session{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.services.dialog_parent, "Save session", default, FILTER)
        if not path:
            return None
        self.folders.remember("sessions", path)
        return path if Path(path).suffix else path + SUFFIX

    def save_and_wait(self) -> bool:
        """Save the session (to its file, else to a path asked for) and wait for the child's answer, as a Save in
        the unsaved-work question must before the run is dropped: True once saved; False when the dialog was
        cancelled, the path is not writable, the save failed or the trainer does not answer (each with its
        message). Meanwhile the window draws but takes no input."""
        if self.handle.worker.unresponsive:
            self.services.report_error("Cannot save the session: the trainer is not responding. Nothing was saved.")
            return False
        path = self.state.current_path or self.choose_save_path()
        if not path or not self.save_session_to(path):
            return False
        path = os.fspath(path)
        loop, outcome = QEventLoop(), []

        def answered(result) -> None:
            if isinstance(result, SaveResult) and result.path == path:
                outcome.append(result.ok)
                loop.quit()

        def trainer_failed(_text: str) -> None:
            outcome.append(False)
            loop.quit()

        links = [(self.saved, answered), (self.failed, answered), (self.handle.worker.error, trainer_failed)]
        for signal, slot in links:
            signal.connect(slot)
        try:
            if not outcome:  # answers come through the event loop, never during the send: this is a safeguard
                loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        finally:
            for signal, slot in links:
                signal.disconnect(slot)
        return bool(outcome) and outcome[0]

    def export_dialog(self) -> None:
        cur = self.state.current_path
        base = (Path(self.folders.folder("data")) / Path(cur).with_suffix(".csv").name if cur
                else self.folders.suggest("data", "history.csv"))
        batch = self.state.applied.train.mode == "batch"
        title = "Export history as CSV" + (" (also writes <name>.epochs.csv, the per-epoch log)" if batch else "")
        path, _ = QFileDialog.getSaveFileName(self.services.dialog_parent, title, str(base), "CSV (*.csv)")
        if path and batch and not self.confirm_epochs_file(path):
            return
        if path:
            self.folders.remember("data", path)
            self.export_csv_to(path)

    def confirm_epochs_file(self, path: str) -> bool:
        """A batch export also writes `<stem>.epochs.csv`, a file the user did not choose: ask before replacing
        an existing one (the dialog only asked about `path`)."""
        epochs = os.path.splitext(path)[0] + ".epochs.csv"
        if not os.path.exists(epochs):
            return True
        answer = QMessageBox.question(
            self.services.dialog_parent, "Replace the per-epoch file?",
            f"A batch export writes two files:\n{path}\n{epochs}\n\n{os.path.basename(epochs)} already exists. "
            "Replace it?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- the child's answers ------------------------------------------------------------------------------
    def _on_result(self, result: FileResult) -> None:
        if isinstance(result, OpenResult):
            self._open_answered(result)
        elif not result.ok:
            self._failed(result)
        elif isinstance(result, SaveResult):
            self.state.session_saved(result.path, result.run_id, result.step)
            self.add_recent(result.path)
            self.services.show_status(f"Session saved: {result.path} (step {result.step:,})", 5000)
            self.saved.emit(result)
        elif isinstance(result, ExportResult):
            self.services.show_status("History exported: " + ", ".join(result.paths), 5000)
            self.exported.emit(result)

    def _failed(self, result: FileResult) -> None:
        self.services.report_error(result.error or WHAT_FAILED[type(result)])
        self.failed.emit(result)

    def _open_answered(self, result: OpenResult) -> None:
        cbs = self._on_open_done.pop(result.path, [])
        mark = self._open_marks.pop(result.path, self.state.reset_count)
        if result.ok and mark != self.state.reset_count:
            # Reset was pressed while the file was opening: the trainer now runs the reset config, so the
            # panel, title and current file must not claim the session (a later Save would overwrite it)
            self.services.notify(f"{result.path} was opened, then Reset replaced it with a new run; "
                                 "open it again to continue it.")
            for cb in cbs:
                cb(False)
            return
        if result.ok:
            self._opened(result)
        else:
            self._failed(result)
        for cb in cbs:
            cb(result.ok)

    def _opened(self, result: OpenResult) -> None:
        try:
            cfg = Config.from_dict(result.config)
        except (ConfigError, KeyError, TypeError, ValueError) as e:  # cannot happen: the child validated it
            self.services.report_error(f"The opened session's config could not be shown: {e}")
            return
        self.services.clear_message()
        # the child paused on open; the window showed paused since the request, and any Start pressed after the
        # request reached the child after the open, so the run state shown is already right
        self.state.session_opened(result.path, result.run_id, result.step, cfg)
        self._restore_gui(result.extra)
        self.services.apply_config(cfg)  # the panel, the applied config, the remembered settings
        self.add_recent(result.path)
        for text in result.warnings:
            self.services.notify(str(text))
        self.services.show_status(f"Session opened: {result.path} (step {result.step:,}); Start continues", 5000)
        self.opened.emit(result)

    def _restore_gui(self, extra) -> None:
        """View settings saved with the session; anything malformed (a hostile file) is ignored."""
        g = extra.get("gui") if isinstance(extra, dict) else None
        if not isinstance(g, dict):
            return

        def as_int(v):
            return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e9 else None

        clean = {"window": as_int(g.get("window")), "smoothing": as_int(g.get("smoothing")),
                 "log": g["log"] if isinstance(g.get("log"), bool) else None,
                 "layer": g.get("layer") if g.get("layer") in VIEW_LAYERS else None}
        self.services.restore_view_settings({k: v for k, v in clean.items() if v is not None})
