"""Pictures out of the window: PNG screenshots of the whole window and one view as PNG or SVG.

Every failure (an unwritable folder, an unknown format, an exporter error) is one message and returns None;
nothing is lost and the run goes on. F12 saves into the screenshot folder (gui.settings.screenshot_dir:
GML_SCREENSHOT_DIR, a setting, or the user's pictures folder), and every message names the full path. Save
screenshot as… and Export view open in the folder of the last picture saved through a dialog, else that
screenshot folder (gui.settings.DialogFolders, kind "pictures").
Every picture is rendered to bytes first (the encoder's result checked), then written through core.atomic_io
(a temp file in the same folder, then a rename): a failure (an unwritable folder, a full disk, an unknown format,
an exporter or encoder error) is one message that says the truth, returns None and leaves any previous file
exactly as it was; the run goes on.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from core.atomic_io import LabFileError, write_bytes
from gui.plots.views import HiddenView, crisp_svg
from gui.settings import DialogFolders, settings_store

EXPORTERS = {"png": pg.exporters.ImageExporter, "svg": pg.exporters.SVGExporter}
KEPT = "Nothing was written; the previous file (if any) is intact."


class EncodeError(Exception):
    """An image could not be encoded (the encoder said no, or gave nothing)."""


def png_bytes(image) -> bytes:
    """A QImage or QPixmap encoded as PNG; EncodeError when the encoder fails or yields nothing."""
    if image is None or image.isNull():
        raise EncodeError("there is no image to encode (the picture is empty)")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")
    buf.close()
    out = bytes(data.data())
    if not ok or not out:
        raise EncodeError("the PNG encoder failed")
    return out


class Exporter:
    """Screenshots of `window` (grabbed as a widget) and exports of the named `views`."""

    def __init__(self, window: QWidget, views: dict, report_error, show_status, folders: DialogFolders | None = None):
        """`folders` gives the screenshot folder and where the dialogs open (default: from the settings store)."""
        self.window, self.views = window, views
        self.report_error, self.show_status = report_error, show_status
        self.folders = folders if folders is not None else DialogFolders(settings_store())

    def folder(self) -> Path:
        """Where F12 (Save screenshot) saves."""
        return self.folders.screenshots()

    # -- screenshots -------------------------------------------------------------------------------------
    def save_screenshot(self, path: str | Path) -> Path | None:
        """Write a PNG of the whole window; on failure show a message and return None (else the full path)."""
        path = Path(path).expanduser().absolute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.report_error(f"Cannot create the folder {path.parent}: {e.strerror}. Nothing was saved.")
            return None
        try:
            QApplication.sendPostedEvents(None, QEvent.LayoutRequest)  # a legend just resized is back in its row
            write_bytes(path, png_bytes(self.window.grab()))
        except (EncodeError, LabFileError) as e:
            self.report_error(f"Could not write the screenshot: {e}. {KEPT} Choose another path with "
                              "File ▸ Save screenshot as….")
            return None
        self.show_status(f"Screenshot saved: {path}", 5000)
        return path

    def default_screenshot_path(self) -> Path:
        return self.folder() / time.strftime("gml-%Y%m%d-%H%M%S.png")

    def save_screenshot_default(self) -> Path | None:
        return self.save_screenshot(self.default_screenshot_path())

    def save_screenshot_as(self) -> Path | None:
        default = self.folders.suggest("pictures", time.strftime("gml-%Y%m%d-%H%M%S.png"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save screenshot", default, "PNG image (*.png)")
        if not path:
            return None
        self.folders.remember("pictures", path)
        return self.save_screenshot(path)

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
                data = png_bytes(exp.export(toBytes=True))
            else:
                data = exp.export(toBytes=True)
                if not isinstance(data, bytes) or not data:
                    raise EncodeError("the SVG exporter gave nothing")
                # the heatmap's cells stay sharp in any viewer (gui.plots.views.crisp_svg)
                data = crisp_svg(data.decode("utf-8")).encode("utf-8")
            write_bytes(path, data)
        except (EncodeError, LabFileError) as e:
            self.report_error(f"Could not export the {key} view: {e}. {KEPT}")
            return None
        except Exception as e:  # an exporter or file-system failure is a message, never a crash
            self.report_error(f"Could not export the {key} view to {path}: {type(e).__name__}: {e}. {KEPT}")
            return None
        self.show_status(f"Exported {key} view: {path}", 5000)
        return path

    def export_view_dialog(self, key: str, fmt: str) -> None:
        default = self.folders.suggest("pictures", time.strftime(f"gml-{key}-%Y%m%d-%H%M%S.{fmt}"))
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {key} view", default, f"{fmt.upper()} (*.{fmt})")
        if path:
            self.folders.remember("pictures", path)
            self.export_view(key, path)
