"""What a panel may ask of the window. Panels (session UI, compare, seeds) get a WindowServices, never the
window itself: the state (AppState), the worker handle, the settings store, messages, the config panel's
config, applying a config, loading a config as a new run (and starting it), the current curves, the view
settings, and pausing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from core.config import Config
from gui.app_state import AppState, RunCurves


class WindowServices:
    """A narrow, public interface over the window's parts; each method is one thing a panel needs."""

    def __init__(self, *, state: AppState, handle, settings: QSettings, dialog_parent: QWidget, messages,
                 show_status: Callable[[str, int], None], config_panel, save_settings: Callable[[], None],
                 pause: Callable[[], None], current_curves: Callable[[], RunCurves | None],
                 view_settings: Callable[[], dict], restore_view_settings: Callable[[dict], None],
                 reset: Callable[[], None] | None = None, start: Callable[[], None] | None = None,
                 show_live: Callable[[], None] | None = None):
        self.state = state
        self.handle = handle
        self.settings = settings
        self.dialog_parent = dialog_parent  # only the parent of file dialogs
        self._messages = messages
        self._show_status = show_status
        self._panel = config_panel
        self._save_settings = save_settings
        self._pause = pause
        self._current_curves = current_curves
        self._view_settings = view_settings
        self._restore_view_settings = restore_view_settings
        self._reset, self._start, self._show_live = reset, start, show_live

    # -- messages ----------------------------------------------------------------------------------------
    def notify(self, text: str) -> None:
        """A notice in the message bar (blue)."""
        self._messages.notice(text)

    def report_error(self, text: str) -> None:
        """An error in the message bar (red); it changes nothing else (the run keeps its state)."""
        self._messages.error(text)

    def clear_message(self) -> None:
        self._messages.hide()

    def show_status(self, text: str, ms: int = 5000) -> None:
        """A passing line in the status bar."""
        self._show_status(text, ms)

    # -- config ------------------------------------------------------------------------------------------
    def edited_config(self) -> Config:
        """The config in the left panel (what Reset would apply); raises core.config.ConfigError."""
        return self._panel.config()

    def apply_config(self, cfg: Config) -> None:
        """The trainer now runs `cfg` (an opened session): the panel shows it, it is the applied config, and
        it is remembered."""
        self._panel.set_config(cfg)
        self.state.set_applied(cfg)
        self._save_settings()

    def load_config(self, cfg: Config, start: bool = False) -> bool:
        """A new run of `cfg`: the panel shows it, Reset builds it (paused, ready to Start), and with `start`
        it starts; the window shows the live run's page. False (and nothing changes) when the window offers no reset."""
        if self._reset is None:
            return False
        self._panel.set_config(cfg)
        self._reset()
        if self._show_live is not None:  # a new run from an experiment page: the live run's page shows it
            self._show_live()
        if start and self._start is not None:
            self._start()
        return True

    # -- the run and its views ---------------------------------------------------------------------------
    def pause(self) -> None:
        self._pause()

    def current_curves(self) -> RunCurves | None:
        return self._current_curves()

    def view_settings(self) -> dict:
        """The view settings a session keeps: window W, smoothing, log-y, heatmap layer."""
        return self._view_settings()

    def restore_view_settings(self, g: dict) -> None:
        """Apply view settings saved with a session; malformed entries are ignored."""
        self._restore_view_settings(g)
