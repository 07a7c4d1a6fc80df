"""Remembered settings: the last applied config, the window's geometry and state (the dock's place and size:
QMainWindow.saveState) and the view settings, in a QSettings
INI file (GML_SETTINGS names one, for tests and automation). A stale, damaged or out-of-range value means "not
remembered": each one is ignored on its own and named in `take_notices()` (the window shows them), never fatal.
The file itself is vetted before QSettings opens it (`settings_store`, core/product/settings_file.py): one that is
not a regular file is never blocked on or written (a private stand-in is used), one holding a value Qt cannot
decode safely (a `@Variant`, a value nested too deeply or too long) is moved aside; one warning either way.

Screenshots (F12) go to `screenshot_dir()`: the folder GML_SCREENSHOT_DIR names, else the setting
`files/screenshot_dir` in that INI file, else the user's pictures folder + "GRU Memory Lab" (Qt's
QStandardPaths.PicturesLocation, e.g. ~/Pictures/GRU Memory Lab).

File dialogs open where the user keeps that kind of file, never in the process's working folder:
`DialogFolders(store).folder(kind)` is the folder of the last file chosen for that kind (`remember(kind, path)`,
kept as `folders/<kind>`), else a per-kind default under the user's documents (QStandardPaths.DocumentsLocation
+ "GRU Memory Lab/recordings", "…/reports", "…/sessions", "…/data"; pictures: the screenshot folder above),
made when first offered so the dialog can open in it."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from core.atomic_io import remove_stale_temp_files
from core.config import Config, ConfigError
from core.product.settings_file import vet

CONFIG_KEY = "config/last"
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
SMOOTHING_KEY = "view/smoothing"
WINDOW_KEY = "view/window"
SCREENSHOT_DIR_KEY = "files/screenshot_dir"
SCREENSHOT_DIR_ENV = "GML_SCREENSHOT_DIR"
APP_FOLDER = "GRU Memory Lab"
FOLDER_KEY = "folders/{kind}"
LAST_RECORDING_KEY = "record/last_path"  # gui/recording/control.py's
RECENT_SESSIONS_KEY = "session/recent"  # gui/files/sessions.py's (a JSON list)
# each kind of file and its default folder under DocumentsLocation/APP_FOLDER (pictures: the screenshot folder)
DIALOG_KINDS = {"recordings": "recordings", "reports": "reports", "sessions": "sessions", "data": "data",
                "pictures": None}
log = logging.getLogger(__name__)
VIEW_RANGES = {SMOOTHING_KEY: (0, 99, 60), WINDOW_KEY: (20, 2000, 200)}  # (lowest, highest, default): the toolbar's


def _shown(raw) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def default_settings_path() -> str:
    """Where QSettings(IniFormat, UserScope, APP_FOLDER, "gru-memory-lab") keeps its file, named so that it can be
    vetted before QSettings opens it: $XDG_CONFIG_HOME or ~/.config (%APPDATA% on Windows)."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = os.environ["APPDATA"]
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, APP_FOLDER, "gru-memory-lab.ini")


_warned: set[str] = set()
_pending: list[str] = []  # the settings file's warnings not yet shown in a window


def settings_store() -> QSettings:
    """The settings (GML_SETTINGS names the file, else the user's): a file that is not a regular file, or holds a
    value Qt cannot decode safely, is never opened by QSettings (core.product.settings_file.vet); its warning goes
    to stderr and the log once, and to the next window's notices."""
    vetted = vet(os.environ.get("GML_SETTINGS") or default_settings_path())
    if vetted.warning and vetted.warning not in _warned:
        _warned.add(vetted.warning)
        _pending.append(vetted.warning.removeprefix("warning: "))
        print(vetted.warning, file=sys.stderr, flush=True)
        if logging.getLogger().handlers:  # the log file (never Python's last-resort stderr: it is said there)
            log.warning("%s", vetted.warning)
    return QSettings(vetted.path, QSettings.IniFormat)


