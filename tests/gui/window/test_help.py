"""Help ▸ About names the app's version, the license and what it runs on (torch from its metadata: building the box
loads no torch, checked in a fresh interpreter); the Help menu opens the installed docs and the log folder through
the desktop (a stand-in records the URLs); the window has the icon; every error the message bar shows is logged."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import qVersion

from core.product import files
from core.product.about import version
from gui.window import help as help_mod
from gui.window.message_bar import MessageBar

ROOT = Path(__file__).resolve().parents[3]


def test_about_names_the_version_the_license_and_what_it_runs_on(qtbot, win):
    box = win.show_about()
    text = box.text()
    for piece in (f"GRU Memory Lab {version()}", "MIT License", "GRU Memory Lab authors", "Python", qVersion(),
                  metadata.version("pyqtgraph"), metadata.version("numpy"), metadata.version("torch")):
        assert piece in text, piece
    box.close()


def test_the_about_box_loads_no_torch():
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from gui.window.help import about_html; html = about_html(); "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
            "print(bad[:3]); sys.exit(1 if bad or 'torch' not in html else 0)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_help_menu_opens_each_installed_doc_and_the_log_folder(qtbot, win, monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(help_mod, "open_url", lambda url: opened.append(url.toLocalFile()) or True)
    monkeypatch.setenv("GML_LOG_DIR", str(tmp_path / "logs"))
    actions = {a.text(): a for a in win.m_help.actions() if a.text()}
    for title, name in files.DOCS:
        actions[title].trigger()
        assert opened[-1] == str(files.local_path(name)), title
    actions["Open &log folder"].trigger()
    assert Path(opened[-1]).is_dir()
    assert list(actions)[0] == "&Keyboard shortcuts" and list(actions)[-1] == "&About GRU Memory Lab"
    assert not win.message.errors


def test_a_missing_doc_is_one_message_not_a_crash(qtbot, win, monkeypatch):
    monkeypatch.setattr(help_mod, "open_url", lambda url: True)
    assert help_mod.open_doc(win, "docs/not-there.md") is None
    assert "not installed" in win.message.errors[-1]


def test_the_window_has_the_apps_icon(qtbot, win):
    assert not win.windowIcon().isNull() and not help_mod.app_icon().isNull()


def test_every_error_the_message_bar_shows_is_logged(qtbot, caplog):
    bar = MessageBar()
    qtbot.addWidget(bar)
    with caplog.at_level(logging.INFO, logger="gui.window.message_bar"):
        bar.error("the session file x.gmlab is damaged")
        bar.notice("saved")
    got = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "gui.window.message_bar"]
    assert (logging.ERROR, "error shown: the session file x.gmlab is damaged") in got
    assert (logging.INFO, "notice: saved") in got


def test_the_window_logs_into_its_folder(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("GML_LOG_DIR", str(tmp_path))
    path = help_mod.start_logging()  # tests/conftest.py takes the handlers out afterwards
    assert path == tmp_path / "gru-memory-lab.log"
    assert f"GRU Memory Lab {version()} started" in path.read_text()
