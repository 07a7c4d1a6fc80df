"""Issue 5 in the window: scrubbing moves the inspector and the markers; pin and overlay; hints by preset; the
Inspect tabs are declared attributes, named and ordered as the command line's --tab names them."""

import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from gui import INSPECT_TABS  # noqa: E402
from gui.dock import TITLES  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402


def test_scrubbing_moves_inspector_and_markers(qtbot, win):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 400)
    win.commands.pause()
    s = wait_step(qtbot, win, lambda s: not s.running)
    ins = win.inspect.inspector
    assert ins.follow.isChecked() and ins.selected_t() == s.view.t0 + len(s.view.x) - 1
    assert not win.bits.marker.isVisible()
    ins.slider.setValue(50)  # scrub back
    t = s.view.t0 + 50
    assert not ins.follow.isChecked() and ins.selected_t() == t
    # one numbering (core.formatting.step_number): the row with stream index t is "step t + 1" everywhere
    assert win.bits.marker.isVisible() and win.bits.marker.value() == t + 1
    assert win.hidden.marker.isVisible() and win.hidden.marker.value() == t + 1
    assert f"step {t + 1:,}</b>" in ins.head.text() and f"x = <b>{int(s.view.x[50])}</b>" in ins.head.text()
    assert ins.table.rowCount() == 16 and ins.table.item(0, 4).text() == f"{s.view.h[50][0]:+.3f}"
    ins.step_by(1)  # Alt+→
    assert ins.selected_t() == t + 1 and win.bits.marker.value() == t + 2
    ins.step_by(-2)
    assert ins.selected_t() == t - 1


def test_pin_and_overlay_labelled_by_difference(qtbot, win):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 500)
    pin = win.inspect.compare.pin()
    assert pin is not None and len(pin.curves.loss) > 100
    win.panel.set_value("window", 4)
    win.commands.reset()
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 100 and s.config["train"]["window"] == 4)
    assert win.inspect.compare.labels() == ["pinned: window 1"]
    c_loss, c_acc = win.pin_overlay.items[pin]
    items = win.loss.getPlotItem().listDataItems()
    assert c_loss in items and c_acc in win.acc.getPlotItem().listDataItems()
    win.inspect.compare.clear()
    assert c_loss not in win.loss.getPlotItem().listDataItems()


def test_hints_for_question_and_gone_for_fixed(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question"))
    win.inspect.setCurrentWidget(win.inspect.hints)  # the hints tab, as a user would open it
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 3000)
    qtbot.waitUntil(lambda: {"raw-readout", "base-rate"} <= win.inspect.hints.codes, timeout=10000)
    assert "raw GRU state" in win.inspect.hints.text()
    win.panel.preset_box.setCurrentIndex(win.panel.preset_box.findData("question-fixed"))
    win.commands.reset()
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 4000 and s.config["model"]["readout"] == "linear")
    qtbot.waitUntil(lambda: win.inspect.hints.codes == set(), timeout=15000)
    assert "No problems detected" in win.inspect.hints.text()
    win.close()


def test_portrait_and_probe_drawn(qtbot, win):
    win.commands.start()
    # the analysis is refreshed at most 4 times a second while training runs
    wait_step(qtbot, win, lambda s: s.step > 3000 and s.analysis.step > 3000)
    a = win.snap.analysis
    assert a.portrait is not None
    win.inspect.setCurrentWidget(win.inspect.portrait)  # tabs draw when shown
    n0 = len(win.inspect.portrait.sc[0].getData()[0]) + len(win.inspect.portrait.sc[1].getData()[0])
    assert n0 > 500
    win.inspect.setCurrentWidget(win.inspect.probe)
    assert win.inspect.probe.probe is not None and win.inspect.probe.probe.score[1] > 0.8


def test_multi_seed_mode_shows_how_many_learned(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question").replace(steps=1500, eval_steps=300))
    panel = win.pages.seeds
    panel.count.setValue(2)
    assert panel.run()
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=60000)
    assert panel.table.rowCount() == 2 and "learned 0/2" in panel.status.text()  # the raw readout never learns
    assert [r["seed"] for r in panel.results] == [0, 1] and not panel.busy
    win.close()


def test_the_tabs_are_attributes_in_the_command_lines_order(win):
    ins = win.inspect
    assert tuple(ins.tabs) == INSPECT_TABS
    assert [ins.widget(i) for i in range(ins.count())] == [ins.tabs[n] for n in INSPECT_TABS]
    assert [ins.tabText(i).split(" (")[0] for i in range(ins.count())] == [TITLES[n] for n in INSPECT_TABS]
    named = {"inspector": ins.inspector, "portrait": ins.portrait, "probe": ins.probe, "hints": ins.hints,
             "sensitivity": ins.sensitivity, "gradient": ins.gradient, "compare": ins.compare}
    assert ins.tabs == named
    for name in INSPECT_TABS:
        ins.show_tab(name)
        assert ins.currentWidget() is named[name]
