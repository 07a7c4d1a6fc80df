"""SessionUI (gui/files/sessions.py) on its own, without a window or a training child: a real WindowServices and
AppState around it, a stand-in for the worker handle that records each request and lets the test answer as the
child does (typed results on `worker.result`), stand-ins for the message bar, the status line and RunCommands,
and QFileDialog's and QMessageBox's static calls replaced (tests/gui/files/test_session_layer.py's Dialogs).
Each test pins what one part says or does: the actions, the Open recent menu, the requests sent, the dialogs'
titles, folders and filters, the status lines, the messages, the answers' effects and Save's wait."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, QSettings, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QMenu, QWidget  # noqa: E402

from core.config import Config, preset  # noqa: E402
from core.messages import ExportResult, OpenResult, SaveResult  # noqa: E402
from gui import settings as gui_settings  # noqa: E402
from gui.app_state import AppState  # noqa: E402
from gui.files.sessions import RECENT_KEY, SessionUI  # noqa: E402
from gui.services import WindowServices  # noqa: E402
from gui.settings import APP_FOLDER, DialogFolders  # noqa: E402
from tests.gui.files.test_session_layer import Dialogs, No, Yes, docs  # noqa: E402, F401  (docs: autouse)

SESSION_FILTER = "GRU Memory Lab session (*.gmlab);;All files (*)"


class Worker(QObject):
    result = Signal(object)
    error = Signal(str)

    def __init__(self):
        super().__init__()
        self.unresponsive = False


class Child:
    """Stands in for the worker handle: `sent` holds each request; the test answers on `worker.result`."""

    def __init__(self):
        self.worker = Worker()
        self.sent: list[tuple] = []

    def save_session(self, path, extra=None):
        self.sent.append(("save", path, extra))

    def open_session(self, path):
        self.sent.append(("open", path))

    def export_csv(self, path):
        self.sent.append(("export", path))


class Bar:
    """Stands in for the message bar: `shown` holds (kind, text) of each notice, error and hide."""

    def __init__(self):
        self.shown: list[tuple[str, str | None]] = []

    def notice(self, text):
        self.shown.append(("notice", text))

    def error(self, text):
        self.shown.append(("error", text))

    def hide(self):
        self.shown.append(("hide", None))


class Commands:
    """Stands in for RunCommands: `may_open` answers `allow` and counts the questions."""

    def __init__(self):
        self.allow, self.asked = True, 0

    def may_open(self):
        self.asked += 1
        return self.allow


class Rig:
    """A SessionUI over a real WindowServices and AppState (`cfg`), with the stand-ins above."""

    def __init__(self, qtbot, tmp_path, cfg: Config, commands: Commands | None):
        self.parent = QWidget()
        qtbot.addWidget(self.parent)
        self.state = AppState(cfg)
        self.child, self.bar, self.commands = Child(), Bar(), commands
        self.status: list[tuple[str, int]] = []
        self.calls: list[str] = []
        self.view = {"window": 300, "smoothing": 20, "log": True, "layer": "z"}
        self.restored: list[dict] = []
        self.panel_configs: list[Config] = []
        self.store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        panel = type("Panel", (), {"set_config": lambda _s, c: self.panel_configs.append(c)})()
        self.services = WindowServices(
            state=self.state, handle=self.child, settings=self.store, dialog_parent=self.parent, messages=self.bar,
            show_status=lambda text, ms: self.status.append((text, ms)), config_panel=panel,
            save_settings=lambda: self.calls.append("save_settings"), pause=lambda: self.calls.append("pause"),
            current_curves=lambda: None, view_settings=lambda: dict(self.view),
            restore_view_settings=self.restored.append)
        self.ui = SessionUI(self.services, self.parent, commands=commands)

    def install(self) -> QMenu:
        """Install the actions in a File menu kept here (a menu nobody holds is deleted, its Open recent too)."""
        self.menu = QMenu()
        self.ui.install(self.menu)
        return self.menu

    def answer(self, result) -> None:
        """The child's answer, as it arrives."""
        self.child.worker.result.emit(result)

    def errors(self) -> list[str]:
        return [t for k, t in self.bar.shown if k == "error"]

    def notices(self) -> list[str]:
        return [t for k, t in self.bar.shown if k == "notice"]


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs(monkeypatch)


@pytest.fixture
def rig(qtbot, tmp_path, monkeypatch, dialogs):
    """A Rig with the default config; no real dialog can open (a test that does not queue an answer sees them
    cancelled)."""
    monkeypatch.chdir(tmp_path)
    return Rig(qtbot, tmp_path, Config(), Commands())


