"""Issue 20, in the window (offscreen): for the collapse run the status bar, the Hints tab and the exported
Markdown say the verdict `main.py train` reports for the same run, word for word."""

import html
import re

import pytest

from core.runs.headless import train
from tests.core.runs.test_collapse import COLLAPSE, RISE_CODES
from tests.gui_helpers import wait_step


@pytest.fixture
def win_config():
    return COLLAPSE


def test_status_bar_hints_tab_and_export_say_the_headless_verdict(win, qtbot, tmp_path):
    report = train(COLLAPSE, log_every=5000, out=lambda *_: None)
    want = report["final"]["verdict"]["text"]
    assert report["final"]["verdict"]["code"] == "lost"
    win.inspect.show_tab("hints")
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.verdict is not None and s.analysis is not None
                  and s.analysis.step == s.step, timeout=120000)
    assert s.step == 5000 and s.verdict.text == want
    qtbot.waitUntil(lambda: win.status.phase.full_text() == want, timeout=10000)
    qtbot.waitUntil(lambda: f"Verdict: {html.escape(want)}" in win.inspect.hints.text(), timeout=10000)
    assert RISE_CODES & win.inspect.hints.codes
    assert win.inspect.hints.codes == {h["code"] for h in report["hints"]}
    out = win.report.export(str(tmp_path / "run.md"))
    assert out is not None
    line = next(x for x in out.read_text(encoding="utf-8").splitlines() if x.startswith("**Verdict:**"))
    assert re.fullmatch(r"\*\*Verdict:\*\* (.*)\.\s*", line).group(1) == win.status.phase.full_text()
