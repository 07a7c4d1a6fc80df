"""File ▸ Export report…: the run as drawn now, as one Markdown file with its PNGs beside it (core/runs/report.py).

The pictures are the window's own views rendered through pyqtgraph's image exporter (gui/files/pictures.py's
EXPORTERS): the loss and accuracy curves, the hidden heatmap of the last W steps, the hidden-state portrait and
the memory probe (drawn from the last snapshot's analysis, whichever Inspect tab is showing). The text: the
verdict the window shows (the snapshot's own Verdict, as the status bar and the Hints tab show it: measured in
the training child by core.analysis.verdict.heldout_verdict, the one rule for which figure is judged; none
before the run reaches its end), the hints, a Keras-style log made from the curves (batch: the epoch lines and the
answer's blocks; online: progress lines), the config as TOML, the commands that reproduce the run and the
software versions. Every file is written atomically (core.atomic_io); a failure is one message. The dialog opens in
the folder of the last report exported, else Documents/GRU Memory Lab/reports (gui.settings.DialogFolders).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtWidgets import QFileDialog

from core.config import Config
from core.runs.headless import block_ends, history_blocks
from core.runs.report import ReportError, RunReport, check_report_path, plan_images, reproduce_command, write_report
from core.tasks import keras_split_at
from gui.actions import make_action
from gui.files.pictures import EXPORTERS
from gui.settings import DialogFolders

LOG_LINES = 20  # online: about this many progress lines over the run
PNG_WIDTH = 1000


def plot_png(plot_item, width: int = PNG_WIDTH) -> bytes:
    """A pyqtgraph PlotItem as PNG bytes (the same exporter as File ▸ Export view)."""
    exp = EXPORTERS["png"](plot_item)
    exp.parameters()["width"] = width
    img = exp.export(toBytes=True)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if img is None or img.isNull() or not img.save(buf, "PNG"):
        raise ReportError("a view could not be rendered to PNG")
    return bytes(buf.data())


def online_log(steps: np.ndarray, loss: np.ndarray, correct: np.ndarray, total: int, lines: int = LOG_LINES) -> list:
    """Progress lines as `main.py train` prints them, averaged over equal spans of the drawn curves."""
    if len(steps) == 0:
        return []
    edges = np.linspace(0, len(steps), min(lines, len(steps)) + 1).astype(int)
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            out.append(f"step {int(steps[b - 1]):,}/{total:,} - loss: {np.nanmean(loss[a:b]):.4f}"
                       f" - accuracy: {np.nanmean(correct[a:b]):.4f}")
    return out


def batch_log(epoch_logs, epochs: int) -> list[str]:
    out, hist = [], {"loss": [], "val_loss": []}
    for e in epoch_logs:
        out.append(f"Epoch {e['epoch']}/{epochs} - loss: {e['loss']:.4f} - accuracy: {e['accuracy']:.4f}"
                   f" - val_loss: {e['val_loss']:.4f} - val_accuracy: {e['val_accuracy']:.4f}")
        hist["loss"].append(e["loss"])
        hist["val_loss"].append(e["val_loss"])
        if e["epoch"] in block_ends(epochs) or e is epoch_logs[-1]:
            out += history_blocks(hist, len(hist["loss"]))
    return out


class ReportExporter:
    """Builds and writes the window's report. `snap()` gives the last snapshot drawn; `views` the curve views
    and the hidden view; `analysis_views` the portrait and the memory probe (their `show_analysis` is public)."""

    def __init__(self, services, snap, views: dict, analysis_views: dict):
        self.services, self.snap, self.views, self.analysis_views = services, snap, views, analysis_views
        self.action = make_action(services.dialog_parent, "Export &report…", self.export_dialog, [],
                                  "A Markdown report of this run with its pictures, to paste into a Q&A thread")
        self.ask = self._ask  # a seam: tests replace the dialog
        self.last = None
        self.folders = DialogFolders(services.settings)

    def _ask(self) -> str | None:
        default = self.folders.suggest("reports", time.strftime("gml-report-%Y%m%d-%H%M%S.md"))
        path, _ = QFileDialog.getSaveFileName(self.services.dialog_parent, "Export report", default,
                                              "Markdown (*.md)")
        if path:
            self.folders.remember("reports", path)
        return path or None

    def export_dialog(self) -> None:
        path = self.ask()
        if path:
            self.export(path)

    def export(self, path):
        """Write the report to `path` (.md) and its PNGs beside it; the path, or None after one message."""
        s = self.snap()
        if s is None:
            self.services.report_error("Nothing to report yet: no run has been drawn.")
            return None
        why = check_report_path(path)
        if why is not None:
            self.services.report_error(f"Cannot write the report {path}: {why}. Nothing was written.")
            return None
        try:
            rep, pngs = self.build(path, s)
            out = write_report(path, rep, pngs)
        except ReportError as e:
            self.services.report_error(f"{e}. The report was not written.")
            return None
        self.last = out
        self.services.show_status(f"Report written: {out}", 15000)
        self.services.notify(f"Report written: {out} (with {len(rep.images)} pictures beside it)")
        return out

    # -- the report --------------------------------------------------------------------------------------
    def build(self, path, s) -> tuple[RunReport, dict[str, bytes]]:
        cfg = Config.from_dict(s.config)
        t = cfg.train
        a = s.analysis
        for v in self.analysis_views.values():
            v.show_analysis(a, cfg.task.lag)
        keys = ["loss", "accuracy", "hidden"] + ([k for k in ("portrait", "probe") if a is not None])
        items = {"loss": self.views["loss"].getPlotItem(), "accuracy": self.views["accuracy"].getPlotItem(),
                 "hidden": self.views["hidden"].plot}
        items.update({k: v.getPlotItem() for k, v in self.analysis_views.items()})
        pngs = {k: plot_png(items[k]) for k in keys}
        notes = []
        verdict = s.verdict  # what the window says (status bar, Hints tab): never judged again here
        if verdict is None:
            notes.append("No verdict yet: the window judges a run on held-out data when it reaches its end; the "
                         "command below trains the same run without a window and judges it.")
        if t.mode == "batch" and s.view.epoch_logs:
            last = s.view.epoch_logs[-1]
            n_val = (t.n_sequences - keras_split_at(t.n_sequences, t.validation_split)) * t.seq_len
            heldout = {"accuracy": last["val_accuracy"], "loss": last["val_loss"], "steps": n_val,
                       "unit": "validation targets", "how": f"the validation split after epoch {last['epoch']}"}
            log = batch_log(list(s.view.epoch_logs), t.epochs)
        else:
            heldout = None
            if verdict is not None and verdict.metric == "heldout_accuracy":
                heldout = {"accuracy": verdict.figure, "loss": verdict.loss, "steps": verdict.n,
                           "how": "the next steps of the stream, weights frozen"
                                  + (f", at step {verdict.step:,}" if verdict.step is not None else "")}
            lm, am = self.views["loss"].mirror, self.views["accuracy"].mirror
            log = online_log(lm.x(), lm.values(), am.values(), t.steps)
        if s.step < (t.steps if t.mode == "online" else 1):
            notes.append(f"Exported at step {s.step:,}" + (" (paused or still running)." if not s.finished else "."))
        hints = [h.to_dict() for h in (a.hints if a is not None else ())]
        lag = cfg.task.lag
        captions = {"hidden": f"the hidden state over the last {len(s.view.y):,} steps (rows: units)",
                    "portrait": f"h[t] in 2-D over the recent steps, coloured by the remembered bit x[t-{lag}]",
                    "probe": f"held-out R² of a linear probe decoding x[t-k] from h[t] (red: the task's lag {lag})"}
        unit = "minibatches" if t.mode == "batch" else "steps"
        rate = f", {s.steps_per_second:,.0f} {unit}/s" if s.steps_per_second else ""
        figures = {"Run": f"{s.n_params} parameters, {s.step:,} {unit} trained, device {s.device}{rate}"}
        train_cmd = reproduce_command(cfg)
        window = "python main.py" + train_cmd[len("python main.py train"):] + " --autostart"
        command = f"{train_cmd}    # without a window: the log, held-out figures, verdict\n{window}    # in the window"
        rep = RunReport(config=cfg.to_dict(), log=log, verdict=verdict.to_dict() if verdict is not None else None,
                        hints=hints, heldout=heldout,
                        figures=figures, command=command, images=plan_images(path, keys, captions),
                        source="File ▸ Export report… in the window", notes=notes)
        return rep, pngs