def opened(path, cfg: Config, step=1234, run_id=7, **kw) -> OpenResult:
    return OpenResult(True, str(path), config=cfg.to_dict(), step=step, run_id=run_id, **kw)


# -- the actions and the menu -------------------------------------------------------------------------------
def test_the_actions_texts_keys_tips_and_parent(rig):
    ui = rig.ui
    assert ui.parent() is rig.parent and ui.m_recent is None  # no menu until installed
    expected = [
        (ui.act_open, "&Open session…", ["Ctrl+O", "Open"],
         "Open a saved session (.gmlab): config, model, optimizer, curves; Start continues (Ctrl+O)"),
        (ui.act_save, "Save sess&ion", ["Ctrl+S", "Save"],
         "Save the session to its file (asks for a path the first time) (Ctrl+S)"),
        (ui.act_save_as, "Save session &as…", ["Ctrl+Shift+S", "Shift+Save"],
         "Save the session to a new file (Ctrl+Shift+S)"),
        (ui.act_export_csv, "Export history as &CSV…", [],
         "Write the whole-run loss and accuracy (batch: also per-epoch logs) as CSV")]
    for action, text, keys, tip in expected:
        assert action.text() == text and action.parent() is ui
        assert [k.toString() for k in action.shortcuts()] == keys, text
        assert action.toolTip() == tip and action.statusTip() == tip
    assert ui.shortcut_actions == [ui.act_open, ui.act_save, ui.act_save_as]


def test_each_action_runs_its_command(rig, dialogs, tmp_path):
    ui = rig.ui
    ui.act_open.trigger()
    assert rig.commands.asked == 1 and dialogs.names() == ["getOpenFileName"]
    ui.act_save.trigger()  # never saved: Save asks for a path
    ui.act_save_as.trigger()
    ui.act_export_csv.trigger()
    assert [(n, a[1]) for n, a in dialogs.calls] == [
        ("getOpenFileName", "Open session"), ("getSaveFileName", "Save session"),
        ("getSaveFileName", "Save session"), ("getSaveFileName", "Export history as CSV")]
    assert rig.child.sent == []  # every dialog was cancelled


def test_install_puts_the_session_actions_above_the_file_menu_s_own(rig):
    menu = QMenu()
    own = [menu.addAction("Record…"), menu.addAction("Quit")]
    rig.ui.install(menu)
    acts = menu.actions()
    assert acts[:5] == [rig.ui.act_open, rig.ui.m_recent.menuAction(), rig.ui.act_save, rig.ui.act_save_as,
                        rig.ui.act_export_csv]
    assert acts[5].isSeparator() and acts[6:] == own
    assert rig.ui.m_recent.title() == "Open &recent" and rig.ui.m_recent.parent() is menu
    other, empty = SessionUI(rig.services, rig.parent), QMenu()  # into an empty menu: its actions, a separator
    other.install(empty)
    assert [a.text() for a in empty.actions()] == ["&Open session…", "Open &recent", "Save sess&ion",
                                                   "Save session &as…", "Export history as &CSV…", ""]
    assert empty.actions()[5].isSeparator()


def html_path(tmp_path) -> str:
    """tmp_path / "<i>x&y.gmlab" as markup that shows that text."""
    return str(tmp_path).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "/&lt;i&gt;x&amp;y.gmlab"


def test_the_recent_menu_lists_each_file_and_opens_it(rig, tmp_path):
    ui = rig.ui
    a, b = tmp_path / "a.gmlab", tmp_path / "<i>x&y.gmlab"
    a.write_bytes(b"")
    b.write_bytes(b"")
    rig.store.setValue(RECENT_KEY, json.dumps([str(a), str(b)]))
    rig.install()
    acts = ui.m_recent.actions()
    assert [x.text() for x in acts] == ["&1  a.gmlab", "&2  <i>x&y.gmlab", "", "Clear list"]
    assert acts[2].isSeparator() and ui.m_recent.menuAction().isEnabled()
    assert [x.data() for x in acts[:2]] == [str(a), str(b)] and [x.statusTip() for x in acts[:2]] == [str(a), str(b)]
    assert acts[1].toolTip() == html_path(tmp_path)  # a file name shown as text
    acts[1].trigger()
    assert rig.commands.asked == 1 and rig.child.sent == [("open", str(b))] and rig.calls == ["pause"]
    acts[3].trigger()  # Clear list
    assert ui.recent() == [] and json.loads(rig.store.value(RECENT_KEY)) == []
    assert [(x.text(), x.isEnabled()) for x in ui.m_recent.actions()] == [("(none)", False)]
    assert ui.m_recent.menuAction().isEnabled()


