"""The window, offscreen: start, step, pause, reset, presets, live lr, screenshots and exports, errors, close."""

import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from tests.gui_helpers import image_not_blank, make_window, wait_step  # noqa: E402


def test_start_pause_step_reset(qtbot, win):
    assert win.snap.step == 0 and not win.snap.running
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.step > 300 and s.running)
    assert win.toolbar.btn_start.text().endswith("Pause")
    win.commands.pause()
    s = wait_step(qtbot, win, lambda s: not s.running)
    frozen = s.step
    # the child takes commands in order: the snapshot after a Step shows the steps trained since the pause,
    # so a run that went on training would show more than one step per Step (no clock is read)
    for k in (1, 2):
        win.commands.step()
        s = wait_step(qtbot, win, lambda s, k=k: s.step >= frozen + k)
        assert s.step == frozen + k and not s.running  # paused: exactly one timestep per Step, nothing else
    run = win.snap.run_id
    win.commands.reset()
    s = wait_step(qtbot, win, lambda s: s.run_id != run)
    assert s.step == 0 and len(win.loss.mirror.values()) == 0


def test_views_show_the_window(qtbot, win):
    win.toolbar.window_spin.setValue(120)
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.step > 500 and len(s.view.x) == 120)
    assert s.view.h.shape == (120, 16)
    x, y = win.bits.c_x.getData()
    assert len(x) == 121  # stepMode 'center': W + 1 edges for W values
    img = win.hidden.img.image
    assert img.shape == (120, 16)
    win.hidden.set_layer("z")
    assert win.hidden.layer == "z" and tuple(win.hidden.cbar.levels()) == (0.0, 1.0)
    assert len(win.loss.mirror.values()) >= 500


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_preset_change_and_pending_notice(qtbot, win):
    panel = win.panel
    panel.preset_box.setCurrentIndex(panel.preset_box.findData("answer"))
    assert panel.value("mode") == "batch" and panel.value("units") == 2
    assert panel.pending.isVisibleTo(win) and "Reset" in panel.pending.text()
    assert not panel.widgets["window"].isVisibleTo(win)  # online-only field hidden in batch mode
    win.commands.reset()
    s = wait_step(qtbot, win, lambda s: s.mode == "batch")
    assert s.view.h.shape[1] == 2 and s.n_params == 33 and not panel.pending.isVisibleTo(win)
    win.commands.step()  # one minibatch
    s = wait_step(qtbot, win, lambda s: s.step == 1)
    assert s.view.epoch == 0
    panel.set_value("units", 3)
    assert panel.preset_box.currentData() == "custom"


def test_lr_applies_live(qtbot, win):
    win.panel.set_value("lr", 0.01)
    assert not win.panel.pending.isVisibleTo(win)  # live, not pending (the note is shown at once: see below)
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.step > 10 and s.config["train"]["lr"] == 0.01)
    assert s.config["train"]["lr"] == 0.01
    win.panel.set_value("units", win.panel.value("units") + 1)  # the control: a field that needs a Reset
    assert win.panel.pending.isVisibleTo(win)


def test_screenshot_written_and_not_blank(qtbot, win, tmp_path):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 200)
    path = win.exports.save_screenshot(tmp_path / "shots" / "a.png")
    assert path is not None and image_not_blank(path)
    default = win.exports.save_screenshot_default()
    assert default is not None and default.parent.name == "screenshots" and default.exists()
    for key in ("bits", "hidden", "loss", "accuracy"):
        assert win.exports.export_view(key, tmp_path / f"{key}.png") is not None
        assert win.exports.export_view(key, tmp_path / f"{key}.svg") is not None
        assert (tmp_path / f"{key}.svg").read_text().lstrip().startswith("<?xml")


def test_unwritable_screenshot_path_gives_message(qtbot, win, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert win.exports.save_screenshot(blocker / "sub" / "a.png") is None
    assert win.message.isVisible() and "Nothing was saved" in win.message.text.text()
    assert win.exports.export_view("loss", tmp_path / "x.bmp") is None


def test_diverging_loss_pauses_with_message_and_reset_recovers(qtbot, win):
    p = win.panel
    p.set_value("optimizer", "sgd")
    p.set_value("lr", 100.0)
    p.set_value("readout", "linear")
    win.commands.reset()
    win.commands.start()
    qtbot.waitUntil(lambda: bool(win.message.errors), timeout=20000)
    assert "diverged" in win.message.errors[-1] and win.message.level == "error"
    assert not win.state.running
    p.set_value("lr", 0.001)
    p.set_value("optimizer", "adam")
    run = win.snap.run_id
    win.commands.reset()
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.run_id != run and s.step > 50)
    assert s.running


def test_close_while_running_joins_its_thread_without_warnings(qtbot, tmp_path, monkeypatch, qtlog):
    """Closing a training window returns with its worker thread joined (how fast: bench/pace.py)."""
    w = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    w.commands.start()
    wait_step(qtbot, w, lambda s: s.step > 100)
    w.close()
    assert not w.handle.thread.isRunning()
    bad = [r for r in qtlog.records if r.type.name in ("QtWarningMsg", "QtCriticalMsg", "QtFatalMsg")
           and "propagateSizeHints" not in r.message]
    assert not bad, [r.message for r in bad]


def test_settings_remember_config(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, preset("question"))
    w.panel.set_value("lag", 3)
    w.close()
    w2 = MainWindow(None, restore=True)
    qtbot.addWidget(w2)
    assert w2.panel.value("lag") == 3 and w2.panel.value("readout") == "raw"
    w2.close()


def test_help_dialogs_do_not_block(qtbot, win):
    box = win.show_shortcuts()
    assert box.isVisible() and "Space" in box.text() and "Alt+" in box.text()
    box.close()
    about = win.show_about()
    assert about.isVisible() and "GRU Memory Lab" in about.text()
    about.close()
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 50)  # the event loop kept running meanwhile


def test_whole_run_curves_keep_headroom_so_the_range_is_stable(qtbot, win):
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 2000)
    win.commands.pause()
    s = wait_step(qtbot, win, lambda s: not s.running)
    x_end = win.loss.mirror.n * win.loss.mirror.stride
    x0, x1 = win.loss.getPlotItem().getViewBox().viewRange()[0]
    assert win.loss._extent_x >= x_end and x1 >= win.loss._extent_x  # the range reaches the headroom
    assert x1 <= 1.3 * x_end  # up to 25% room to grow (+ padding), so the axes are not re-laid out every frame
    assert win.loss.smooth.getData()[0][-1] <= x_end  # and the curve itself ends at the data
    vb = win.loss.getPlotItem().getViewBox()
    vb.setXRange(0, 100)  # as a zoom by hand would
    win.loss._manual_range()
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > x_end + 500)
    assert vb.viewRange()[0][1] < 200  # a zoom by hand is kept while the run grows
    win.commands.pause()
    wait_step(qtbot, win, lambda s: not s.running)
    vb.enableAutoRange()  # the "A" button
    frames = win.presenter.frames
    win.commands.step()  # one frame asked for, whatever the machine's load (a loaded window draws less often)
    qtbot.waitUntil(lambda: win.presenter.frames > frames, timeout=10000)
    assert vb.viewRange()[0][1] >= win.loss.mirror.n * win.loss.mirror.stride  # following again
    assert s.step >= 2000
