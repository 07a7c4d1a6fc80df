"""Fixtures of the session layer's tests (test_session_layer*.py): a temporary documents folder, the stand-ins for
the file dialogs and the question box, and a SessionUI without a window."""

from __future__ import annotations

import pytest

from core.config import Config
from tests.gui_helpers import Commands, Dialogs, SessionRig, documents_in


@pytest.fixture
def docs(tmp_path, monkeypatch):
    """The user's documents folder, where a dialog opens the first time: a temporary one."""
    return documents_in(monkeypatch, tmp_path / "Documents")


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs(monkeypatch)


@pytest.fixture
def rig(qtbot, tmp_path, monkeypatch, dialogs):
    """A SessionRig with the default config; no real dialog can open (a test that queues no answer sees each
    cancelled)."""
    monkeypatch.chdir(tmp_path)
    return SessionRig(qtbot, tmp_path, Config(), Commands())
