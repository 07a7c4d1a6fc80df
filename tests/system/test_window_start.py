"""Issue 21 (4, 5, 6), the window's side: its own flags answer a bad value with one line and exit 2;
--quit-after-steps implies --autostart; a recording that was not written is a non-zero exit with one line; Ctrl-C
at any moment of start-up exits 130 with no traceback and no child left (SIGINT is sent on the `-X importtime` line
of a module, so it lands at a known point: no sleeps)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui import app as gui_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [
    ["--fps", "abc"], ["--tab", "nope"], ["--layer", "q"], ["--quit-after-steps", "x"], ["--speed", "fast"],
    ["--size"], ["--open"], ["--record-mode", "x", "--record", "a.gif"], ["--record-fps", "abc"],
    ["--record-steps-per-frame", "1.5"], ["--quit-after-steps", "-1"], ["--fps", "0"], ["--size", "1x1"],
    # what int() and float() take and a person does not type (the badvalues probe, docs/reliability.md)
    ["--fps", "\u0661\u0660"], ["--speed", "1_0"], ["--speed", "1e-310"], ["--quit-after-steps", "1_0"],
    ["--quit-after-steps", "9" * 40], ["--quit-after-steps", str(10**12 + 1)], ["--quit-after-steps", "\u0665"],
    ["--record", "a.gif", "--record-fps", "1_0"], ["--record", "a.gif", "--record-steps-per-frame", "\u0662"],
    ["--screenshot", ""], ["--screenshot", "a\0b.png"], ["--screenshot", "x" * 300 + ".png"],
    ["--size", "\u0661\u0664\u0660\u0660x900"], ["--size", "1_440x900"],
    ["--record", "a.gif", "--record-steps-per-frame", "9" * 30],
])
def test_a_bad_window_flag_is_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        gui_app.parse(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


def test_a_screenshot_path_that_cannot_be_written_is_refused_before_the_window_opens(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    not_a_folder = f"{tmp_path / 'file'} is not a folder"
    for path, why in [(tmp_path, "is a folder, not a file"), (tmp_path / "file" / "a.png", not_a_folder),
                      (tmp_path / "file" / "deeper" / "a.png", not_a_folder)]:
        with pytest.raises(SystemExit) as e:
            gui_app.parse(["--screenshot", str(path)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.startswith("error: --screenshot: ") and why in err, err
        assert len(err.strip().splitlines()) == 1
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    for path, why in [(tmp_path / "fifo", "is not a regular file"), (tmp_path / "dangling", "dangling symlink")]:
        with pytest.raises(SystemExit) as e:
            gui_app.parse(["--screenshot", str(path)])
        assert e.value.code == 2 and why in capsys.readouterr().err
    # folders that do not exist yet are made when the picture is saved: accepted, and nothing is created now
    args, _ = gui_app.parse(["--screenshot", str(tmp_path / "new" / "deeper" / "a.png")])
    assert args.screenshot.endswith("a.png") and not (tmp_path / "new").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_screenshot_into_a_read_only_folder_is_refused_before_the_window_opens(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(SystemExit) as e:
        gui_app.parse(["--screenshot", str(ro / "a.png")])
    assert e.value.code == 2 and f"the folder {ro} is not writable" in capsys.readouterr().err


def test_the_largest_quit_after_steps_is_taken():
    assert gui_app.parse(["--quit-after-steps", str(10**12)])[0].quit_after_steps == 10**12


def test_quit_after_steps_implies_autostart_and_says_so():
    assert gui_app.parse(["--quit-after-steps", "5"])[0].autostart is True
    assert gui_app.parse([])[0].autostart is False
    assert "implies --autostart" in " ".join(gui_app.build_parser().format_help().split())


def test_a_recording_not_written_fails_the_run_with_one_line(qtbot, win, tmp_path, monkeypatch, capsys):
    pytest.importorskip("pytestqt")
    from core.recording import recorder
    from gui.recording.flags import RecordOptions
    from tests.full_disk import FullDisk

    monkeypatch.setattr(recorder, "_open_binary", lambda p: FullDisk(p, room=2000))
    args = argparse.Namespace(quit_after_steps=40, screenshot=None, autostart=True, open=None,
                              recording=RecordOptions(path=str(tmp_path / "run.webp"), steps_per_frame=1))
    auto = gui_app.automate(win, args)
    assert auto is not None
    qtbot.waitUntil(lambda: auto.done, timeout=60000)
    assert auto.failure is not None and "run.webp was not written" in auto.failure
    assert "the disk is full" in auto.failure
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert err == [f"error: {auto.failure}"]
    assert list(tmp_path.glob("*.webp")) == [] and list(tmp_path.glob(".run.webp*")) == []


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
@pytest.mark.parametrize("module", ["shiboken6", "PySide6.QtWidgets", "pyqtgraph", "gui.main_window"])
def test_ctrl_c_while_the_window_starts_exits_130(tmp_path, module):
    """shiboken6 / QtWidgets: before Qt is up (main.py's handler); pyqtgraph / gui.main_window: the trainer child
    is running and the window is being built (gui.app.Interrupt: the window closes once shown, children stop)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS=str(tmp_path / "settings.ini"))
    p = subprocess.Popen([sys.executable, "-X", "importtime", "main.py", "--no-restore"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kids: list[int] = []
    try:
        for line in p.stderr:
            if line.rstrip().split("|")[-1].strip() == module:
                kids = _children(p.pid)
                p.send_signal(signal.SIGINT)
                break
        else:
            pytest.fail(f"{module} was never imported")
        rest = p.communicate(timeout=90)[1]  # a safety net: it exits in about a second
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rest = "\n".join(ln for ln in rest.splitlines() if "import time:" not in ln)
    assert p.returncode == 130, rest[-2000:]
    assert "Traceback" not in rest and "Fatal Python error" not in rest and "KeyboardInterrupt" not in rest
    if module in ("pyqtgraph", "gui.main_window"):
        assert kids, "the trainer child should be running by then"
    deadline = time.monotonic() + 10  # the children leave once told (a wait until, bounded; not a fixed sleep)
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in kids if _alive(k)], "a child outlived the window"
