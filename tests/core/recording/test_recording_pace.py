"""core/recording/recorder.py and core/recording/formats.py at a fast run's
pace: a picture repeated for several frame times is
encoded once and shown that long (MP4 too, on the frame grid), so the clip keeps n / fps seconds; the background
encoder thread runs at a lower priority; a full queue makes the caller wait (counted in `waited_s`), never drops
a frame."""

import os
import sys
import threading
import time

import numpy as np
import pytest

from core.recording import recorder as recording
from core.recording.encoder import ENCODER_NICE
from core.recording.formats import GifEncoder
from core.recording.recorder import Recorder
from tests.core.recording.test_recording import FORMATS, H, W, frame, read_back


def mp4_frame_starts(path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [float(f.pts * f.time_base) for f in c.decode(v)]


@pytest.mark.parametrize("background", [False, True], ids=["inline", "thread"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_repeated_pictures_are_stored_once_and_shown_as_long_as_they_stand(tmp_path, fmt, background):
    path = tmp_path / f"still.{fmt}"
    with Recorder(path, (W, H), 10, background=background) as rec:
        for i in [0, 0, 0, 1, 1]:  # repeats passed one by one ...
            rec.add_frame(frame(i))
        rec.add_frame(frame(2), repeat=4)  # ... or as one picture for 4 frame times
        rec.add_frame(frame(2))
    assert (rec.frames, rec.pictures) == (10, 7)
    count, size, seconds, last = read_back(path)
    assert (count, size) == (3, (W, H)) and seconds == pytest.approx(1.0, abs=1e-3)
    assert np.abs(last.astype(int) - frame(2)).mean() < (3 if fmt == "mp4" else 1e-9)
    if fmt == "mp4":  # each picture starts where a constant-rate clip would show it
        assert mp4_frame_starts(path) == pytest.approx([0.0, 0.3, 0.5], abs=1e-3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_fractional_frame_rate_keeps_the_clip_length_n_over_fps(tmp_path, fmt):
    path = tmp_path / f"ntsc.{fmt}"
    fps = 29.97
    with Recorder(path, (W, H), fps) as rec:
        for i in range(12):
            rec.add_frame(frame(i), repeat=1 + i % 3)
    assert rec.frames == 24
    count, _, seconds, _ = read_back(path)
    assert count == 12
    assert seconds == pytest.approx(24 / fps, abs=0.011 if fmt == "gif" else 2e-3)  # GIF counts in 1/100 s


def test_a_repeat_below_one_is_refused_and_the_recording_goes_on(tmp_path):
    with Recorder(tmp_path / "a.gif", (W, H), 10) as rec:
        with pytest.raises(ValueError, match="repeated at least once"):
            rec.add_frame(frame(0), repeat=0)
        rec.add_frame(frame(0))
    assert rec.state == "finished" and rec.frames == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_the_encoder_thread_runs_at_a_lower_priority_than_the_caller(tmp_path):
    rec = Recorder(tmp_path / "a.gif", (W, H), 10, background=True)
    try:
        worker = next(t for t in threading.enumerate() if t.name == "recording-encoder")
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        deadline = time.monotonic() + 5
        while os.getpriority(os.PRIO_PROCESS, worker.native_id) == mine and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == min(19, mine + ENCODER_NICE)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the caller keeps its own
    finally:
        rec.abort()


def test_a_full_queue_makes_the_caller_wait_and_loses_no_frame(tmp_path, monkeypatch):
    class SlowGif(GifEncoder):
        def write(self, rgb, repeat=1):
            time.sleep(0.03)
            super().write(rgb, repeat)

    monkeypatch.setattr(recording, "GifEncoder", SlowGif)
    path = tmp_path / "slow.gif"
    with Recorder(path, (W, H), 10, background=True, max_queued=1) as rec:
        for i in range(8):
            rec.add_frame(frame(i))
    assert rec.waited_s > 0  # the caller stood still while the encoder caught up (how long: bench/recording.py)
    count, _, seconds, _ = read_back(path)
    assert count == 8 and seconds == pytest.approx(0.8)
