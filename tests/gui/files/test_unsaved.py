"""Nothing dropped without asking (issue 22, 4), offscreen: `[*]` in the title rests on the run's evidence (trained
since the last save or open); Quit/Close, Reset and Open of a modified session ask Save / Discard / Cancel (the
question is replaced by a stand-in that records what was asked and answers as told): Cancel keeps the window, the
run and the file, Discard goes on, Save writes the file first; nothing is asked of an unmodified session, of a
window a script drives (--quit-after-steps) or after Ctrl-C; the standard keys, and a screenshot key none collides
with."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from core.config import Config  # noqa: E402
from gui import app as gui_app  # noqa: E402
from gui.app_state import AppState  # noqa: E402
from gui.files import unsaved  # noqa: E402
from tests.gui_helpers import documents_in, save, steps, wait_step  # noqa: E402

Button = unsaved.Button
REAL_ASK = unsaved.ask  # the module's autouse stand-in replaces it in every test


class Question:
    """Stands in for unsaved.ask: records each (doing, path) asked and gives the answers a test queued, one per
    question, then Discard (so that pytest-qt's closing of the window ends a test, failed or not)."""

    def __init__(self):
        self.asked: list[tuple[str, str | None]] = []
        self._answers: list[QMessageBox.StandardButton] = []

    def answers(self, *answers) -> None:
        self._answers = list(answers)

    def __call__(self, parent, doing, path):
        self.asked.append((doing, path))
        return self._answers.pop(0) if self._answers else Button.Discard


@pytest.fixture(autouse=True)
def question(monkeypatch):
    q = Question()
    monkeypatch.setattr(unsaved, "ask", q)
    return q


@pytest.fixture(autouse=True)
def documents(tmp_path, monkeypatch):
    """The user's documents folder, where Open session… opens the first time: a temporary one."""
    return documents_in(monkeypatch, tmp_path / "Documents")


@pytest.fixture
def win(win):
    """The shared window, driven by a person (gui.app turns asking on for a run without automation flags)."""
    gui_app.automate(win, automation_args(autostart=False))
    assert win.unsaved.asking
    return win


def automation_args(**kw):
    base = {"quit_after_steps": None, "screenshot": None, "autostart": True, "open": None, "recording": None}
    return argparse.Namespace(**{**base, **kw})


def saved_results(w):
    out = []
    w.session_ui.saved.connect(out.append)
    return out


def test_modified_rests_on_the_run_s_evidence(qtbot):
    st = AppState(Config())
    seen = []
    st.modified_changed.connect(seen.append)
    st.run_at(7, 0)
    assert not st.modified  # never saved, untrained
    st.run_at(7, 3)
    assert st.modified and seen == [True]  # never saved, trained
    st.session_saved("a.gmlab", 7, 5)  # the child saved step 5 (a snapshot of step 3 was the last drawn)
    assert not st.modified and st.current_path == "a.gmlab"
    st.run_at(7, 4)  # a late snapshot from before the save: not newer than the file
    assert not st.modified
    st.run_at(7, 6)
    assert st.modified
    st.session_opened("b.gmlab", 9, 100, Config().replace(lr=0.5))
    st.set_applied(Config().replace(lr=0.5))
    assert not st.modified
    st.run_at(7, 50)  # the replaced run's snapshot still in flight: no evidence
    assert not st.modified
    st.set_applied(Config().replace(lr=0.25))  # the live learning rate changed: the file holds another config
    assert st.modified
    st.note_reset()  # a new run replaces it: step 0, never saved
    assert not st.modified
    st.run_at(9, 101)  # the run Reset replaced
    assert not st.modified
    st.run_at(11, 1)
    assert st.modified and seen[-1] is True


def test_the_marker_shows_after_training_and_clears_after_save(qtbot, win, tmp_path):
    assert win.windowTitle() == "GRU Memory Lab[*]" and not win.isWindowModified() and not win.state.modified
    steps(qtbot, win, 3)
    qtbot.waitUntil(win.isWindowModified, timeout=5000)  # never saved and trained
    path = tmp_path / "m.gmlab"
    res = save(qtbot, win, path)
    assert res.ok and res.step == 3 and res.run_id == win.snap.run_id
    assert not win.isWindowModified() and win.windowTitle() == "m.gmlab[*] — GRU Memory Lab"
    steps(qtbot, win, 2)
    assert win.isWindowModified()  # trained past the saved step
    win.commands.live_changed("lr", win.state.applied.train.lr * 2)
    save(qtbot, win, path)
    assert not win.isWindowModified()
    win.commands.live_changed("lr", win.state.applied.train.lr * 2)
    assert win.isWindowModified()  # a config the file does not hold, with no step trained


def test_an_unmodified_session_is_not_asked_about(qtbot, win, question, tmp_path, monkeypatch):
    run = win.snap.run_id
    win.commands.reset()  # untrained, never saved: nothing to lose
    wait_step(qtbot, win, lambda s: s.run_id != run)
    steps(qtbot, win, 4)
    path = tmp_path / "u.gmlab"
    save(qtbot, win, path)
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: opened.append(a) or ("", ""))
    win.session_ui.open_dialog()
    assert len(opened) == 1  # straight to the dialog
    run = win.snap.run_id
    win.commands.reset()  # saved at this very step
    wait_step(qtbot, win, lambda s: s.run_id != run)
    assert win.close() and question.asked == []


