"""Sessions through the window (offscreen): save/open round trip, bad files, unwritable paths, recent files,
CSV export and `main.py --open`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from core.messages import ExportResult, OpenResult, SaveResult  # noqa: E402
from tests.gui_helpers import image_not_blank, make_window, open_, save, steps, wait_step  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def curves(w):
    return w.loss.mirror.values().copy(), w.acc.mirror.values().copy(), w.loss.mirror.stride


def test_menu_actions_and_shortcuts(win):
    ui = win.session_ui
    file_menu = win.m_file
    texts = [a.text() for a in file_menu.actions()]
    assert texts[:5] == ["&Open session…", "Open &recent", "Save sess&ion", "Save session &as…",
                         "Export history as &CSV…"]
    assert ui.act_open.shortcut().toString() == "Ctrl+O"  # the platform's standard keys (offscreen: Qt's own)
    assert ui.act_save.shortcut().toString() == "Ctrl+S" and "Ctrl+S" in ui.act_save.toolTip()
    assert ui.act_save_as.shortcut().toString() == "Ctrl+Shift+S"


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
@pytest.mark.parametrize("name", ["question-fixed", "answer"])
def test_round_trip_gives_identical_predictions_and_history(qtbot, tmp_path, monkeypatch, name):
    w = make_window(qtbot, tmp_path, monkeypatch, preset(name))
    N, K = (300, 200) if name == "question-fixed" else (25, 30)
    steps(qtbot, w, N)
    w.toolbar.window_spin.setValue(150)
    w.toolbar.smoothing.setValue(80)
    path = tmp_path / "s.gmlab"
    res = save(qtbot, w, path)
    assert isinstance(res, SaveResult) and res.ok and res.step == N and path.exists()
    a = steps(qtbot, w, K)
    ca = curves(w)
    # scramble the window: a different config, reset, some training, other view settings
    w.panel.set_value("seed", 12345)
    w.commands.reset()
    w.commands.start()
    wait_step(qtbot, w, lambda s: s.step > 50)
    w.commands.pause()
    w.toolbar.window_spin.setValue(60)
    w.toolbar.smoothing.setValue(10)
    opened = open_(qtbot, w, path)
    assert isinstance(opened, OpenResult) and opened.step == N and opened.warnings == ()
    s = wait_step(qtbot, w, lambda s: s.step == N)
    applied = w.state.applied
    assert w.panel.config() == applied and applied.to_dict() == s.config and not w.panel.pending_fields()
    assert w.toolbar.window_spin.value() == 150 and w.toolbar.smoothing.value() == 80
    assert len(w.loss.mirror.values()) == N  # the whole saved curve came back (resync)
    assert w.windowTitle() == "s.gmlab[*] — GRU Memory Lab" and not w.state.running
    b = steps(qtbot, w, K)
    cb = curves(w)
    assert a.step == b.step == N + K
    np.testing.assert_array_equal(a.view.y_hat, b.view.y_hat)
    np.testing.assert_array_equal(a.view.h, b.view.h)
    np.testing.assert_array_equal(ca[0], cb[0])
    np.testing.assert_array_equal(ca[1], cb[1])
    assert ca[2] == cb[2] and len(ca[0]) == N + K
    assert a.view.epoch_logs == b.view.epoch_logs and a.loss == b.loss
    # Start continues from the saved position
    w.commands.start()
    wait_step(qtbot, w, lambda s: s.step > N + K and s.running)
    w.close()


def _good_file(qtbot, w, tmp_path):
    steps(qtbot, w, 50)
    path = tmp_path / "good.gmlab"
    save(qtbot, w, path)
    return path


def _bad_files(tmp_path, good: Path):
    data = good.read_bytes()
    out = {}
    out["garbage"] = tmp_path / "garbage.gmlab"
    out["garbage"].write_bytes(os.urandom(4096))
    out["empty"] = tmp_path / "empty.gmlab"
    out["empty"].write_bytes(b"")
    out["truncated"] = tmp_path / "truncated.gmlab"
    out["truncated"].write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    out["bitflip"] = tmp_path / "bitflip.gmlab"
    out["bitflip"].write_bytes(bytes(flipped))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"]["version"] = "99"
    hb = json.dumps(header).encode()
    out["wrong-version"] = tmp_path / "v99.gmlab"
    out["wrong-version"].write_bytes(len(hb).to_bytes(8, "little") + hb + data[8 + n:])
    out["pickle"] = tmp_path / "hostile.gmlab"
    out["pickle"].write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n(S'touch /tmp/pwned'\ntR." * 10)
    out["huge-header"] = tmp_path / "hugeheader.gmlab"
    out["huge-header"].write_bytes((2**62).to_bytes(8, "little") + b"{}")
    out["folder"] = tmp_path / "folder.gmlab"
    out["folder"].mkdir()
    out["missing"] = tmp_path / "missing.gmlab"
    return out


def test_bad_files_show_a_message_and_change_nothing(qtbot, win, tmp_path):
    ui = win.session_ui
    good = _good_file(qtbot, win, tmp_path)
    steps(qtbot, win, 20)
    before = win.snap
    cfg = win.state.applied
    title = win.windowTitle()
    loss_before = win.loss.mirror.values().copy()
    for kind, path in _bad_files(tmp_path, good).items():
        n_err = len(win.message.errors)
        with qtbot.waitSignal(ui.failed, timeout=20000) as sig:
            ui.open_session_from(path)
        assert isinstance(sig.args[0], OpenResult) and not sig.args[0].ok
        assert len(win.message.errors) == n_err + 1, kind
        msg = win.message.errors[-1]
        assert str(path) in msg and "cannot open" in msg, (kind, msg)
        assert win.message.isVisible() and win.message.level == "error"
        if kind == "wrong-version":
            assert "version" in msg or "checksum" in msg, msg
    frames = win.presenter.frames
    win.handle.request_snapshot()  # a paused window asks for none by itself
    qtbot.waitUntil(lambda: win.presenter.frames >= frames + 1, timeout=10000)  # a fresh snapshot, drawn
    s = win.snap
    assert (s.run_id, s.step) == (before.run_id, before.step)
    np.testing.assert_array_equal(s.view.y_hat, before.view.y_hat)
    np.testing.assert_array_equal(win.loss.mirror.values(), loss_before)
    assert win.state.applied == cfg and win.panel.config() == cfg and win.windowTitle() == title
    assert not os.path.exists("/tmp/pwned")
    # the window still works
    steps(qtbot, win, 5)


def test_unwritable_save_path_gives_message_and_keeps_old_file(qtbot, win, tmp_path):
    ui = win.session_ui
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not ui.save_session_to(blocker / "sub" / "a.gmlab")
    assert win.message.isVisible() and win.message.level == "error"
    assert "Nothing was saved" in win.message.errors[-1] and "sub" in win.message.errors[-1]
    assert not ui.save_session_to(tmp_path)  # a folder
    assert "folder" in win.message.errors[-1]
    assert not ui.export_csv_to(blocker / "x.csv")
    # a save that fails in the child (a diverged state cannot be saved) leaves the previous file intact
    good = _good_file(qtbot, win, tmp_path)
    old = good.read_bytes()
    p = win.panel
    p.set_value("optimizer", "sgd")
    p.set_value("readout", "linear")
    p.set_value("lr", 100.0)
    win.commands.reset()
    win.commands.start()
    qtbot.waitUntil(lambda: any("diverged" in e for e in win.message.errors), timeout=30000)
    with qtbot.waitSignal(ui.failed, timeout=20000) as sig:
        ui.save_session_to(good)
    assert isinstance(sig.args[0], SaveResult) and not sig.args[0].ok and "NaN" in sig.args[0].error
    assert good.read_bytes() == old
    assert "NaN" in win.message.errors[-1]


def test_recent_files_menu(qtbot, win, tmp_path):
    ui = win.session_ui
    steps(qtbot, win, 10)
    a, b = tmp_path / "a.gmlab", tmp_path / "b.gmlab"
    save(qtbot, win, a)
    save(qtbot, win, b)
    assert ui.recent() == [str(b), str(a)]
    names = [x.text() for x in ui.m_recent.actions() if x.data()]
    assert names == ["&1  b.gmlab", "&2  a.gmlab"]
    for i in range(10):  # at most 8, newest first
        ui.add_recent(str(tmp_path / f"x{i}.gmlab"))
    assert len(ui.recent()) == 8 and ui.recent()[0].endswith("x9.gmlab")
    ui.store_recent([str(a), str(tmp_path / "gone.gmlab"), str(b)])
    kept = ui.refresh_recent()
    assert kept == [str(a), str(b)] and ui.recent() == kept
    assert "gone.gmlab" in win.message.notices[-1] and win.message.level == "info"
    # the list survives a new window (QSettings)
    win.settings.store.sync()
    b.unlink()
    ui.open_recent(str(b))
    assert "no longer exists" in win.message.errors[-1] and ui.recent() == [str(a)]
    run = win.snap.run_id
    act = [x for x in ui.m_recent.actions() if x.data() == str(a)][0]
    with qtbot.waitSignal(ui.opened, timeout=20000):
        act.trigger()
    wait_step(qtbot, win, lambda s: s.run_id != run and s.step == 10)


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_export_history_csv(qtbot, tmp_path, monkeypatch):
    for name, n in (("question-fixed", 120), ("answer", 12)):
        w = make_window(qtbot, tmp_path, monkeypatch, preset(name))
        steps(qtbot, w, n)
        path = tmp_path / f"{name}.csv"
        with qtbot.waitSignal(w.session_ui.exported, timeout=20000) as sig:
            w.session_ui.export_csv_to(path)
        lines = path.read_text().splitlines()
        assert lines[0] == "step,loss,accuracy" and len(lines) == n + 1
        assert lines[1].startswith("1,") and lines[-1].startswith(f"{n},")
        if name == "answer":
            assert isinstance(sig.args[0], ExportResult) and sig.args[0].paths[1].endswith("answer.epochs.csv")
            assert (tmp_path / "answer.epochs.csv").read_text().startswith("epoch,")
        w.close()


@pytest.mark.slow  # starts processes of its own (workers / a window process)
def test_open_from_the_command_line(qtbot, tmp_path, monkeypatch):
    from core.live import files as live_session
    from core.live.engine import LiveEngine

    cfg = preset("question").replace(lag=3)
    eng = LiveEngine(cfg)
    eng.start()
    eng.advance(max_steps=400)
    path = tmp_path / "cli.gmlab"
    assert live_session.save(eng, str(path), {}).ok
    shot = tmp_path / "shot.png"
    settings = tmp_path / "cli-settings.ini"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS=str(settings))
    if env.get("MUTANT_UNDER_TEST") == "stats":  # mutmut's coverage pass counts calls in this process only, and
        del env["MUTANT_UNDER_TEST"]  # main.py, run in tmp_path, could not load mutmut's setup.cfg to count its own
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--open", str(path), "--autostart",
                        "--quit-after-steps", "600", "--screenshot", str(shot), "--no-restore"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert image_not_blank(shot)
    text = settings.read_text()
    assert "cli.gmlab" in text  # the recent list
    from PySide6.QtCore import QSettings

    st = QSettings(str(settings), QSettings.IniFormat)
    assert json.loads(st.value("config/last"))["task"]["lag"] == 3
    # a bad --open: the message on stderr and exit 1 (the default config is not trained instead; issue 15)
    bad = tmp_path / "bad.gmlab"
    bad.write_bytes(b"nope")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--open", str(bad), "--autostart",
                        "--quit-after-steps", "50", "--no-restore"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "error: cannot open" in r.stderr and "bad.gmlab" in r.stderr, r.stderr[-2000:]


def test_start_pressed_before_the_open_answer_keeps_running(qtbot, win, tmp_path):
    steps(qtbot, win, 20)
    path = tmp_path / "race.gmlab"
    save(qtbot, win, path)
    run = win.snap.run_id
    with qtbot.waitSignal(win.session_ui.opened, timeout=20000):
        win.session_ui.open_session_from(path)
        assert not win.state.running  # opening pauses at once
        win.commands.start()  # reaches the child after the open
    assert win.state.running and win.toolbar.btn_start.text().endswith("Pause")
    wait_step(qtbot, win, lambda s: s.run_id != run and s.running and s.step > 20)
