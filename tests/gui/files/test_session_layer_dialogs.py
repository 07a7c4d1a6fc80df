"""SessionUI's dialogs (gui/files/sessions.py), without a window or a training child (tests/gui_helpers.py's
SessionRig and Dialogs): the folder, title and filter each file dialog offers and the folder it remembers, Save
and Save as, the export's question before replacing <name>.epochs.csv, and Save in the unsaved-work question
(save_and_wait), whose answers come through the event loop as the child's do."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.config import preset  # noqa: E402
from core.messages import SaveResult  # noqa: E402
from gui import settings as gui_settings  # noqa: E402
from gui.settings import APP_FOLDER, DialogFolders  # noqa: E402
from tests.gui_helpers import Commands, SessionRig  # noqa: E402

Yes, No = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
SESSION_FILTER = "GRU Memory Lab session (*.gmlab);;All files (*)"


pytestmark = pytest.mark.usefixtures("docs")  # a temporary documents folder (conftest.py) for every test


# -- the dialogs --------------------------------------------------------------------------------------------
def test_the_open_dialog_offers_the_sessions_folder_and_remembers_the_choice(rig, dialogs, tmp_path):
    chosen = tmp_path / "elsewhere" / "o.gmlab"
    chosen.parent.mkdir()
    dialogs.answer("getOpenFileName", (str(chosen), ""))
    rig.ui.open_dialog()
    sessions = gui_settings.documents_dir() / APP_FOLDER / "sessions"
    sessions = gui_settings.documents_dir() / APP_FOLDER / "sessions"
    assert dialogs.calls == [("getOpenFileName", (rig.parent, "Open session", str(sessions), SESSION_FILTER))]
    assert rig.child.sent == [("open", str(chosen))]
    assert DialogFolders(rig.store).folder("sessions") == chosen.parent
    rig.ui.open_dialog()  # cancelled: nothing sent
    assert dialogs.calls[1][1][2] == str(chosen.parent) and len(rig.child.sent) == 1


def test_the_save_dialog_offers_the_current_file_else_a_new_name_in_the_sessions_folder(rig, dialogs, tmp_path):
    ui = rig.ui
    sessions = gui_settings.documents_dir() / APP_FOLDER / "sessions"
    assert ui.choose_save_path() is None  # cancelled
    assert dialogs.calls == [("getSaveFileName", (rig.parent, "Save session", str(sessions / "session.gmlab"),
                                                  SESSION_FILTER))]
    (sessions / "session.gmlab").write_bytes(b"")
    ui.choose_save_path()
    assert dialogs.calls[-1][1][2] == str(sessions / "session-2.gmlab")  # never a file that is there
    current = tmp_path / "cur" / "c.gmlab"
    current.parent.mkdir()
    rig.state.set_current_path(str(current))
    ui.choose_save_path()
    assert dialogs.calls[-1][1][2] == str(current)
    rig.state.set_current_path(str(tmp_path / "gone" / "c.gmlab"))  # its folder is gone: the sessions folder
    dialogs.answer("getSaveFileName", (str(tmp_path / "cur" / "new"), ""))
    assert ui.choose_save_path() == str(tmp_path / "cur" / "new.gmlab")
    assert dialogs.calls[-1][1][2] == str(sessions / "session-2.gmlab")
    assert DialogFolders(rig.store).folder("sessions") == tmp_path / "cur"


def test_save_writes_to_the_current_file_and_save_as_to_the_file_chosen(rig, dialogs, tmp_path):
    ui = rig.ui
    rig.state.set_current_path(str(tmp_path / "cur.gmlab"))
    ui.save()
    assert dialogs.calls == [] and rig.child.sent == [("save", str(tmp_path / "cur.gmlab"), {"gui": rig.view})]
    ui.save_as()  # cancelled
    dialogs.answer("getSaveFileName", (str(tmp_path / "new.gmlab"), ""))
    ui.save_as()
    assert [s[1] for s in rig.child.sent] == [str(tmp_path / "cur.gmlab"), str(tmp_path / "new.gmlab")]


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_the_export_dialog_offers_the_session_s_name_in_the_data_folder_with_its_title(qtbot, tmp_path,
                                                                                        monkeypatch, dialogs, mode):
    monkeypatch.chdir(tmp_path)
    r = SessionRig(qtbot, tmp_path, preset("question-fixed" if mode == "online" else "answer"), Commands())
    assert r.state.applied.train.mode == mode
    data = gui_settings.documents_dir() / APP_FOLDER / "data"
    title = "Export history as CSV" + (" (also writes <name>.epochs.csv, the per-epoch log)" if mode == "batch"
                                       else "")
    r.ui.export_dialog()
    assert dialogs.calls == [("getSaveFileName", (r.parent, title, str(data / "history.csv"), "CSV (*.csv)"))]
    r.state.set_current_path(str(tmp_path / "run.v1.gmlab"))
    chosen = tmp_path / "out" / "h.csv"
    chosen.parent.mkdir()
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    r.ui.export_dialog()
    assert dialogs.calls[1][1][2] == str(data / "run.v1.csv") and r.child.sent == [("export", str(chosen))]
    assert DialogFolders(r.store).folder("data") == chosen.parent
    assert "question" not in dialogs.names()  # no <name>.epochs.csv there: nothing to ask


def test_the_epochs_question_names_both_files_and_defaults_to_no(qtbot, tmp_path, monkeypatch, dialogs):
    monkeypatch.chdir(tmp_path)
    r = SessionRig(qtbot, tmp_path, preset("answer"), Commands())
    chosen, epochs = tmp_path / "h.csv", tmp_path / "h.epochs.csv"
    assert r.ui.confirm_epochs_file(str(chosen)) is True and dialogs.calls == []
    epochs.write_text("kept")
    assert r.ui.confirm_epochs_file(str(chosen)) is False  # No
    dialogs.answer("question", Yes)
    assert r.ui.confirm_epochs_file(str(chosen)) is True
    text = f"A batch export writes two files:\n{chosen}\n{epochs}\n\nh.epochs.csv already exists. Replace it?"
    assert dialogs.calls == [("question", (r.parent, "Replace the per-epoch file?", text, Yes | No, No))] * 2
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    r.ui.export_dialog()  # No: nothing sent
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    dialogs.answer("question", Yes)
    r.ui.export_dialog()
    assert r.child.sent == [("export", str(chosen))] and epochs.read_text() == "kept"


# -- Save in the unsaved-work question: save_and_wait -------------------------------------------------------
RAN_OUT = "the test's answers ran out"


def answer_later(rig, *answers) -> None:
    """The child's answers, arriving through the event loop once save_and_wait waits: each a SaveResult, a
    callable giving one (called then: it may read what was sent), or a text (the trainer failed). Last, the
    trainer fails: a save_and_wait that missed its answer returns (False) rather than waits for ever."""
    def deliver(a) -> None:
        if isinstance(a, str):
            rig.child.worker.error.emit(a)
        else:
            rig.answer(a() if callable(a) else a)

    for a in (*answers, RAN_OUT):
        QTimer.singleShot(0, rig.parent, lambda a=a: deliver(a))  # dropped with the rig's widget


def test_save_and_wait_saves_to_the_current_file_and_returns_true_once_saved(rig, dialogs, tmp_path):
    path = str(tmp_path / "c.gmlab")
    rig.state.set_current_path(path)
    answer_later(rig, SaveResult(True, str(tmp_path / "other.gmlab"), step=1, run_id=1),
                 SaveResult(True, path, step=5, run_id=1))
    assert rig.ui.save_and_wait() is True
    assert dialogs.calls == [] and rig.child.sent == [("save", path, {"gui": rig.view})]
    assert rig.ui.recent()[0] == path


def test_save_and_wait_returns_false_when_that_save_fails_even_after_another_succeeded(rig, tmp_path):
    path = str(tmp_path / "c.gmlab")
    rig.state.set_current_path(path)
    answer_later(rig, SaveResult(True, str(tmp_path / "other.gmlab"), step=1, run_id=1),
                 SaveResult(False, path, "disk full"))
    assert rig.ui.save_and_wait() is False and rig.errors() == ["disk full"]


def test_save_and_wait_returns_false_when_the_trainer_fails(rig, tmp_path):
    rig.state.set_current_path(str(tmp_path / "c.gmlab"))
    answer_later(rig, "the trainer stopped")
    assert rig.ui.save_and_wait() is False
    rig.answer(SaveResult(True, str(tmp_path / "c.gmlab"), step=1, run_id=1))  # a late answer: nobody waits


def test_save_and_wait_asks_for_a_path_when_never_saved(rig, dialogs, tmp_path):
    assert rig.ui.save_and_wait() is False and dialogs.names() == ["getSaveFileName"]  # cancelled
    assert rig.child.sent == []
    dialogs.answer("getSaveFileName", (str(tmp_path / "n"), ""))
    answer_later(rig, lambda: SaveResult(True, rig.child.sent[0][1], step=2, run_id=1))  # whatever was sent
    assert rig.ui.save_and_wait() is True and rig.child.sent[0][1] == str(tmp_path / "n.gmlab")


def test_save_and_wait_to_an_unwritable_file_returns_false_without_waiting(rig, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rig.state.set_current_path(str(blocker / "c.gmlab"))
    answer_later(rig)  # none: it must not wait
    assert rig.ui.save_and_wait() is False and rig.child.sent == [] and len(rig.errors()) == 1


def test_save_and_wait_with_an_unresponsive_trainer_says_so_and_sends_nothing(rig, dialogs, tmp_path):
    rig.state.set_current_path(str(tmp_path / "c.gmlab"))
    rig.child.worker.unresponsive = True
    answer_later(rig)  # none: it must not wait
    assert rig.ui.save_and_wait() is False and rig.child.sent == [] and dialogs.calls == []
    assert rig.errors() == ["Cannot save the session: the trainer is not responding. Nothing was saved."]


def test_save_and_wait_leaves_every_other_listener_connected(rig, tmp_path):
    path = str(tmp_path / "c.gmlab")
    rig.state.set_current_path(path)
    heard: list[tuple[str, object]] = []
    rig.ui.saved.connect(lambda r: heard.append(("saved", r.step)))
    rig.ui.failed.connect(lambda r: heard.append(("failed", r.error)))
    rig.child.worker.error.connect(lambda text: heard.append(("error", text)))
    answer_later(rig, SaveResult(True, path, step=1, run_id=1))
    assert rig.ui.save_and_wait() is True
    rig.answer(SaveResult(True, path, step=2, run_id=1))
    rig.answer(SaveResult(False, path, "disk full"))
    rig.child.worker.error.emit("the trainer stopped")
    heard = [h for h in heard if h != ("error", RAN_OUT)]  # answer_later's last word, heard or not yet
    assert heard == [("saved", 1), ("saved", 2), ("failed", "disk full"), ("error", "the trainer stopped")]
