"""Nothing lost, nothing faked (issue 15), in the window (offscreen): screenshots and view exports survive a full
disk with the old file intact and a true message; the automation stops exactly at the step asked, and turns a
training error or a failed --open into a non-zero exit with the message on stderr; bad --speed exits 2."""

from __future__ import annotations

import argparse

import pytest

pytest.importorskip("pytestqt")

from core.config import preset  # noqa: E402
from gui import app as gui_app  # noqa: E402
from tests.gui_helpers import make_window  # noqa: E402
from tests.helpers import fail_fsync  # noqa: E402


def auto_args(**kw):
    base = {"quit_after_steps": None, "screenshot": None, "autostart": True, "open": None, "recording": None}
    base.update(kw)
    return argparse.Namespace(**base)


def test_exports_on_a_full_disk_keep_the_old_files_and_say_so(qtbot, win, tmp_path, monkeypatch):
    olds = {name: (tmp_path / name) for name in ("shot.png", "loss.png", "loss.svg")}
    for p in olds.values():
        p.write_bytes(b"old picture")
    fail_fsync(monkeypatch)  # from here on: a full disk
    assert win.exports.save_screenshot(olds["shot.png"]) is None
    text = win.message.text.text()
    assert "no space left on device" in text and "Nothing was written" in text
    assert win.exports.export_view("loss", olds["loss.png"]) is None
    assert win.exports.export_view("loss", olds["loss.svg"]) is None
    assert "Nothing was written" in win.message.text.text()
    assert all(p.read_bytes() == b"old picture" for p in olds.values())
    assert sorted(p.name for p in tmp_path.iterdir() if ".gml-tmp" in p.name) == []


def test_exports_write_whole_files(qtbot, win, tmp_path):
    assert win.exports.export_view("loss", tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "l.svg").exists() is False
    assert win.exports.export_view("loss", tmp_path / "l.svg").read_text().lstrip().startswith("<?xml")


def test_quit_after_steps_stops_exactly_there(qtbot, win):
    auto = gui_app.Automation(win, auto_args(quit_after_steps=700))
    auto.begin()
    qtbot.waitUntil(lambda: auto.done, timeout=60000)
    assert auto.failure is None and win.snap.step == 700


def test_a_training_error_under_quit_after_steps_fails_the_script(qtbot, tmp_path, monkeypatch, capsys):
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=10.0)
    w = make_window(qtbot, tmp_path, monkeypatch, cfg)
    try:
        auto = gui_app.Automation(w, auto_args(quit_after_steps=700))
        auto.begin()
        qtbot.waitUntil(lambda: auto.failure is not None, timeout=30000)
        err = capsys.readouterr().err
        assert "diverged" in auto.failure and err.startswith("error: ") and "the loss became nan" in err.lower()
    finally:
        w.close()


def test_a_failed_open_fails_the_script(qtbot, win, tmp_path, capsys, monkeypatch):
    starts = []  # every Start asked of the window's one Start door (RunCommands.start)
    monkeypatch.setattr(win.commands, "start", lambda *a, **k: starts.append((a, k)))
    auto = gui_app.Automation(win, auto_args(quit_after_steps=100, open=str(tmp_path / "missing.gmlab")))
    win.session_ui.open_session_from(tmp_path / "missing.gmlab", on_done=auto.opened)
    qtbot.waitUntil(lambda: auto.failure is not None, timeout=30000)
    assert "missing.gmlab" in capsys.readouterr().err
    assert starts == []  # --autostart was asked, yet the default config was not trained instead
    ok = gui_app.Automation(win, auto_args(quit_after_steps=100, open="x.gmlab"))
    ok.opened(True)  # the control: a successful open does start, once, up to the step asked
    assert starts == [((), {"until": 100})]


@pytest.mark.parametrize("value", ["nan", "-5", "inf"])
def test_bad_speed_is_one_line_exit_2(value, capsys):
    with pytest.raises(SystemExit) as e:
        gui_app.parse(["--speed", value])
    err = capsys.readouterr().err  # argparse's type ('argument --speed: ...') or the range check ('--speed: ...')
    assert e.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and "--speed: " in err