def test_close_of_a_modified_session_asks_and_cancel_keeps_it(qtbot, win, question, tmp_path):
    steps(qtbot, win, 5)
    path = tmp_path / "c.gmlab"
    save(qtbot, win, path)
    before = path.read_bytes()
    steps(qtbot, win, 5)
    question.answers(Button.Cancel, Button.Cancel)
    assert not win.close()
    assert question.asked == [("quit", str(path))]
    assert win.isVisible() and win.handle.worker.link.alive and win.state.modified
    assert path.read_bytes() == before
    s = steps(qtbot, win, 1)  # the run goes on where it was
    assert s.step == 11
    win.act_quit.trigger()  # Quit asks as the close button does
    assert win.isVisible() and [d for d, _ in question.asked] == ["quit", "quit"]
    question.answers(Button.Discard)
    assert win.close() and not win.isVisible()
    assert path.read_bytes() == before  # discarded: the file keeps what it had


def test_close_save_writes_the_file_then_closes(qtbot, win, question, tmp_path):
    steps(qtbot, win, 5)
    path = tmp_path / "s.gmlab"
    save(qtbot, win, path)
    steps(qtbot, win, 7)
    results = saved_results(win)
    question.answers(Button.Save)
    assert win.close() and not win.isVisible()
    assert [(r.ok, r.path, r.step) for r in results] == [(True, str(path), 12)]
    assert path.exists()


def test_save_of_a_never_saved_run_asks_for_a_path_and_its_cancel_cancels(qtbot, win, question, tmp_path,
                                                                          monkeypatch):
    steps(qtbot, win, 3)
    chosen: list[str | None] = [None]
    monkeypatch.setattr(win.session_ui, "choose_save_path", lambda: chosen[0])
    question.answers(Button.Save, Button.Save)
    assert not win.close() and win.isVisible()  # the Save dialog was cancelled: so is the close
    assert question.asked == [("quit", None)] and win.state.modified
    chosen[0] = str(tmp_path / "new.gmlab")
    results = saved_results(win)
    assert win.close() and not win.isVisible()
    assert Path(chosen[0]).exists() and [r.step for r in results] == [3]


def test_reset_of_a_modified_session_asks(qtbot, win, question, tmp_path):
    steps(qtbot, win, 6)
    run, resets = win.snap.run_id, win.state.reset_count
    question.answers(Button.Cancel)
    win.commands.reset()
    assert question.asked == [("reset", None)] and win.state.reset_count == resets
    s = steps(qtbot, win, 1)
    assert (s.run_id, s.step) == (run, 7)  # the same run, kept
    question.answers(Button.Discard)
    win.commands.reset()
    s = wait_step(qtbot, win, lambda s: s.run_id != run)
    assert s.step == 0 and win.state.reset_count == resets + 1 and not win.state.modified
    # Save: written first, then the new run
    steps(qtbot, win, 4)
    path = tmp_path / "r.gmlab"
    save(qtbot, win, path)
    steps(qtbot, win, 2)
    run = win.snap.run_id
    results = saved_results(win)
    question.answers(Button.Save)
    win.commands.reset()
    assert [r.step for r in results] == [6]
    wait_step(qtbot, win, lambda s: s.run_id != run and s.step == 0)
    assert win.state.current_path is None and not win.isWindowModified()


