"""Recording in the window (offscreen): the Record action records frames spaced in training steps into a file
that opens again; a bad folder or suffix and a disk that fills up give one message in the message bar, leave no
file behind, stop the recording and let training go on."""

import os

import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from core.recording import recorder as recording  # noqa: E402
from core.recording.schedule import StepSchedule  # noqa: E402
from gui.recording.capture import capture_size  # noqa: E402
from gui.recording.flags import RecordOptions  # noqa: E402
from tests.full_disk import FullDisk  # noqa: E402
from tests.gui_helpers import wait_step  # noqa: E402


def record_with(win, opts):
    """Press Record, answering the dialog with `opts`."""
    win.recording.ask = lambda: opts
    win.recording.action.trigger()


def frame_times(path) -> tuple[int, int]:
    """(frames stored, total display time in ms); the encoder stores a repeated frame once, shown longer."""
    with Image.open(path) as im:
        total = 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
        return im.n_frames, total


def test_the_record_action_records_frames_spaced_in_steps_into_a_file_that_opens_again(qtbot, win, tmp_path):
    spf = 150
    steps = []
    record_with(win, RecordOptions(path=str(tmp_path / "run.gif"), view="loss", fps=10, steps_per_frame=spf))
    assert win.recording.recording and win.recording.action.isChecked() and win.recording.indicator.isVisible()
    size = capture_size(win.loss)  # the clip keeps the view's size at the start
    win.frame_shown.connect(lambda s: steps.append(s.step))
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step >= 1500)
    win.commands.pause()
    wait_step(qtbot, win, lambda s: not s.running)
    win.recording.action.trigger()  # pressed again: stop
    assert not win.recording.recording and not win.recording.action.isChecked()
    path = tmp_path / "run.gif"
    assert win.recording.saved == path and path.exists()
    assert str(path) in win.message.text.text() and str(path) in win.statusBar().currentMessage()
    # frames: one per `spf` steps from the first drawn state, plus the last drawn state if it fell between
    first, last = steps[0], steps[-1]
    replay = StepSchedule(spf)
    due = [replay.frames_due(s) for s in steps]
    last_recorded = max(s for s, n in zip(steps, due, strict=True) if n)
    expected = sum(due) + (0 if last_recorded == last else 1)
    assert 1 + (last - first) // spf <= expected <= 2 + (last - first) // spf
    assert win.recording.saved is not None and win.recording.indicator.text().startswith("Saved ")
    stored, ms = frame_times(path)
    assert ms == expected * 100 and 2 <= stored <= expected  # 10 fps: each recorded frame plays 100 ms
    with Image.open(path) as im:
        assert im.size == size
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []  # no temporary file left


@pytest.mark.parametrize("where", ["missing", "unwritable", "suffix"])
def test_a_bad_path_gives_one_message_and_no_file(qtbot, win, tmp_path, where):
    if where == "unwritable" and os.geteuid() == 0:
        pytest.skip("root writes into any folder")
    folder = tmp_path / "clips"
    if where != "missing":
        folder.mkdir()
    if where == "unwritable":
        folder.chmod(0o500)
    path = folder / ("run.avi" if where == "suffix" else "run.gif")
    errors = len(win.message.errors)
    record_with(win, RecordOptions(path=str(path), view="window"))
    assert not win.recording.recording and not win.recording.action.isChecked()
    assert len(win.message.errors) == errors + 1
    text = win.message.errors[-1]
    assert "Traceback" not in text and str(path) in text
    assert {"missing": "does not exist", "unwritable": "not writable", "suffix": "must end in"}[where] in text
    assert not path.exists() and (not folder.exists() or list(folder.iterdir()) == [])
    folder.exists() and folder.chmod(0o700)




def test_a_full_disk_stops_the_recording_with_one_message_and_training_goes_on(qtbot, win, tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "_open_binary", lambda p: FullDisk(p, room=2000))
    record_with(win, RecordOptions(path=str(tmp_path / "run.webp"), view="window", fps=10, steps_per_frame=1))
    assert win.recording.recording
    win.commands.start()
    qtbot.waitUntil(lambda: not win.recording.recording, timeout=20000)
    assert "the disk is full" in win.message.errors[-1] and "training goes on" in win.message.errors[-1]
    assert not win.recording.indicator.isVisible() and not win.recording.action.isChecked()
    step = win.snap.step
    wait_step(qtbot, win, lambda s: s.step > step + 100 and s.running)  # training went on
    assert list(tmp_path.glob("*.webp")) == [] and list(tmp_path.glob(".run.webp*")) == []


@pytest.mark.slow
def test_the_command_line_records_from_the_start_and_prints_the_full_path(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GML_SETTINGS": str(tmp_path / "settings.ini")}
    out = tmp_path / "run.gif"
    p = subprocess.run([sys.executable, str(root / "main.py"), "--no-restore", "--preset", "question-fixed",
                        "--autostart", "--record", str(out), "--record-view", "bits", "--quit-after-steps", "300",
                        "--size", "800x600", "--speed", "200"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"recording: {out}" in p.stdout.splitlines()
    stored, ms = frame_times(out)
    # a ~10-s clip of the 300 steps by default: one frame every 2 steps at 15 fps; the run now stops exactly at
    # step 300, so the clip holds 150 or 151 frames (whether step 0's frame is drawn depends on the first snapshot)
    assert stored >= 2 and ms >= 150 * 1000 / 15 - 50


def test_the_record_dialog_defaults_to_a_ten_second_clip_and_refuses_a_bad_path(qtbot, win, tmp_path):
    from gui.recording.control import RecordDialog, default_steps_per_frame

    spf = default_steps_per_frame(win.state.applied)
    assert spf == round(20_000 / (10 * 15))  # question-fixed: 20,000 steps -> a 10-s clip at 15 fps
    dlg = RecordDialog(win, str(tmp_path / "nowhere" / "run.gif"), spf, "loss")
    qtbot.addWidget(dlg)
    dlg._accept()
    assert dlg.result() == 0 and "does not exist" in dlg.why.text()
    dlg.path.setText(str(tmp_path / "run.webp"))
    dlg._accept()
    assert dlg.result() == 1
    assert dlg.options() == RecordOptions(str(tmp_path / "run.webp"), "loss", 15.0, spf)
