"""gui/recording/capture.py (offscreen Qt): a widget grabbed a few times becomes a GIF of the expected frames and
size; a resized widget still gives frames of the clip's size; the indicator shows time and size, then the path."""

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QLabel

from gui.recording.capture import RecordIndicator, WidgetRecorder, capture_size, format_elapsed, format_size, grab_rgb


@pytest.fixture
def swatch(qtbot):
    w = QLabel()
    w.setFixedSize(121, 80)  # odd width: the clip's size is made even
    w.setStyleSheet("background: rgb(0, 128, 255);")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_grab_gives_an_rgb_array_of_the_clips_size(swatch):
    assert capture_size(swatch) == (120, 80)
    rgb = grab_rgb(swatch, (120, 80))
    assert rgb.shape == (80, 120, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[40, 60]) == (0, 128, 255)


def test_a_resized_widget_is_scaled_to_fit_the_clip_size(swatch):
    swatch.setFixedSize(240, 80)
    rgb = grab_rgb(swatch, (120, 80))
    assert rgb.shape == (80, 120, 3)
    assert tuple(rgb[40, 60]) == (0, 128, 255) and tuple(rgb[2, 60]) == (255, 255, 255)  # letterboxed on white


def test_a_widget_recorded_every_n_steps_reopens_as_a_gif_of_the_frames_due(swatch, tmp_path):
    colours = ["rgb(0, 128, 255)", "rgb(255, 0, 0)", "rgb(0, 160, 0)"]
    # inline encoding: every frame due is grabbed (a busy encoder thread would hand some the picture before)
    rec = WidgetRecorder(swatch, tmp_path / "swatch.gif", fps=10, steps_per_frame=50, background=False)
    due = []
    for k, step in enumerate([0, 20, 50, 120, 150, 260]):
        swatch.setStyleSheet(f"background: {colours[k % 3]};")
        due.append(rec.frame_drawn(step))
    path = rec.finish()
    assert due == [1, 0, 1, 1, 1, 2]  # 0 | 50 | 100 | 150 | 200, 250
    im = Image.open(path)
    assert path == tmp_path / "swatch.gif" and im.size == (120, 80)
    assert im.n_frames == 5  # the last state stands for two frame times: one frame shown twice as long
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        im.load()
        durations.append(im.info["duration"])
    assert durations == [100, 100, 100, 100, 200]
    assert tuple(np.asarray(im.convert("RGB"))[40, 60]) == (0, 160, 0)  # the last state drawn (k = 5: green)


def test_while_the_encoder_is_behind_the_frames_due_get_the_picture_before_and_nobody_waits(swatch, tmp_path):
    from core.recording import recorder as recording
    from core.recording.formats import GifEncoder

    gate, entered = threading.Event(), threading.Event()
    opened = []  # per picture: True when the test opened the gate, False when the encoder gave up waiting

    class StuckGif(GifEncoder):  # an encoder thread that gets no CPU until the gate opens
        def write(self, rgb, repeat=1):
            entered.set()
            opened.append(gate.wait(60))
            super().write(rgb, repeat)

    colours = ["rgb(0, 128, 255)", "rgb(255, 0, 0)", "rgb(0, 160, 0)", "rgb(90, 90, 90)"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recording, "GifEncoder", StuckGif)
        rec = WidgetRecorder(swatch, tmp_path / "busy.gif", fps=10, steps_per_frame=10)
        rec.recorder._worker.limit = 1  # a queue of one picture
        for k, step in enumerate([0, 10, 30, 40]):
            swatch.setStyleSheet(f"background: {colours[k]};")
            rec.frame_drawn(step)
            if k == 0:  # the encoder has taken the first picture and is stuck on it: the race is settled
                assert entered.wait(60)
        gate.set()  # reached with the encoder still stuck: had a frame_drawn waited for it, the loop would only
        path = rec.finish()  # end once the encoder's 60-s wait gave up (opened False), never before
    assert opened and all(opened), opened  # every picture went on because the test opened the gate
    assert rec.recorder.waited_s == 0  # and the recorder says it never stood still for the encoder
    assert (rec.recorder.frames, rec.recorder.pictures, rec.held_over) == (5, 2, 3)  # steps 30, 40: held over
    im = Image.open(path)
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        im.load()
        durations.append(im.info["duration"])
    assert durations == [100, 400]  # the clip keeps its 5 frame times; the second picture stands for 4
    assert tuple(np.asarray(im.convert("RGB"))[40, 60]) == (255, 0, 0)  # the last picture grabbed (step 10)


def test_the_indicator_shows_a_red_dot_elapsed_time_and_size_then_the_saved_path(qtbot, tmp_path):
    class Progress:
        elapsed_s, bytes_written = 72.4, 1_300_000

    ind = RecordIndicator()
    qtbot.addWidget(ind)
    assert ind.isHidden()
    ind.start(Progress())
    assert ind.isVisible() and "&#9679;" in ind.text() and "REC 1:12 · 1.3 MB" in ind.text()
    ind.show_saved(tmp_path / "run.gif", 52_000)
    assert ind.text() == f"Saved {tmp_path / 'run.gif'} (52 kB)"
    ind.stop()
    assert ind.isHidden()


def test_formats():
    assert [format_size(n) for n in (12, 52_000, 1_300_000)] == ["12 B", "52 kB", "1.3 MB"]
    assert [format_elapsed(s) for s in (0, 59.9, 72, 3725)] == ["0:00", "0:59", "1:12", "1:02:05"]


def test_a_pyqtgraph_view_is_grabbed_as_drawn(qtbot):
    import pyqtgraph as pg

    view = pg.PlotWidget(background="w")
    view.resize(200, 120)
    view.plot([0, 1, 2, 3], [0, 3, 1, 2], pen=pg.mkPen((255, 0, 0), width=3))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    rgb = grab_rgb(view, capture_size(view))
    assert rgb.shape == (120, 200, 3)
    red = (rgb[:, :, 0] > 200) & (rgb[:, :, 1] < 60) & (rgb[:, :, 2] < 60)
    assert red.sum() > 50  # the curve is in the frame


def test_held_over_frames_all_count_as_repeats_and_a_frame_due_n_times_as_n_minus_1(qtbot):
    """Frames held over while the encoder was behind repeat the picture before, all n of them (a drawn frame
    that is due n times repeats n - 1): the repeat count the message after saving reports counts both."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QWidget

    from gui.recording.control import RecordingControl

    parent = QWidget()
    qtbot.addWidget(parent)
    svc = SimpleNamespace(dialog_parent=parent)
    ctl = RecordingControl(svc, {})

    class FakeRec:
        held_over = 0

        def __init__(self, plan):
            self.plan = plan  # per call: (frames due, held over?)

        def frame_drawn(self, step):
            n, held = self.plan.pop(0)
            if held:
                self.held_over += n
            return n

    ctl.rec = FakeRec([(1, False), (3, False), (4, True), (0, False)])
    for step, _ in enumerate(range(4)):
        ctl.frame_shown(SimpleNamespace(run_id=1, step=step * 10))
    assert ctl._repeats == (3 - 1) + 4
    ctl.rec = None  # nothing to finish when the parent closes