def test_showing_the_recent_menu_prunes_missing_files_and_names_them(rig, tmp_path):
    ui = rig.ui
    kept, gone1, gone2 = tmp_path / "kept.gmlab", tmp_path / "g1.gmlab", tmp_path / "g2.gmlab"
    kept.write_bytes(b"")
    rig.install()
    rig.store.setValue(RECENT_KEY, json.dumps([str(gone1), str(kept), str(gone2)]))
    ui.m_recent.aboutToShow.emit()
    assert ui.recent() == [str(kept)] and [x.data() for x in ui.m_recent.actions() if x.data()] == [str(kept)]
    assert rig.notices() == ["Removed from Open recent (the file no longer exists): g1.gmlab, g2.gmlab."]


def test_refreshing_with_every_file_there_shows_the_stored_list_without_a_message(rig, tmp_path):
    ui = rig.ui
    files = [tmp_path / f"{n}.gmlab" for n in "abc"]
    for f in files:
        f.write_bytes(b"")
    rig.install()
    rig.store.setValue(RECENT_KEY, json.dumps([str(f) for f in files]))  # written elsewhere (another window)
    assert ui.refresh_recent() == [str(f) for f in files]
    assert [x.data() for x in ui.m_recent.actions() if x.data()] == [str(f) for f in files] and rig.bar.shown == []


def test_the_recent_list_keeps_eight_newest_first_without_duplicates_as_absolute_paths(rig, tmp_path):
    ui = rig.ui
    names = [str(tmp_path / f"s{i}.gmlab") for i in range(10)]
    ui.store_recent(names)
    assert rig.store.value(RECENT_KEY) == json.dumps(names[:8])
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat).value(RECENT_KEY) == json.dumps(names[:8])
    ui.add_recent(names[3])
    assert ui.recent() == [names[3]] + names[:3] + names[4:8]
    ui.add_recent("rel.gmlab")  # relative to the working folder (tmp_path)
    assert ui.recent()[:2] == [str(tmp_path / "rel.gmlab"), names[3]] and len(ui.recent()) == 8
    rig.store.setValue(RECENT_KEY, json.dumps([1, names[0], None, "", names[1]]))
    assert ui.recent() == [names[0], names[1]]


def test_opening_a_recent_file_that_is_gone_removes_it_and_says_so(rig, tmp_path):
    ui = rig.ui
    gone, other = str(tmp_path / "gone.gmlab"), str(tmp_path / "other.gmlab")
    ui.store_recent([gone, other])
    ui.open_recent(gone)
    assert ui.recent() == [other] and rig.child.sent == [] and rig.commands.asked == 0
    assert rig.errors() == [f"Cannot open {gone}: the file no longer exists; it was removed from Open recent."]


def test_an_open_the_run_commands_refuse_sends_nothing(rig, dialogs, tmp_path):
    f = tmp_path / "f.gmlab"
    f.write_bytes(b"")
    rig.commands.allow = False
    rig.ui.open_recent(str(f))
    rig.ui.open_dialog()
    assert rig.commands.asked == 2 and dialogs.calls == [] and rig.child.sent == []


def test_without_run_commands_nothing_is_asked_before_an_open(qtbot, tmp_path, monkeypatch, dialogs):
    monkeypatch.chdir(tmp_path)
    bare = Rig(qtbot, tmp_path, Config(), None)
    f = tmp_path / "f.gmlab"
    f.write_bytes(b"")
    bare.ui.open_recent(str(f))
    dialogs.answer("getOpenFileName", (str(f), ""))
    bare.ui.open_dialog()
    assert bare.child.sent == [("open", str(f)), ("open", str(f))]


# -- requests -----------------------------------------------------------------------------------------------
def test_save_session_to_sends_the_path_and_the_view_settings_and_says_saving(rig, tmp_path):
    path = tmp_path / "s.gmlab"
    assert rig.ui.save_session_to(path) is True
    assert rig.child.sent == [("save", str(path), {"gui": rig.view})]
    assert rig.status == [(f"Saving {path}…", 3000)]


