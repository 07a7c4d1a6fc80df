"""Remembered settings: the last applied config, the window's geometry and the view settings, in a QSettings
INI file (GML_SETTINGS names one, for tests and automation). A stale or damaged value means "not remembered".

Screenshots (Ctrl+S) go to `screenshot_dir()`: the folder GML_SCREENSHOT_DIR names, else the setting
`files/screenshot_dir` in that INI file, else the user's pictures folder + "GRU Memory Lab" (Qt's
QStandardPaths.PicturesLocation, e.g. ~/Pictures/GRU Memory Lab)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from core.config import Config, ConfigError

CONFIG_KEY = "config/last"
GEOMETRY_KEY = "window/geometry"
SMOOTHING_KEY = "view/smoothing"
WINDOW_KEY = "view/window"
SCREENSHOT_DIR_KEY = "files/screenshot_dir"
SCREENSHOT_DIR_ENV = "GML_SCREENSHOT_DIR"
APP_FOLDER = "GRU Memory Lab"


def settings_store() -> QSettings:
    path = os.environ.get("GML_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "GRU Memory Lab", "gru-memory-lab")


class WindowSettings:
    """Reads and writes the window's remembered settings; `store` is the QSettings (also for recent files)."""

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else settings_store()

    def saved_config(self) -> Config | None:
        raw = self.store.value(CONFIG_KEY)
        if not raw:
            return None
        try:
            return Config.from_dict(json.loads(raw))
        except (ValueError, TypeError, ConfigError):
            return None  # a stale or damaged setting: start from defaults

    def geometry(self) -> QByteArray | None:
        return self.store.value(GEOMETRY_KEY)

    def view_values(self) -> tuple[int, int]:
        """(smoothing slider, window W), with the defaults when not remembered."""
        def as_int(key, default):
            try:
                return int(self.store.value(key, default))
            except (TypeError, ValueError):
                return default

        return as_int(SMOOTHING_KEY, 60), as_int(WINDOW_KEY, 200)

    def opening_config(self, cfg: Config | None, restore: bool) -> Config:
        """The config a window opens with: `cfg`, else the remembered one (when restoring), else defaults."""
        saved = self.saved_config() if restore and cfg is None else None
        return cfg or saved or Config()

    def screenshot_dir(self) -> Path:
        """Where Ctrl+S saves (an absolute path; the folder is made when the first screenshot is saved)."""
        chosen = os.environ.get(SCREENSHOT_DIR_ENV) or self.store.value(SCREENSHOT_DIR_KEY)
        if chosen:
            return Path(str(chosen)).expanduser().absolute()
        pictures = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation)
        return (Path(pictures) if pictures else Path.home() / "Pictures").absolute() / APP_FOLDER

    def save(self, applied: Config, geometry: QByteArray, smoothing: int, window: int) -> None:
        self.store.setValue(CONFIG_KEY, json.dumps(applied.to_dict()))
        self.store.setValue(GEOMETRY_KEY, geometry)
        self.store.setValue(SMOOTHING_KEY, smoothing)
        self.store.setValue(WINDOW_KEY, window)
        self.store.sync()
