"""Lockstep recording (offscreen): a clip recorded from the command line's path (gui.app.automate with --record and
--quit-after-steps) holds every frame it announces, each a picture of its own step with that step in its corner,
with the trainer's speed unlimited; the window's Record offers lockstep (the default) or live and says which."""

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QImage  # noqa: E402

from gui.app import automate, parse  # noqa: E402
from gui.recording.capture import draw_label, label_rect, step_label  # noqa: E402
from gui.recording.flags import RecordOptions  # noqa: E402
from tests.gui_helpers import wait_step  # noqa: E402


def gif_frames(path) -> list[np.ndarray]:
    """Every stored frame of a GIF as an RGB array (Pillow composes the encoder's changed rectangles)."""
    out = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")).copy())
    return out


def label_mismatch(frame: np.ndarray, step: int) -> float:
    """How far the frame's corner is from `step`'s label as the capture draws it: the pixels in the label's box
    that are light in one and dark in the other, per light (text) pixel of the label."""
    h, w = frame.shape[:2]
    text = step_label(step)
    ref = QImage(w, h, QImage.Format.Format_RGB888)
    ref.fill(QColor("white"))
    draw_label(ref, text)
    stride = ref.bytesPerLine()
    arr = np.frombuffer(ref.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)[:, : w * 3]
    arr = arr.reshape(h, w, 3)
    r = label_rect((w, h), text)
    box = (slice(r.y(), r.y() + r.height()), slice(r.x(), r.x() + r.width()))
    light, want = frame[box].min(axis=2) > 128, arr[box].min(axis=2) > 128
    return float((light != want).sum() / max(1, want.sum()))


def read_step(frame: np.ndarray, candidates) -> int:
    """The candidate step whose label the frame's corner shows (the best match, which must be near exact)."""
    scores = {s: label_mismatch(frame, s) for s in candidates}
    best = min(scores, key=scores.get)
    assert scores[best] < 0.03, f"no label matches: best {best} at {scores[best]:.3f}"
    return best


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_a_lockstep_recording_from_the_command_line_has_every_frame_it_announces(qtbot, win, tmp_path):
    spf, total = 20, 600
    steps = list(range(0, total + 1, spf))  # 31 frames: steps 0, 20, ..., 600
    path = tmp_path / "run.gif"
    args, _ = parse(["--autostart", "--record", str(path), "--record-view", "loss", "--record-fps", "10",
                     "--record-steps-per-frame", str(spf), "--quit-after-steps", str(total)])
    assert args.recording.lockstep  # the command line records in lockstep unless asked otherwise
    win.commands.set_speed(0)  # the trainer as fast as it goes: it would outrun any drawing
    auto = automate(win, args)
    assert auto is not None
    qtbot.waitUntil(lambda: auto.done, timeout=120000)
    assert auto.failure is None and win.recording.saved == path
    frames = gif_frames(path)
    assert len(frames) == len(steps)  # repeated pictures would be merged into one longer frame
    h = frames[0].shape[0]
    body = [f[: h - label_rect((f.shape[1], h), step_label(total)).height()].tobytes() for f in frames]
    assert len(set(body)) == len(steps)  # distinct pictures, the step labels left out
    assert [read_step(f, steps) for f in frames] == steps
    assert "lockstep" in win.message.text.text()


def test_the_record_dialog_offers_lockstep_by_default_and_live(qtbot, win, tmp_path):
    from gui.recording.control import MODE_NAMES, RecordDialog

    dlg = RecordDialog(win, str(tmp_path / "run.gif"), 50, "loss")
    qtbot.addWidget(dlg)
    assert dlg.mode.currentText() == MODE_NAMES[True] and "Lockstep" in dlg.mode.currentText()
    assert dlg.options().lockstep
    dlg.mode.setCurrentIndex(1)
    assert not dlg.options().lockstep and "Live" in dlg.mode.currentText()


@pytest.mark.parametrize("lockstep", [True, False])
def test_the_saved_message_says_which_mode_recorded(qtbot, win, tmp_path, lockstep):
    path = tmp_path / "run.gif"
    win.recording.ask = lambda: RecordOptions(str(path), "bits", 10, 50, lockstep=lockstep)
    win.recording.action.trigger()
    assert win.recording.recording
    assert ("lockstep" if lockstep else "live") in win.statusBar().currentMessage()
    win.commands.start(until=200)
    wait_step(qtbot, win, lambda s: s.step >= 200 and not s.running, timeout=60000)
    win.recording.action.trigger()
    text = win.message.text.text()
    assert str(path) in text and ("lockstep: each frame drawn at its own step" if lockstep else "live capture") in text
    assert win.commands.pacer is None  # the run's commands are the window's own again


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_pause_during_a_lockstep_recording_stops_the_legs_and_start_drives_again(qtbot, win, tmp_path):
    path = tmp_path / "run.gif"
    win.recording.ask = lambda: RecordOptions(str(path), "bits", 10, 10)
    win.recording.action.trigger()
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step >= 50)
    win.commands.pause()
    assert not win.recording.pacer.driving
    paused = wait_step(qtbot, win, lambda s: not s.running).step
    win.commands.start(until=paused + 100)
    assert win.recording.pacer.driving
    wait_step(qtbot, win, lambda s: s.step == paused + 100 and not s.running, timeout=60000)
    assert not win.recording.pacer.driving  # it reached the step Start asked to stop at
    win.recording.action.trigger()
    with Image.open(path) as im:
        assert im.n_frames >= (paused + 100) // 10


def test_the_record_mode_flag():
    from gui.recording.flags import check_record_options

    def opts(*argv):
        return check_record_options(parse(list(argv))[0])

    assert opts("--record", "a.gif").lockstep
    assert not opts("--record", "a.gif", "--record-mode", "live").lockstep
    with pytest.raises(SystemExit):
        parse(["--record-mode", "live"])  # needs --record


def test_a_lockstep_recording_never_says_paused_while_it_drives_the_run(qtbot, win, tmp_path):
    """The trainer pauses at each frame's step while the window draws it; the window (and so every recorded
    frame) says the run is running, "recording, lockstep", not "paused"; once the drive ends it says paused."""
    path = tmp_path / "run.gif"
    win.recording.ask = lambda: RecordOptions(str(path), "bits", 10, 10)
    win.recording.action.trigger()
    seen = []
    win.presenter.frame_shown.connect(lambda s: seen.append(
        (s.running, win.recording.pacer.driving, win.status.fields["rate"].text(), win.state.running,
         win.toolbar.btn_start.text())))
    win.commands.start(until=100)
    qtbot.waitUntil(lambda: not win.recording.pacer.driving and win.snap.step == 100, timeout=60000)
    driven_at_a_frame = [x for x in seen if not x[0] and x[1]]
    assert driven_at_a_frame
    assert all(rate == "recording, lockstep" and running and "Pause" in btn
               for _, _, rate, running, btn in driven_at_a_frame)
    qtbot.waitUntil(lambda: not win.state.running, timeout=10000)  # the drive ended at the step asked for
    win.recording.action.trigger()