def test_save_session_to_an_unwritable_path_says_why_and_sends_nothing(rig, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "s.gmlab"
    assert rig.ui.save_session_to(target) is False
    [error] = rig.errors()
    assert error.startswith(f"Cannot save the session to {target}: ") and error.endswith(". Nothing was saved.")
    assert len(error) > len(f"Cannot save the session to {target}: . Nothing was saved.")  # with the reason
    assert rig.child.sent == [] and rig.status == []


def test_export_csv_to_sends_the_path_or_says_why_not(rig, tmp_path):
    assert rig.ui.export_csv_to(tmp_path / "h.csv") is True
    assert rig.child.sent == [("export", str(tmp_path / "h.csv"))]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert rig.ui.export_csv_to(blocker / "h.csv") is False
    assert rig.errors()[0].startswith(f"Cannot export the history to {blocker / 'h.csv'}: ")
    assert rig.errors()[0].endswith(". Nothing was written.") and len(rig.child.sent) == 1


def test_open_session_from_pauses_sends_and_says_opening(rig, tmp_path):
    path = tmp_path / "o.gmlab"
    rig.ui.open_session_from(path)
    assert rig.calls == ["pause"] and rig.child.sent == [("open", str(path))]
    assert rig.status == [(f"Opening {path}…", 3000)]


# -- the child's answers ------------------------------------------------------------------------------------
def test_a_save_answer_makes_the_file_current_and_listed_and_says_so(rig, tmp_path):
    path = str(tmp_path / "s.gmlab")
    seen = []
    rig.ui.saved.connect(seen.append)
    result = SaveResult(True, path, step=12345, run_id=7)
    rig.answer(result)
    assert seen == [result] and rig.state.current_path == path and rig.ui.recent() == [path]
    assert rig.status == [(f"Session saved: {path} (step 12,345)", 5000)]
    rig.state.run_at(7, 12345)
    assert not rig.state.modified  # the file holds run 7 at step 12,345
    rig.state.run_at(7, 12346)
    assert rig.state.modified


def test_an_export_answer_names_every_file_written(rig, tmp_path):
    seen = []
    rig.ui.exported.connect(seen.append)
    result = ExportResult(True, "h.csv", paths=("/d/h.csv", "/d/h.epochs.csv"))
    rig.answer(result)
    assert seen == [result] and rig.status == [("History exported: /d/h.csv, /d/h.epochs.csv", 5000)]


@pytest.mark.parametrize("result, text", [
    (SaveResult(False, "/d/s.gmlab"), "Saving the session failed."),
    (OpenResult(False, "/d/s.gmlab"), "Could not open the session."),
    (ExportResult(False, "/d/h.csv"), "Exporting the history failed."),
    (SaveResult(False, "/d/s.gmlab", "cannot save /d/s.gmlab: disk full"), "cannot save /d/s.gmlab: disk full"),
])
def test_a_failed_answer_shows_its_error_or_what_failed(rig, result, text):
    seen = []
    rig.ui.failed.connect(seen.append)
    rig.answer(result)
    assert rig.errors() == [text] and seen == [result]
    assert rig.state.current_path is None and rig.ui.recent() == [] and rig.status == []


def test_an_open_answer_applies_the_run_and_says_so(rig, tmp_path):
    path = str(tmp_path / "o.gmlab")
    cfg = preset("question-fixed")
    seen, done = [], []
    rig.ui.opened.connect(seen.append)
    rig.ui.open_session_from(path, on_done=done.append)
    rig.ui.open_session_from(path, on_done=lambda ok: done.append(("second", ok)))
    result = opened(path, cfg, warnings=("w1", "w2"), extra={"gui": {"window": 500}})
    rig.answer(result)
    assert seen == [result] and done == [True, ("second", True)]
    assert rig.state.current_path == path and rig.state.applied == cfg and rig.panel_configs == [cfg]
    assert not rig.state.modified and rig.ui.recent() == [path] and rig.restored == [{"window": 500}]
    assert rig.bar.shown == [("hide", None), ("notice", "w1"), ("notice", "w2")]
    assert rig.status[-1] == (f"Session opened: {path} (step 1,234); Start continues", 5000)
    rig.answer(opened(path, cfg))  # another answer for the path: its callbacks were called once
    assert done == [True, ("second", True)]


def test_an_open_answer_nobody_waited_for_is_applied(rig, tmp_path):
    cfg = preset("question-fixed")
    rig.answer(opened(tmp_path / "cli.gmlab", cfg))  # e.g. asked before this SessionUI's marks
    assert rig.state.current_path == str(tmp_path / "cli.gmlab") and rig.state.applied == cfg


def test_an_open_answered_after_a_reset_claims_nothing_and_says_open_it_again(rig, tmp_path):
    path = str(tmp_path / "o.gmlab")
    seen, done = [], []
    rig.ui.opened.connect(seen.append)
    rig.ui.open_session_from(path, on_done=done.append)
    rig.state.note_reset()
    rig.answer(opened(path, preset("question-fixed")))
    assert done == [False] and done[0] is False and seen == [] and rig.state.current_path is None
    assert rig.notices() == [f"{path} was opened, then Reset replaced it with a new run; "
                             "open it again to continue it."]
    assert rig.state.applied == Config() and rig.ui.recent() == []


def test_a_failed_open_after_a_reset_is_an_error(rig, tmp_path):
    path = str(tmp_path / "o.gmlab")
    done = []
    rig.ui.open_session_from(path, on_done=done.append)
    rig.state.note_reset()
    rig.answer(OpenResult(False, path, f"cannot open {path}: truncated"))
    assert done == [False] and done[0] is False and rig.errors() == [f"cannot open {path}: truncated"]
    assert rig.notices() == []


def test_a_failed_open_calls_back_false_and_another_path_s_answer_calls_nothing(rig, tmp_path):
    done = []
    rig.ui.open_session_from(tmp_path / "a.gmlab", on_done=done.append)
    rig.answer(OpenResult(False, str(tmp_path / "b.gmlab"), "no"))
    assert done == []
    rig.answer(OpenResult(False, str(tmp_path / "a.gmlab"), "no"))
    assert done == [False] and done[0] is False


def test_an_opened_config_that_cannot_be_read_is_an_error_and_changes_nothing(rig, tmp_path):
    seen = []
    rig.ui.opened.connect(seen.append)
    rig.answer(OpenResult(True, str(tmp_path / "o.gmlab"), config={"model": {"units": "many"}}, step=3, run_id=2))
    [error] = rig.errors()
    assert error.startswith("The opened session's config could not be shown: ") and len(error) > 50
    assert seen == [] and rig.state.current_path is None and rig.ui.recent() == []


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
    r = Rig(qtbot, tmp_path, preset("question-fixed" if mode == "online" else "answer"), Commands())
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
    r = Rig(qtbot, tmp_path, preset("answer"), Commands())
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


def test_paths_are_given_to_the_child_as_text(rig, tmp_path):
    rig.ui.save_session_to(Path(tmp_path) / "p.gmlab")
    rig.ui.open_session_from(Path(tmp_path) / "p.gmlab")
    rig.ui.export_csv_to(Path(tmp_path) / "p.csv")
    assert all(isinstance(s[1], str) for s in rig.child.sent) and len(rig.child.sent) == 3
    assert os.path.isabs(rig.child.sent[0][1])


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


CLEANED = [  # (a session's gui, what SessionUI passes on to the window; the window's views clamp to their ranges)
    ({"window": 300, "smoothing": 20, "log": True, "layer": "z"}, {"window": 300, "smoothing": 20, "log": True,
                                                                   "layer": "z"}),
    ({"window": 300.9, "smoothing": -20.5, "log": False, "layer": "c"},  # c: an LSTM layer, shown once one runs
     {"window": 300, "smoothing": -20, "log": False, "layer": "c"}),
    ({"window": 10 ** 9 - 1, "smoothing": 1 - 10 ** 9}, {"window": 10 ** 9 - 1, "smoothing": 1 - 10 ** 9}),
    ({"window": 10 ** 9, "smoothing": -(10 ** 9)}, {}),  # from 1e9 on: ignored
    ({"window": 1e9, "smoothing": float("nan"), "log": float("inf")}, {}),
    ({"window": "300", "smoothing": "20", "log": "true", "layer": "Z"}, {}),
    ({"window": True, "smoothing": None, "log": 1, "layer": ["z"]}, {}),
    ({"smoothing": 40}, {"smoothing": 40}), ({"log": False}, {"log": False}), ({"layer": "h"}, {"layer": "h"}),
    ({"Window": 300, "SMOOTHING": 20, "Log": True, "LAYER": "z", "gui": {"window": 300}}, {}),
]


def test_only_the_well_formed_view_settings_are_passed_on_each_under_its_own_name(rig, tmp_path):
    cfg = preset("question-fixed")
    for gui, passed in CLEANED:
        rig.restored.clear()
        rig.answer(opened(tmp_path / "o.gmlab", cfg, extra={"gui": gui}))
        assert rig.restored == [passed], gui
