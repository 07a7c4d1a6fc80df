"""Issue 21 (7, 1), the Sweep page: text stays text (the labels that quote what was typed are plain text, so markup
in an axis spec shows as typed) and a diverged learner is counted as diverged (sgd at lr 100 diverges every one
of them: the page says so, and never counts one as learned)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from core.config import preset
from tests.gui.experiments.test_sweep_panel import _panel


def test_markup_typed_into_a_spec_shows_as_typed(qtbot):
    panel, _ = _panel(qtbot)
    panel.x_edit.setText("<h1>BIG</h1>=1:3")
    assert not panel.run()
    assert "<h1>BIG</h1>" in panel.status.text()
    assert panel.status.textFormat() == Qt.PlainText and panel.map_title.textFormat() == Qt.PlainText
    rich = [w.text()[:40] for w in panel.findChildren(QLabel) if w.textFormat() != Qt.PlainText
            and any(ch in w.text() for ch in "<&")]
    assert rich == []


@pytest.mark.slow
def test_diverged_learners_are_counted_as_diverged(qtbot):
    cfg = preset("question-fixed").replace(eval_steps=100, optimizer="sgd", lr=100.0)
    panel, svc = _panel(qtbot, cfg)
    panel.x_edit.setText("lag=1,2")
    panel.y_edit.setText("")
    panel.seeds.setValue(2)
    panel.steps.setValue(300)
    assert panel.run()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=60000)
    rep = panel.report
    assert rep["diverged"] == 4 and all(c["learned"] == 0 for c in rep["cells"])
    assert "0/4 learners learned, 4 diverged" in panel.status.text()
    for c in rep["cells"]:
        assert panel.map.cell_text(c["ix"], c["iy"]) == "0/2"
    cell = rep["cells"][0]
    qtbot.mouseClick(panel.map, Qt.LeftButton, pos=panel.map.cell_rect(cell["ix"], cell["iy"]).center().toPoint())
    assert "0/2 learned, 2 diverged" in svc.notes[-1]
