"""The Sweep tab: a small sweep in its own process fills the map, a cell click loads its config with the right
seed (ready to Start, not started), a bad axis spec is one message, Stop keeps what finished, Export writes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.config import ConfigError, preset
from gui.experiments.sweep import SweepPanel
from tests.helpers import FakeServices


def _panel(qtbot, cfg=None):
    svc = FakeServices(cfg or preset("question-fixed").replace(eval_steps=100))
    panel = SweepPanel(svc)
    qtbot.addWidget(panel)
    panel.resize(420, 520)
    panel.show()
    return panel, svc


@pytest.mark.slow
def test_small_sweep_fills_the_map_and_a_cell_click_loads_its_seed(qtbot, tmp_path):
    panel, svc = _panel(qtbot)
    panel.x_edit.setText("lag=1:2")
    panel.y_edit.setText("")
    panel.seeds.setValue(2)
    panel.steps.setValue(300)
    assert panel.run()
    assert not panel.btn_run.isEnabled() and panel.btn_stop.isEnabled()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=20000)
    rep = panel.report
    assert rep["partial"] is False and rep["cells_done"] == rep["cells_total"] == 2
    for c in rep["cells"]:  # every cell of the map shows its final k/S
        assert panel.map.cell_text(c["ix"], c["iy"]) == f"{c['learned']}/2"
        assert panel.map.fraction(c["ix"], c["iy"]) == c["learned"] / 2
    assert panel.btn_run.isEnabled() and panel.btn_export.isEnabled()
    # where the learners ran, as the sweep process said (the config's device is auto: the GPU only if present)
    import torch

    where = "torch engine on cuda" if torch.cuda.is_available() else "NumPy engine on the CPU"
    assert where in panel.status.text() and rep["engine"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert "2 seeds" in panel.map_title.text() and "300 steps" in panel.map_title.text()  # what the map shows
    # 300 steps are too few to learn: the cell's first failing seed is loaded, not started
    cell = rep["cells"][1]
    assert cell["learned"] == 0  # so both seeds failed, and the first failing one is the sweep's first seed
    expect = panel.plan.base.train.seed
    qtbot.mouseClick(panel.map, Qt.LeftButton, pos=panel.map.cell_rect(cell["ix"], cell["iy"]).center().toPoint())
    cfg, start = svc.loaded[-1]
    assert not start and cfg.train.seed == expect and cfg.task.lag == 2 and cfg.train.steps == 300
    assert cfg.model.readout == "linear" and cfg.train.mode == "online"
    assert f"seed {expect}" in svc.notes[-1] and "press Start" in svc.notes[-1]
    for suffix in ("png", "svg", "csv"):
        path = tmp_path / f"map.{suffix}"
        assert panel.export_to(str(path)) and path.stat().st_size > 100
    assert "lag" in (tmp_path / "map.csv").read_text().splitlines()[0]


@pytest.mark.parametrize("x, y, words", [("lag=7:1", "", "after its end"), ("nope=1:3", "", "no config field"),
                                         ("lag=1:3", "lag=1:2", "both sweep"), ("", "", "empty")])
def test_bad_spec_is_one_message(qtbot, x, y, words):
    panel, svc = _panel(qtbot)
    panel.x_edit.setText(x)
    panel.y_edit.setText(y)
    assert not panel.run()
    assert words in panel.status.text() and "\n" not in panel.status.text()
    assert not panel.busy and panel.btn_run.isEnabled()


def test_bad_left_panel_config_is_one_message(qtbot):
    panel, svc = _panel(qtbot)
    svc.cfg = ConfigError("model.units", "must be between 1 and 512")
    assert not panel.run()
    assert "Cannot sweep" in panel.status.text() and not panel.busy


@pytest.mark.slow
def test_stop_keeps_what_finished(qtbot):
    panel, svc = _panel(qtbot)
    panel.x_edit.setText("steps=300,1000000")  # the second cell would run for a long time
    panel.y_edit.setText("")
    panel.seeds.setValue(2)
    assert panel.run()
    qtbot.waitUntil(lambda: len(panel.done_cells) == 1, timeout=20000)
    panel.btn_stop.click()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=20000)
    assert panel.report["partial"] is True and panel.report["cells_done"] == 1
    assert "partial" in panel.status.text() and "PARTIAL" in panel.map_title.text() and not panel.busy
    assert panel.map.cell_text(0, 0) == f"{panel.report['cells'][0]['learned']}/2"
