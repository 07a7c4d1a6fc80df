"""File ▸ sessions: Open session…, Save session, Save session as…, Open recent ▸, Export history as CSV….

`install(window)` adds the actions to the window's File menu and returns the `SessionUI` (also kept as
`window.session_ui`). The work happens in the training child (core.live.LiveEngine.save_session / open_session /
export_history_csv, reached with ("call", name, args)); its answers come back as ("result", name, {"ok": ...}).
Every failure (a corrupt, truncated, hostile or wrong-version file, an unwritable path) becomes one message in
the window's message bar and changes nothing else. Opening pauses training; Start continues from the saved step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from core.config import Config, ConfigError
from core.session import SUFFIX, check_writable

RECENT_KEY = "session/recent"
RECENT_MAX = 8
FILTER = f"GRU Memory Lab session (*{SUFFIX});;All files (*)"
_METHODS = ("save_session", "open_session", "export_history_csv")


class SessionUI(QObject):
    """The session actions of one MainWindow; `saved`, `opened`, `exported`, `failed` carry the child's result."""

    saved = Signal(dict)
    opened = Signal(dict)
    exported = Signal(dict)
    failed = Signal(str, dict)  # method, result

    def __init__(self, window):
        super().__init__(window)
        self.win = window
        self.current_path: str | None = None
        self._on_open_done = {}  # path -> callbacks(ok) waiting for that open's answer
        self._open_marks = {}  # path -> the window's reset count when that open was asked for
        window.handle.worker.result.connect(self._on_result)
        self._build_menu()

    # -- menu ---------------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        w = self.win

        def act(text, slot, key=None, tip=""):
            a = QAction(text, w)
            if key:
                a.setShortcut(QKeySequence(key))
                tip = f"{tip} ({QKeySequence(key).toString()})"
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.act_open = act("&Open session…", self.open_dialog, "Ctrl+O",
                            f"Open a saved session ({SUFFIX}): config, model, optimizer, curves; Start continues")
        self.act_save = act("Save sess&ion", self.save, "Ctrl+Alt+S",
                            "Save the session to its file (asks for a path the first time)")
        self.act_save_as = act("Save session &as…", self.save_as, None, "Save the session to a new file")
        self.act_export_csv = act("Export history as &CSV…", self.export_dialog, None,
                                  "Write the whole-run loss and accuracy (batch: also per-epoch logs) as CSV")
        m_file = self._file_menu()
        self.m_recent = m_file.addMenu("Open &recent")
        self.m_recent.aboutToShow.connect(self.refresh_recent)
        first = m_file.actions()[0] if m_file.actions() else None
        for a in (self.act_open, self.m_recent.menuAction(), self.act_save, self.act_save_as,
                  self.act_export_csv):
            m_file.insertAction(first, a)
        m_file.insertSeparator(first)
        w.addActions([self.act_open, self.act_save, self.act_save_as])
        self._fill_recent(self.recent())

    def _file_menu(self):
        if getattr(self.win, "m_file", None) is not None:
            return self.win.m_file
        mb = self.win.menuBar()
        for m in mb.findChildren(QMenu):
            if m.title().replace("&", "") == "File" and m.menuAction() in mb.actions():
                return m
        return mb.addMenu("&File")

    # -- recent files -------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        raw = self.win.settings.value(RECENT_KEY)
        try:
            items = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            items = []
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str) and p][:RECENT_MAX]

    def _store_recent(self, items: list[str]) -> None:
        self.win.settings.setValue(RECENT_KEY, json.dumps(items[:RECENT_MAX]))
        self.win.settings.sync()
        self._fill_recent(items[:RECENT_MAX])

    def add_recent(self, path: str) -> None:
        p = os.path.abspath(path)
        self._store_recent([p] + [q for q in self.recent() if q != p])

    def refresh_recent(self) -> list[str]:
        """Prune missing files (with a message) and rebuild the Open recent menu; returns the kept paths."""
        items = self.recent()
        kept = [p for p in items if os.path.isfile(p)]
        gone = [p for p in items if p not in kept]
        if gone:
            self._store_recent(kept)
            names = ", ".join(Path(p).name for p in gone)
            self.win._on_notice(f"Removed from Open recent (the file no longer exists): {names}.")
        else:
            self._fill_recent(kept)
        return kept

    def _fill_recent(self, items: list[str]) -> None:
        m = self.m_recent
        m.clear()
        for i, p in enumerate(items):
            a = m.addAction(f"&{i + 1}  {Path(p).name}")
            a.setToolTip(p)
            a.setStatusTip(p)
            a.setData(p)
            a.triggered.connect(lambda _c=False, path=p: self.open_recent(path))
        if not items:
            a = m.addAction("(none)")
            a.setEnabled(False)
        else:
            m.addSeparator()
            m.addAction("Clear list", lambda: self._store_recent([]))
        m.menuAction().setEnabled(True)

    def open_recent(self, path: str) -> None:
        if not os.path.isfile(path):
            self._store_recent([q for q in self.recent() if q != path])
            self._error(f"Cannot open {path}: the file no longer exists; it was removed from Open recent.")
            return
        self.open_session_from(path)

    # -- commands -----------------------------------------------------------------------------------------
    def _error(self, text: str) -> None:
        """A message in the bar; the run keeps the state it had (window._on_error shows it as paused)."""
        was = self.win.running
        self.win._on_error(text)
        self.win._set_running(was)

    def _default_dir(self) -> str:
        if self.current_path:
            return str(Path(self.current_path).parent)
        items = self.recent()
        return str(Path(items[0]).parent) if items else str(Path.cwd())

    def gui_extra(self) -> dict:
        w = self.win
        return {"gui": {"window": w.window_spin.value(), "smoothing": w.smoothing.value(),
                        "log": w.act_log.isChecked(), "layer": getattr(w.hidden, "layer", "h")}}

    def save_session_to(self, path) -> bool:
        """Ask the child to save the session to `path`; False (and a message) when the path is not writable."""
        path = os.fspath(path)
        reason = check_writable(path)
        if reason:
            self._error(f"Cannot save the session to {path}: {reason}. Nothing was saved.")
            return False
        self.win.handle.send("call", "save_session", (path, self.gui_extra()))
        self.win.statusBar().showMessage(f"Saving {path}…", 3000)
        return True

    def open_session_from(self, path, on_done=None) -> None:
        """Ask the child to open `path`. Training pauses; on success the config panel, views and title follow."""
        path = os.fspath(path)
        if on_done is not None:
            self._on_open_done.setdefault(path, []).append(on_done)
        self.win.pause()
        self._open_marks[path] = self.win.reset_count
        self.win.handle.send("call", "open_session", (path,))
        self.win.statusBar().showMessage(f"Opening {path}…", 3000)

    def export_csv_to(self, path) -> bool:
        path = os.fspath(path)
        reason = check_writable(path)
        if reason:
            self._error(f"Cannot export the history to {path}: {reason}. Nothing was written.")
            return False
        self.win.handle.send("call", "export_history_csv", (path,))
        return True

    # -- dialogs (File menu) ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.win, "Open session", self._default_dir(), FILTER)
        if path:
            self.open_session_from(path)

    def save(self) -> None:
        if self.current_path:
            self.save_session_to(self.current_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        default = self.current_path or str(Path(self._default_dir()) / f"session{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.win, "Save session", default, FILTER)
        if path:
            if not Path(path).suffix:
                path += SUFFIX
            self.save_session_to(path)

    def export_dialog(self) -> None:
        base = Path(self.current_path).with_suffix(".csv") if self.current_path else Path.cwd() / "history.csv"
        path, _ = QFileDialog.getSaveFileName(self.win, "Export history as CSV", str(base), "CSV (*.csv)")
        if path:
            self.export_csv_to(path)

    # -- the child's answers ------------------------------------------------------------------------------
    def _on_result(self, method: str, value) -> None:
        if method not in _METHODS:
            return
        if not isinstance(value, dict):
            value = {"ok": False, "error": f"unexpected answer to {method}: {value!r}"[:300]}
        if method == "open_session":
            cbs = self._on_open_done.pop(value.get("path"), [])
            mark = self._open_marks.pop(value.get("path"), self.win.reset_count)
            if value.get("ok") and mark != self.win.reset_count:
                # Reset was pressed while the file was opening: the trainer now runs the reset config, so the
                # panel, title and current file must not claim the session (a later Save would overwrite it)
                self.win._on_notice(f"{value['path']} was opened, then Reset replaced it with a new run; "
                                    "open it again to continue it.")
                for cb in cbs:
                    cb(False)
                return
            if value.get("ok"):
                self._opened(value)
            else:
                self._error(value.get("error") or "Could not open the session.")
                self.failed.emit(method, value)
            for cb in cbs:
                cb(bool(value.get("ok")))
            return
        if not value.get("ok"):
            self._error(value.get("error") or f"{method} failed.")
            self.failed.emit(method, value)
            return
        if method == "save_session":
            self.current_path = value["path"]
            self.add_recent(value["path"])
            self._title()
            self.win.statusBar().showMessage(f"Session saved: {value['path']} (step {value.get('step', 0):,})", 5000)
            self.saved.emit(value)
        else:
            self.win.statusBar().showMessage("History exported: " + ", ".join(value.get("paths", [])), 5000)
            self.exported.emit(value)

    def _opened(self, value: dict) -> None:
        w = self.win
        try:
            cfg = Config.from_dict(value["config"])
        except (ConfigError, KeyError, TypeError, ValueError) as e:  # cannot happen: the child validated it
            self._error(f"The opened session's config could not be shown: {e}")
            return
        w.message.hide()
        w.panel.set_config(cfg)
        w.panel.mark_applied(cfg)
        w.applied = cfg
        # the child paused on open; the window showed paused since the request, and any Start pressed after the
        # request reached the child after the open, so the run state shown is already right
        self._restore_gui(value.get("extra"))
        self.current_path = value["path"]
        self.add_recent(value["path"])
        self._title()
        w._save_settings()
        for text in value.get("warnings") or ():
            w._on_notice(str(text))
        w.statusBar().showMessage(f"Session opened: {value['path']} (step {value.get('step', 0):,}); "
                                  "Start continues", 5000)
        self.opened.emit(value)

    def _restore_gui(self, extra) -> None:
        """View settings saved with the session; anything malformed (a hostile file) is ignored."""
        g = extra.get("gui") if isinstance(extra, dict) else None
        if not isinstance(g, dict):
            return
        w = self.win

        def as_int(v):
            return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e9 else None

        win_w = as_int(g.get("window"))
        if win_w is not None:
            w.window_spin.setValue(win_w)  # the spin box clamps to its range
        sm = as_int(g.get("smoothing"))
        if sm is not None:
            w.smoothing.setValue(sm)
        if isinstance(g.get("log"), bool):
            w.act_log.setChecked(g["log"])
        if g.get("layer") in ("h", "n", "z", "r") and hasattr(w.hidden, "set_layer"):
            w.hidden.set_layer(g["layer"])

    def _title(self) -> None:
        name = Path(self.current_path).name if self.current_path else None
        self.win.setWindowTitle(f"GRU Memory Lab — {name}" if name else "GRU Memory Lab")


def install(window) -> SessionUI:
    """Add the session actions to `window` (a MainWindow); returns the SessionUI, also as window.session_ui."""
    ui = SessionUI(window)
    window.session_ui = ui
    return ui
