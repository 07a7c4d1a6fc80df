"""File ▸ Export report… (offscreen): the report's Markdown links resolve to the window's pictures (loss,
accuracy, hidden heatmap, portrait, memory probe) written beside it; a bad path is one message, no file."""

import pytest

pytest.importorskip("pytestqt")

from tests.core.runs.test_report import assert_links_resolve  # noqa: E402
from tests.gui_helpers import image_not_blank, wait_step  # noqa: E402


def test_export_report_writes_markdown_whose_links_resolve(qtbot, win, tmp_path):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step >= 1500 and s.analysis is not None)
    win.commands.pause()
    wait_step(qtbot, win, lambda s: not s.running)
    md = tmp_path / "out" / "run.md"
    md.parent.mkdir()
    win.report.ask = lambda: str(md)
    win.report.action.trigger()
    assert win.report.last == md
    files = assert_links_resolve(md)
    assert sorted(f.name for f in files) == ["run-accuracy.png", "run-hidden.png", "run-loss.png",
                                             "run-portrait.png", "run-probe.png"]
    assert all(image_not_blank(f) for f in files)
    text = md.read_text()
    for piece in ("**Verdict:**", "step 1,", "```toml", "python main.py train --preset question-fixed",
                  "python main.py --preset question-fixed --autostart", "PySide6"):
        assert piece in text, piece
    assert str(md) in win.message.text.text()


@pytest.mark.parametrize("bad", ["missing/run.md", "run.html"])
def test_a_bad_report_path_is_one_message_and_nothing_is_written(qtbot, win, tmp_path, bad):
    before = set(tmp_path.iterdir())
    win.report.ask = lambda: str(tmp_path / bad)
    win.report.action.trigger()
    assert win.report.last is None
    assert "Cannot write the report" in win.message.errors[-1] and "Traceback" not in win.message.errors[-1]
    assert set(tmp_path.iterdir()) == before
