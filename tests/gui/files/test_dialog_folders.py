"""Every file dialog (Record, Export report, Save session as…, Open session, Export history as CSV, Save screenshot
as…, Export view, the Sweep page's Export) opens in the last folder used for its kind of file, else in its default
folder under the user's documents (pictures: the screenshot folder), never in the process's working folder
(offscreen; the documents folder is a temporary one, QFileDialog's static methods are replaced to catch the folder
asked for)."""

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QFileDialog  # noqa: E402

from gui import settings as gui_settings  # noqa: E402
from gui.settings import APP_FOLDER, DialogFolders  # noqa: E402


@pytest.fixture
def docs(tmp_path, monkeypatch):
    folder = tmp_path / "Documents"
    monkeypatch.setattr(gui_settings, "documents_dir", lambda: folder)
    return folder


class Dialogs:
    """Stands in for QFileDialog's static methods: records the folder each call offered, answers `answer`."""

    def __init__(self, monkeypatch):
        self.offered: list[Path] = []
        self.answer = ""
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self._ask)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self._ask)

    def _ask(self, parent, caption, directory, *rest, **kw):
        p = Path(directory)
        self.offered.append(p if p.is_dir() else p.parent)
        return self.answer, ""


def record(win):
    """Record…'s dialog: the folder its File field (and so Browse…) offers; accepted with `answer` if any."""
    from PySide6.QtWidgets import QDialog

    from gui.recording import control

    dialogs = win._test_dialogs

    def exec_(dlg):
        dlg._browse()  # Browse… offers the File field's folder
        if not dialogs.answer:
            return QDialog.Rejected
        dlg.path.setText(dialogs.answer)
        return QDialog.Accepted

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(control.RecordDialog, "exec", exec_)
        win.recording._ask()


KINDS = {  # the dialog's kind: how to open it in the window
    "recordings": record,
    "reports": lambda win: win.report.export_dialog(),
    "sessions": lambda win: win.session_ui.save_as(),
    "sessions-open": lambda win: win.session_ui.open_dialog(),
    "data": lambda win: win.session_ui.export_dialog(),
    "pictures": lambda win: win.exports.save_screenshot_as(),
    "pictures-view": lambda win: win.exports.export_view_dialog("loss", "png"),
    "data-sweep": lambda win: sweep_export(win),
}


def sweep_export(win):
    """The Sweep page's Export…, with a report to export (its content does not matter to the dialog)."""
    win.pages.sweep.report = win.pages.sweep.report or {"axes": [], "cells": []}
    win.pages.sweep.export_dialog("csv")


@pytest.mark.parametrize("name", list(KINDS))
def test_a_dialog_opens_in_its_default_folder_then_in_the_last_one_used_never_the_cwd(win, tmp_path, docs,
                                                                                        monkeypatch, name):
    kind = name.split("-")[0]
    dialogs = win._test_dialogs = Dialogs(monkeypatch)
    assert Path.cwd() == tmp_path  # the tests' working folder: a dialog must not open there
    KINDS[name](win)
    default = (Path(os.environ["GML_SCREENSHOT_DIR"]) if kind == "pictures"
               else docs / APP_FOLDER / kind)
    assert dialogs.offered[-1] == default and default.is_dir()
    assert dialogs.offered[-1] != Path.cwd()
    elsewhere = tmp_path / "chosen" / name
    elsewhere.mkdir(parents=True)
    suffix = {"sessions": ".gmlab", "pictures": ".png", "data": ".csv", "recordings": ".gif"}.get(kind, ".md")
    dialogs.answer = str(elsewhere / f"x{suffix}")
    KINDS[name](win)  # the user picks a file there
    dialogs.answer = ""
    KINDS[name](win)
    assert dialogs.offered[-1] == elsewhere


def test_a_remembered_folder_that_is_gone_gives_the_default_and_none_is_ever_the_cwd(win, tmp_path, docs):
    folders = DialogFolders(win.settings.store)
    gone = tmp_path / "gone"
    gone.mkdir()
    folders.remember("reports", gone / "r.md")
    assert folders.folder("reports") == gone
    gone.rmdir()
    assert folders.folder("reports") == docs / APP_FOLDER / "reports"
    win.settings.store.setValue("folders/reports", "relative/dir")  # a damaged setting: not a folder to open
    assert folders.folder("reports") == docs / APP_FOLDER / "reports"
    assert all(folders.folder(k) != Path.cwd() for k in gui_settings.DIALOG_KINDS)


def test_a_new_name_never_replaces_a_file_there(win, docs):
    folders = DialogFolders(win.settings.store)
    first = Path(folders.suggest("recordings", "gml-recording.gif"))
    first.write_bytes(b"x")
    assert Path(folders.suggest("recordings", "gml-recording.gif")).name == "gml-recording-2.gif"
