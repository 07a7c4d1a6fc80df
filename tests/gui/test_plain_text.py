"""Issue 15, defect 7: user- and file-supplied text is shown as plain text, never as markup: a file named
`<h1>HUGE TEXT<h1>.gmlab` or a config value `<h1>OPENED OK</h1>` cannot fake or hide a message."""

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from core.config import preset  # noqa: E402
from gui.recording.capture import RecordIndicator  # noqa: E402
from gui.window.message_bar import MessageBar  # noqa: E402
from tests.gui_helpers import make_window  # noqa: E402

MARKUP = "<h1>HUGE TEXT<h1>"


def test_the_message_bar_shows_markup_literally(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.error(f"cannot open /tmp/{MARKUP}.gmlab: no such file")
    assert bar.text.textFormat() == Qt.PlainText
    assert bar.text.text() == f"cannot open /tmp/{MARKUP}.gmlab: no such file"
    bar.notice('config: task.kind must be one of not, copy, got "<h1>OPENED OK</h1>"')
    assert bar.text.textFormat() == Qt.PlainText and "<h1>OPENED OK</h1>" in bar.text.text()


def test_a_saved_recording_name_is_escaped_in_its_rich_text_indicator(qtbot):
    ind = RecordIndicator()
    qtbot.addWidget(ind)
    ind.show_saved(Path(f"/tmp/{MARKUP}.gif"), 2048)
    assert "&lt;h1&gt;HUGE TEXT&lt;h1&gt;" in ind.text() and "<h1>" not in ind.text()


def test_a_crafted_file_name_and_toml_value_show_as_text_in_the_window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    try:
        ui = win.session_ui
        bad = tmp_path / f"{MARKUP}.gmlab"
        bad.write_bytes(b"not a session")
        with qtbot.waitSignal(ui.failed, timeout=20000):
            ui.open_session_from(str(bad))
        assert win.message.text.textFormat() == Qt.PlainText
        assert MARKUP in win.message.text.text() and win.message.text.text() == win.message.errors[-1]
        ui.store_recent([str(bad)])
        tip = ui.m_recent.actions()[0].toolTip()
        assert "&lt;h1&gt;" in tip and "<h1>" not in tip
        assert win.pages.seeds.status.textFormat() == Qt.PlainText
    finally:
        win.close()