def test_a_page_s_load_and_start_cancelled_leaves_the_run_paused(qtbot, win, question):
    steps(qtbot, win, 4)
    run = win.snap.run_id
    question.answers(Button.Cancel)
    win.services.load_config(win.state.applied.replace(seed=7), start=True)
    assert question.asked == [("reset", None)] and not win.state.running
    s = steps(qtbot, win, 1)
    assert (s.run_id, s.step) == (run, 5)


def test_open_of_a_modified_session_asks(qtbot, win, question, tmp_path, monkeypatch):
    steps(qtbot, win, 5)
    path = tmp_path / "o.gmlab"
    save(qtbot, win, path)
    steps(qtbot, win, 3)
    win.session_ui.open_recent(str(tmp_path / "gone.gmlab"))  # a file that is gone replaces nothing: not asked
    assert question.asked == [] and "no longer exists" in win.message.errors[-1]
    dialogs = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: dialogs.append(a) or (str(path), ""))
    question.answers(Button.Cancel, Button.Cancel)
    win.session_ui.open_dialog()
    win.session_ui.open_recent(str(path))
    assert question.asked == [("open", str(path))] * 2 and dialogs == []
    assert win.snap.step == 8 and win.state.modified
    question.answers(Button.Discard)
    run = win.snap.run_id
    with qtbot.waitSignal(win.session_ui.opened, timeout=20000) as sig:
        win.session_ui.open_dialog()
    assert len(dialogs) == 1 and sig.args[0].step == 5
    s = wait_step(qtbot, win, lambda s: s.run_id != run)
    assert s.step == 5 and not win.isWindowModified()  # the file's run, as saved


def test_quit_after_steps_never_asks(qtbot, win, question):
    auto = gui_app.automate(win, automation_args(quit_after_steps=40))
    assert not win.unsaved.asking
    qtbot.waitUntil(lambda: auto.done and not win.isVisible(), timeout=60000)
    assert auto.failure is None and win.snap.step == 40 and question.asked == []


def test_ctrl_c_closes_without_asking(qtbot, win, question):
    steps(qtbot, win, 3)
    interrupt = gui_app.Interrupt(QApplication.instance())
    interrupt()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=10000)
    assert interrupt.seen and question.asked == []


def test_standard_keys_and_a_screenshot_key_that_collides_with_none(win):
    std = QKeySequence.StandardKey
    ui = win.session_ui
    for action, key in ((ui.act_save, std.Save), (ui.act_open, std.Open), (ui.act_save_as, std.SaveAs),
                        (win.act_close, std.Close), (win.act_quit, std.Quit)):
        bindings = [k for k in QKeySequence.keyBindings(key) if not k.isEmpty()]
        assert bindings and all(k in action.shortcuts() for k in bindings), (action.text(), key)
    assert QKeySequence("Ctrl+S") in ui.act_save.shortcuts() and QKeySequence("Ctrl+Q") in win.act_quit.shortcuts()
    assert win.act_shot.shortcuts() == [QKeySequence("F12")]
    seen: dict[str, str] = {}
    for a in {id(a): a for a in (*win.actions(), *win.findChildren(type(win.act_shot)))}.values():
        for k in a.shortcuts():
            assert seen.setdefault(k.toString(), a.text()) == a.text(), (k.toString(), seen[k.toString()], a.text())
    assert "F12" in dict(unsaved_key_help())


def unsaved_key_help():
    from gui.window.help import shortcut_rows

    return shortcut_rows()


def test_the_question_offers_save_discard_cancel_and_escape_is_cancel(qtbot, win):
    seen, answers = [], [lambda box: qtbot.keyClick(box, Qt.Key_Escape),
                         lambda box: box.button(Button.Discard).click()]

    def answer_when_shown() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            seen.append((box.text(), box.informativeText(), box.standardButtons(),
                         box.standardButton(box.defaultButton())))
            answers.pop(0)(box)

    poll = QTimer(win)
    poll.timeout.connect(answer_when_shown)
    poll.start(20)
    try:
        assert REAL_ASK(win, "reset", None) == Button.Cancel
        assert REAL_ASK(win, "quit", "/x/s.gmlab") == Button.Discard
    finally:
        poll.stop()
    assert [t for t, *_ in seen] == [unsaved.QUESTIONS["reset"], unsaved.QUESTIONS["quit"]]
    assert "never saved" in seen[0][1] and "s.gmlab" in seen[1][1]
    assert all(b == Button.Save | Button.Discard | Button.Cancel and d == Button.Save for _, _, b, d in seen)
