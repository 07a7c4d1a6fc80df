"""gui.commands.RunCommands, the one door to Start: it says a Start is queued while the trainer is not Ready, and
the Start button, Space, the Run menu and the command line's automation all go through it."""

import argparse

import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from gui import app as gui_app  # noqa: E402
from gui.app_state import AppState  # noqa: E402
from gui.commands import RunCommands  # noqa: E402


class FakeHandle:
    """The worker handle's commands, recorded; `ready` as the child said."""

    def __init__(self, ready: bool):
        self.ready, self.sent = ready, []

    def start(self, until=None):
        self.sent.append(("start", until))

    def set_lr(self, lr):
        self.sent.append(("lr", lr))


def commands(qtbot, ready: bool):
    handle, notes = FakeHandle(ready), []
    state = AppState(preset("question-fixed"))
    cmds = RunCommands(handle, state, state.applied, notes.append, lambda: None, lambda: notes.append("queued"))
    return cmds, handle, state, notes


def test_start_before_the_trainer_is_ready_says_it_is_queued(qtbot):
    cmds, handle, state, notes = commands(qtbot, ready=False)
    cmds.start()
    assert notes == ["queued"] and handle.sent == [("start", None)] and state.running


def test_start_once_ready_sends_quietly_and_passes_until(qtbot):
    cmds, handle, state, notes = commands(qtbot, ready=True)
    cmds.start(until=700)
    assert notes == [] and handle.sent == [("start", 700)] and state.running


def test_a_live_lr_change_is_the_applied_config_with_that_lr(qtbot):
    cmds, handle, state, _ = commands(qtbot, ready=True)
    before = state.applied
    cmds.live_changed("lr", 0.25)
    assert handle.sent == [("lr", 0.25)]
    assert state.applied == before.replace(lr=0.25) and state.applied.train.lr == 0.25


def test_button_space_menu_and_automation_all_start_through_run_commands(qtbot, win, monkeypatch):
    calls = []
    monkeypatch.setattr(win.commands, "start", lambda until=None: calls.append(until))
    win.toolbar.btn_start.click()
    assert calls == [None]
    assert "Space" in [k.toString() for k in win.act_start.shortcuts()] and win.act_start in win.m_run.actions()
    win.act_start.trigger()  # Space and Run ▸ Start are this action
    assert calls == [None, None]
    args = argparse.Namespace(quit_after_steps=700, screenshot=None, autostart=True, open=None, recording=None)
    gui_app.Automation(win, args).begin()
    assert calls == [None, None, 700]
    assert not win.state.running  # nothing but the door sent a Start
