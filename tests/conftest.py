"""Shared test set-up: one torch thread (as the app's trainer), offscreen Qt for GUI tests, and `win`, the made
MainWindow the GUI tests share (tests/gui_helpers.make_window; a module overrides `win_config` to open another
config, or `win` itself to add a step, as tests/gui/test_keys.py activates it)."""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the commands and windows the tests start log here, never into the user's log folder (core.product.logs)
os.environ.setdefault("GML_LOG_DIR", tempfile.mkdtemp(prefix="gml-test-logs-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

torch.set_num_threads(1)

import gc  # noqa: E402

import pytest  # noqa: E402

from core.config import preset  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_garbage_after_qt_tests(request):
    """Collect cyclic garbage at a safe point after each test that made Qt objects (it asks for `qtbot`). Many
    windows are made and closed across the suite; if Python's GC instead fires inside a Qt signal disconnect
    (PySide6 looks up a Python override there while Qt holds its connection lock) and frees a Qt object,
    ~QObject waits for that same lock: a self-deadlock seen once in a full run. Tests without Qt skip it (two
    collections per test cost the core tests ~4x their own time)."""
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()


@pytest.fixture(autouse=True)
def _no_logging_left_behind():
    """A command run in-process (train_main, claims_cli.main) sets up logging; take it out after the test, so its
    stderr handler does not write into a later test's captured stderr."""
    yield
    from core.product import logs

    logs.reset()


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write fails as on a full disk (ENOSPC when the temporary file is synced)."""
    from tests.helpers import fail_fsync

    fail_fsync(monkeypatch)


@pytest.fixture
def win_config():
    """The config the shared `win` opens with."""
    return preset("question-fixed")


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch, win_config):
    """A shown MainWindow with throw-away settings and its first snapshot drawn; closed after the test."""
    from tests.gui_helpers import make_window  # here: the core tests' processes never import Qt

    w = make_window(qtbot, tmp_path, monkeypatch, win_config)
    yield w
    w.close()
