"""Pictures out of the window: PNG screenshots of the whole window and one view as PNG or SVG.

Every failure (an unwritable folder, an unknown format, an exporter error) is one message and returns None;
nothing is lost and the run goes on. Ctrl+S saves into the folder `folder()` gives (gui.settings:
GML_SCREENSHOT_DIR, a setting, or the user's pictures folder), and every message names the full path.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtWidgets import QFileDialog, QWidget

from core.atomic_io import write_bytes

from .views import HiddenView, crisp_svg

EXPORTERS = {"png": pg.exporters.ImageExporter, "svg": pg.exporters.SVGExporter}


class Exporter:
    """Screenshots of `window` (grabbed as a widget) and exports of the named `views`."""

    def __init__(self, window: QWidget, views: dict, report_error, show_status, folder=None):
        """`folder()` is the screenshot folder (default: ./screenshots)."""
        self.window, self.views = window, views
        self.report_error, self.show_status = report_error, show_status
        self.folder = folder or (lambda: Path("screenshots").absolute())

    # -- screenshots -------------------------------------------------------------------------------------
    def save_screenshot(self, path: str | Path) -> Path | None:
        """Write a PNG of the whole window; on failure show a message and return None (else the full path)."""
        path = Path(path).expanduser().absolute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.report_error(f"Cannot create the folder {path.parent}: {e.strerror}. Nothing was saved.")
            return None
        pix = self.window.grab()
        if pix.isNull() or not pix.save(str(path), "PNG"):
            self.report_error(f"Could not write the screenshot to {path} (is the folder writable?). "
                              "Nothing was lost; choose another path with File ▸ Save screenshot as….")
            return None
        self.show_status(f"Screenshot saved: {path}", 5000)
        return path

    def default_screenshot_path(self) -> Path:
        return self.folder() / time.strftime("gml-%Y%m%d-%H%M%S.png")

    def save_screenshot_default(self) -> Path | None:
        return self.save_screenshot(self.default_screenshot_path())

    def save_screenshot_as(self) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save screenshot", str(self.default_screenshot_path()),
                                              "PNG image (*.png)")
        return self.save_screenshot(path) if path else None

    # -- one view ----------------------------------------------------------------------------------------
    def _plot_item(self, key: str):
        v = self.views[key]
        return v.plot if isinstance(v, HiddenView) else v.getPlotItem()

    def export_view(self, key: str, path: str | Path) -> Path | None:
        """Export one view as PNG or SVG (by the path's suffix); on failure a message, and None."""
        path = Path(path).expanduser().absolute()
        fmt = path.suffix.lower().lstrip(".")
        exporter_cls = EXPORTERS.get(fmt)
        if exporter_cls is None:
            self.report_error(f"Unknown export format '.{fmt}': use .png or .svg.")
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            exp = exporter_cls(self._plot_item(key))
            if fmt == "png":
                exp.parameters()["width"] = max(800, int(self.views[key].width() * 2))
            exp.export(str(path))
            if fmt == "svg":  # the heatmap's cells stay sharp in any viewer (gui.views.crisp_svg)
                write_bytes(path, crisp_svg(path.read_text(encoding="utf-8")).encode("utf-8"))
        except Exception as e:  # an exporter or file-system failure is a message, never a crash
            self.report_error(f"Could not export the {key} view to {path}: {e}. Nothing was lost.")
            return None
        if not path.exists():
            self.report_error(f"Could not export the {key} view to {path}.")
            return None
        self.show_status(f"Exported {key} view: {path}", 5000)
        return path

    def export_view_dialog(self, key: str, fmt: str) -> None:
        default = self.folder() / time.strftime(f"gml-{key}-%Y%m%d-%H%M%S.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {key} view", str(default),
                                              f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export_view(key, path)