class WindowSettings:
    """Reads and writes the window's remembered settings; `store` is the QSettings (also for recent files)."""

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else settings_store()
        self._notices: list[str] = []

    def _value(self, key: str):
        try:
            return self.store.value(key)
        except Exception:  # noqa: BLE001 - a value QSettings itself cannot read back
            self._ignore(key, "(unreadable)")
            return None

    def _ignore(self, key: str, raw, why: str = "") -> None:
        text = f"Ignored a damaged setting {key.split('/')[-1]}={_shown(raw)}" + (f" ({why})" if why else "")
        if text not in self._notices:
            self._notices.append(text)

    def take_notices(self) -> list[str]:
        """What was ignored since the last call, one line per setting ("Ignored a damaged setting ...")."""
        out, self._notices = _pending + self._notices, []
        _pending.clear()
        return out

    def saved_config(self) -> Config | None:
        raw = self._value(CONFIG_KEY)
        if not raw:
            return None
        try:
            return Config.from_dict(json.loads(raw))
        except ConfigError as e:
            self._ignore(CONFIG_KEY, raw, f"{e.field}: {e.message}"[:120])
        except Exception:  # noqa: BLE001 - not JSON, not a table, a number too big...: start from defaults
            self._ignore(CONFIG_KEY, raw)
        return None

    def geometry(self) -> QByteArray | None:
        raw = self._value(GEOMETRY_KEY)
        if raw is None or isinstance(raw, QByteArray):
            return raw
        self._ignore(GEOMETRY_KEY, raw)
        return None

    def window_state(self) -> QByteArray | None:
        """The main window's saved state (QMainWindow.saveState: docks and toolbars), None when not remembered."""
        raw = self._value(STATE_KEY)
        if raw is None or (isinstance(raw, QByteArray) and not raw.isEmpty()):
            return raw
        self._ignore(STATE_KEY, raw)
        return None

    def state_not_taken(self, raw: QByteArray) -> None:
        """The window could not restore the saved state (damaged, or from another layout): say it was ignored."""
        self._ignore(STATE_KEY, bytes(raw.data()), "not a window layout")

    def view_values(self) -> tuple[int, int]:
        """(smoothing slider, window W), with the defaults when not remembered, damaged or out of range."""
        def as_int(key):
            low, high, default = VIEW_RANGES[key]
            raw = self._value(key)
            if raw is None:
                return default
            try:
                v = int(str(raw).strip())
            except ValueError:
                self._ignore(key, raw)
                return default
            if not low <= v <= high:
                self._ignore(key, raw, f"not between {low} and {high}")
                return default
            return v

        return as_int(SMOOTHING_KEY), as_int(WINDOW_KEY)

    def opening_config(self, cfg: Config | None, restore: bool) -> Config:
        """The config a window opens with: `cfg`, else the remembered one (when restoring), else defaults."""
        saved = self.saved_config() if restore and cfg is None else None
        return cfg or saved or Config()

    def clean_temp_files(self) -> list[str]:
        """At start: remove the temporary files (core.atomic_io's `.<name>.p<pid>.<random>.gml-tmp<suffix>`) that a
        save killed mid-write left in the folders this app writes to (the settings file's, each dialog's, the
        screenshots', the recent sessions' and the last recording's), only those whose writer pid no longer
        exists; a live pid's file (perhaps another window saving now) is left to the age rule. The names removed."""
        folders = {os.path.dirname(os.path.abspath(self.store.fileName())), str(screenshot_dir(self.store))}
        folders |= {str(p) for p in (self.store.value(FOLDER_KEY.format(kind=k)) for k in DIALOG_KINDS)
                    if isinstance(p, str)}
        for key in (LAST_RECORDING_KEY, RECENT_SESSIONS_KEY):
            raw = self.store.value(key)
            try:
                paths = json.loads(raw) if key == RECENT_SESSIONS_KEY and isinstance(raw, str) else [raw]
            except ValueError:
                paths = []
            folders |= {os.path.dirname(p) for p in paths if isinstance(p, str) and os.path.isabs(p)}
        removed: list[str] = []
        for folder in sorted(f for f in folders if os.path.isabs(f) and os.path.isdir(f)):
            removed += remove_stale_temp_files(folder, older_than_s=math.inf)
        if removed:
            log.info("removed %d temporary file(s) left by a killed save: %s", len(removed), ", ".join(removed))
        return removed

    def screenshot_dir(self) -> Path:
        """Where the screenshot (F12) saves (an absolute path; the folder is made at the first screenshot)."""
        return screenshot_dir(self.store)

    @property
    def folders(self) -> DialogFolders:
        """The folders the file dialogs open in."""
        return DialogFolders(self.store)

    def save(self, applied: Config, geometry: QByteArray, smoothing: int, window: int,
             state: QByteArray | None = None) -> None:
        """Remember these; `state` (QMainWindow.saveState) only when given."""
        self.store.setValue(CONFIG_KEY, json.dumps(applied.to_dict()))
        self.store.setValue(GEOMETRY_KEY, geometry)
        if state is not None:
            self.store.setValue(STATE_KEY, state)
        self.store.setValue(SMOOTHING_KEY, smoothing)
        self.store.setValue(WINDOW_KEY, window)
        self.store.sync()


