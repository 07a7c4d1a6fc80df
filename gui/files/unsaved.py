"""Unsaved work: the modified marker in the window's title, and the question asked before a modified run is dropped.

The title is "name.gmlab[*] — GRU Memory Lab" ("GRU Memory Lab[*]" while the run has no file); Qt shows the `[*]`
as `*` while the AppState says the run is modified (it owns that state and rests it on the run's evidence: see
gui/app_state.py). Quit, Close, Reset and Open go through RunCommands' door for dropping the run (`may_drop`),
which asks `UnsavedWork.confirm`: with nothing unsaved it says yes at once; else `ask` puts Save / Discard /
Cancel (QMessageBox's standard buttons; Escape is Cancel). Save saves (asking for a path when the session has
none) and says yes once the child answered that it saved, no when the dialog was cancelled or the save failed;
Discard says yes; Cancel no, and the window, the run and its file stay as they were.

A person is asked, a script never: `asking` is off in a window that a script or a test makes, and gui.app turns it
on for every run without automation flags (--quit-after-steps, --screenshot, --record); Ctrl-C in the terminal
closes without asking.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from gui.app_state import AppState

Button = QMessageBox.StandardButton
QUESTIONS = {"quit": "Save the session before closing the window?",
             "reset": "Save the session before Reset replaces it with a new run?",
             "open": "Save the session before opening another one?"}


def ask(parent: QWidget, doing: str, path: str | None) -> QMessageBox.StandardButton:
    """The question, modal: Save, Discard or Cancel for `doing` ("quit", "reset" or "open"); tests replace it."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved training", QUESTIONS[doing],
                      Button.Save | Button.Discard | Button.Cancel, parent)
    box.setInformativeText(f"The training since {Path(path).name} was saved is lost if you discard it." if path
                           else "This run was never saved: if you discard it, its training is lost.")
    box.setDefaultButton(Button.Save)
    box.setEscapeButton(Button.Cancel)
    return Button(box.exec())


class UnsavedWork(QObject):
    """The window's title and the unsaved-work question. `session_ui` (gui.files.sessions.SessionUI) saves;
    `commands` (gui.commands.RunCommands) gets `confirm` as the question its door asks."""

    def __init__(self, window: QWidget, state: AppState, session_ui, commands, title: str):
        super().__init__(window)
        self.window, self.state, self.session_ui, self.title = window, state, session_ui, title
        self.asking = False  # gui.app: on when a person drives the window
        self._answering = False
        commands.unsaved = self.confirm
        state.current_path_changed.connect(self.show_title)
        state.modified_changed.connect(window.setWindowModified)
        self.show_title(state.current_path)

    def show_title(self, path: str | None) -> None:
        name = Path(path).name if path else None
        self.window.setWindowTitle(f"{name}[*] — {self.title}" if name else f"{self.title}[*]")
        self.window.setWindowModified(self.state.modified)

    def confirm(self, doing: str) -> bool:
        """May `doing` ("quit", "reset", "open") drop the run? Asks only when it is modified and a person drives
        the window; while one question is open, another drop waits its turn (no)."""
        if not self.asking or not self.state.modified:
            return True
        if self._answering:
            return False
        self._answering = True
        try:
            answer = ask(self.window, doing, self.state.current_path)
            if answer == Button.Save:
                return self.session_ui.save_and_wait()
            return answer == Button.Discard
        finally:
            self._answering = False
