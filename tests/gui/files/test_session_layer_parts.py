"""SessionUI (gui/files/sessions.py) on its own, without a window or a training child (tests/gui_helpers.py's
SessionRig: a real WindowServices and AppState, a stand-in for the worker handle that records each request and
lets the test answer as the child does, stand-ins for the message bar, the status line and RunCommands): the
actions, the File menu and its Open recent menu, the recent list, each request sent, and each of the child's
answers (what it changes, the status line, the message, the view settings passed on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMenu  # noqa: E402

from core.config import Config, preset  # noqa: E402
from core.messages import ExportResult, OpenResult, SaveResult  # noqa: E402
from gui.files.sessions import RECENT_KEY, SessionUI  # noqa: E402
from tests.gui_helpers import SessionRig  # noqa: E402

pytestmark = pytest.mark.usefixtures("docs")  # a temporary documents folder (conftest.py) for every test


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
    bare = SessionRig(qtbot, tmp_path, Config(), None)
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


def test_paths_are_given_to_the_child_as_text(rig, tmp_path):
    rig.ui.save_session_to(Path(tmp_path) / "p.gmlab")
    rig.ui.open_session_from(Path(tmp_path) / "p.gmlab")
    rig.ui.export_csv_to(Path(tmp_path) / "p.csv")
    assert all(isinstance(s[1], str) for s in rig.child.sent) and len(rig.child.sent) == 3


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