def screenshot_dir(store: QSettings) -> Path:
    """Where the screenshot (F12) saves: GML_SCREENSHOT_DIR, else the setting, else the pictures folder + APP_FOLDER."""
    chosen = os.environ.get(SCREENSHOT_DIR_ENV) or store.value(SCREENSHOT_DIR_KEY)
    if chosen:
        return Path(str(chosen)).expanduser().absolute()
    pictures = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation)
    return (Path(pictures) if pictures else Path.home() / "Pictures").absolute() / APP_FOLDER


def documents_dir() -> Path:
    """The user's documents folder (QStandardPaths.DocumentsLocation), else the home folder."""
    docs = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    return Path(docs).absolute() if docs else Path.home().absolute()


class DialogFolders:
    """The folder each kind of file dialog opens in (kinds: DIALOG_KINDS): the last one used, else a default."""

    def __init__(self, store: QSettings):
        self.store = store

    def screenshots(self) -> Path:
        """Where the screenshot (F12) saves (screenshot_dir)."""
        return screenshot_dir(self.store)

    def default(self, kind: str) -> Path:
        sub = DIALOG_KINDS[kind]
        return screenshot_dir(self.store) if sub is None else documents_dir() / APP_FOLDER / sub

    def folder(self, kind: str) -> Path:
        """An existing, absolute folder: the remembered one if it still exists, else the default (made now; if
        it cannot be made, its nearest existing parent, else the home folder)."""
        raw = self.store.value(FOLDER_KEY.format(kind=kind))
        if raw and isinstance(raw, str) and os.path.isabs(raw) and os.path.isdir(raw):
            return Path(raw)
        target = self.default(kind)
        try:
            target.mkdir(parents=True, exist_ok=True)
            return target
        except OSError:
            for parent in target.parents:
                if parent.is_dir():
                    return parent
        return Path.home().absolute()

    def suggest(self, kind: str, name: str) -> str:
        """A path for a save dialog: `name` in the kind's folder, numbered (name-2.ext, ...) not to replace a file."""
        folder = self.folder(kind)
        stem, suffix = os.path.splitext(name)
        path, n = folder / name, 2
        while path.exists():
            path, n = folder / f"{stem}-{n}{suffix}", n + 1
        return str(path)

    def remember(self, kind: str, path: str | os.PathLike) -> None:
        """The user chose `path` (a file) for `kind`: its folder is where the next dialog of that kind opens."""
        if kind not in DIALOG_KINDS:
            raise KeyError(kind)
        folder = Path(os.fspath(path)).expanduser().absolute().parent
        self.store.setValue(FOLDER_KEY.format(kind=kind), str(folder))
        self.store.sync()
