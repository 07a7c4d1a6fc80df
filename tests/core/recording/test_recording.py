"""core/recording/recorder.py and core/recording/formats.py:
clips open again with the frames, size and duration written;
bad paths, a full disk and encoder failures leave no partial file and raise one clear RecordingError; memory
stays flat however long the clip."""

import errno
import os
import subprocess
import uuid

import numpy as np
import pytest
from PIL import Image

from core.recording import recorder as recording
from core.recording.formats import pyav_available
from core.recording.recorder import Recorder, RecordingError, check_record_path, supported_suffixes
from tests.full_disk import FullDisk

W, H, FPS = 160, 100, 15
needs_av = pytest.mark.skipif(not pyav_available(), reason="PyAV (the 'video' extra) is not installed")
FORMATS = ["gif", "webp", pytest.param("mp4", marks=needs_av)]


def frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A frame that differs from the one before it (a moving block, a growing bar), few colours."""
    f = np.full((h, w, 3), 240, np.uint8)
    x = (i * 7) % (w - 30)
    f[h // 5 : h // 5 + 20, x : x + 30] = (200, 30, 30)
    f[h * 3 // 5 : h * 3 // 5 + 10, : (i * 3) % w + 1] = (30, 30, 200)
    return f


def read_back(path):
    """(frame count, (w, h), total duration in s, last frame as RGB) of a finished clip."""
    if str(path).endswith(".mp4"):
        import av

        with av.open(str(path)) as c:
            v = c.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
            return len(frames), (v.width, v.height), c.duration / 1e6, frames[-1]
    im = Image.open(path)
    total = 0
    for k in range(im.n_frames):
        im.seek(k)
        im.load()
        total += im.info["duration"]
    return im.n_frames, im.size, total / 1000, np.asarray(im.convert("RGB"))


def files_in(folder) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("background", [False, True], ids=["inline", "thread"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_clip_of_a_few_seconds_opens_again_with_its_frames_size_and_duration(tmp_path, fmt, background):
    path = tmp_path / f"clip.{fmt}"
    n = 3 * FPS  # three seconds
    with Recorder(path, (W, H), FPS, background=background) as rec:
        for i in range(n):
            rec.add_frame(frame(i))
    assert rec.state == "finished" and rec.frames == n
    count, size, seconds, last = read_back(path)
    assert (count, size) == (n, (W, H))
    assert seconds == pytest.approx(3.0, abs=0.011)
    err = np.abs(last.astype(int) - frame(n - 1)).mean()
    assert err < (3 if fmt == "mp4" else 1e-9)  # GIF and WebP are exact for these few-colour frames
    assert files_in(tmp_path) == [f"clip.{fmt}"]  # the temporary file was renamed, not copied
    assert rec.bytes_written == path.stat().st_size


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_repeated_frames_lengthen_the_frame_before_and_the_clip_keeps_its_length(tmp_path, fmt):
    path = tmp_path / f"still.{fmt}"
    with Recorder(path, (W, H), 10) as rec:
        for i in [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]:
            rec.add_frame(frame(i))
    count, _, seconds, last = read_back(path)
    assert count == 3 and seconds == pytest.approx(1.0)
    assert np.array_equal(last, frame(2))


def test_a_gif_of_a_picture_with_more_than_256_colours_stays_close(tmp_path):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:H, 0:W]
    frames = [np.stack([(x * 255 // W), (y * 255 // H), np.full_like(x, 40 * i)], -1).astype(np.uint8)
              for i in range(3)]
    frames[2][10:20, 10:20] = rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)
    with Recorder(tmp_path / "many.gif", (W, H), 10) as rec:
        for f in frames:
            rec.add_frame(f)
    count, size, _, last = read_back(tmp_path / "many.gif")
    assert (count, size) == (3, (W, H))
    assert np.abs(last.astype(int) - frames[2]).mean() < 6


@needs_av
def test_an_odd_sized_mp4_is_padded_by_one_edge_pixel(tmp_path):
    path = tmp_path / "odd.mp4"
    with Recorder(path, (W + 1, H + 1), FPS) as rec:
        for i in range(5):
            rec.add_frame(frame(i, W + 1, H + 1))
    count, size, _, _ = read_back(path)
    assert (count, size) == (5, (W + 2, H + 2))


def test_a_pil_image_and_rgba_frames_are_accepted_and_a_wrong_size_is_refused(tmp_path):
    with Recorder(tmp_path / "a.gif", (W, H), FPS) as rec:
        rec.add_frame(Image.fromarray(frame(0)))
        rec.add_frame(np.dstack([frame(1), np.full((H, W), 255, np.uint8)]))
        with pytest.raises(ValueError, match=r"\(100, 160, 3\) uint8"):
            rec.add_frame(frame(2, W, H + 2))
        assert rec.recording  # a refused frame does not end the recording
    assert read_back(tmp_path / "a.gif")[0] == 2


def test_the_indicator_figures_grow_and_freeze_at_the_end(tmp_path):
    rec = Recorder(tmp_path / "a.webp", (W, H), FPS)
    rec.add_frame(frame(0))
    first = rec.bytes_written
    for i in range(1, 10):
        rec.add_frame(frame(i))
    rec.finish()
    assert 0 < first < rec.bytes_written and rec.clip_seconds == pytest.approx(10 / FPS)
    t = rec.elapsed_s
    assert t > 0 and rec.elapsed_s == t
    with pytest.raises(RecordingError, match="already finished"):
        rec.add_frame(frame(11))


# -- bad paths: one clear message before anything is written -------------------------------------------------
def test_an_unknown_suffix_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(RecordingError, match=r"must end in one of \.gif, \.webp, \.mp4.*'\.avi'"):
        Recorder(tmp_path / "run.avi", (W, H), FPS)
    with pytest.raises(RecordingError, match="no suffix"):
        Recorder(tmp_path / "run", (W, H), FPS)
    assert files_in(tmp_path) == []


def test_a_missing_folder_is_refused_with_its_name(tmp_path):
    missing = tmp_path / "nope" / "deeper"
    with pytest.raises(RecordingError, match=f"the folder {missing} does not exist"):
        Recorder(missing / "run.gif", (W, H), FPS)
    assert files_in(tmp_path) == []


def test_mp4_without_pyav_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "pyav_available", lambda: False)
    assert supported_suffixes() == [".gif", ".webp"]
    with pytest.raises(RecordingError, match=r"MP4 needs PyAV: pip install 'gru-memory-lab\[video\]'"):
        Recorder(tmp_path / "run.mp4", (W, H), FPS)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("fps", [0, -1, 51])
def test_a_gif_frame_rate_out_of_range_is_refused(tmp_path, fps):
    with pytest.raises(RecordingError, match="frame rate must be above 0 and at most 50"):
        Recorder(tmp_path / "run.gif", (W, H), fps)
    assert files_in(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(RecordingError, match="not writable"):
            Recorder(folder / "run.gif", (W, H), FPS)
        assert files_in(folder) == []
    finally:
        folder.chmod(0o755)


def test_a_folder_that_refuses_the_file_leaves_nothing(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(recording, "_open_binary", refuse)
    with pytest.raises(RecordingError, match="failed: the folder is not writable .Permission denied."):
        Recorder(tmp_path / "run.gif", (W, H), FPS)
    assert files_in(tmp_path) == []


# -- a full disk mid-stream -------------------------------------------------------------------------------------


@pytest.mark.parametrize("background", [False, True], ids=["inline", "thread"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_disk_mid_stream_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch, fmt, background):
    old = tmp_path / f"run.{fmt}"
    old.write_bytes(b"the previous recording")
    monkeypatch.setattr(recording, "_open_binary", lambda p: FullDisk(p, room=3000))
    rec = Recorder(old, (W, H), FPS, background=background)
    with pytest.raises(RecordingError, match="failed: the disk is full") as e:
        for i in range(200):
            rec.add_frame(frame(i))
        rec.finish()
    assert "nothing was written" in str(e.value)
    assert rec.state == "failed" and rec.error.startswith("the disk is full")
    assert files_in(tmp_path) == [f"run.{fmt}"] and old.read_bytes() == b"the previous recording"
    with pytest.raises(RecordingError, match="already failed: the disk is full"):
        rec.add_frame(frame(0))


def test_a_folder_removed_while_recording_is_reported_at_the_end(tmp_path):
    import shutil

    folder = tmp_path / "gone"
    folder.mkdir()
    rec = Recorder(folder / "run.gif", (W, H), FPS)
    rec.add_frame(frame(0))
    shutil.rmtree(folder)
    rec.add_frame(frame(1))  # the open temporary file still takes frames
    with pytest.raises(RecordingError, match="failed: the folder no longer exists"):
        rec.finish()
    assert not folder.exists()


def test_an_exception_inside_the_with_block_aborts_and_leaves_nothing(tmp_path):
    with pytest.raises(KeyError):
        with Recorder(tmp_path / "run.gif", (W, H), FPS) as rec:
            rec.add_frame(frame(0))
            raise KeyError("the window closed")
    assert rec.state == "aborted" and files_in(tmp_path) == []


# -- a real tiny file system (root only: mounts a tmpfs) --------------------------------------------------------
@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs (and a read-only one), where this process may mount; skipped elsewhere."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounts = []
    for name, opts in [("full", "size=64k"), ("ro", "size=64k,ro")]:
        d = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)], capture_output=True)
        if r.returncode:
            for m in mounts:
                subprocess.run(["umount", str(m)])
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounts.append(d)
    yield mounts
    for m in mounts:
        subprocess.run(["umount", str(m)], check=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_really_full_disk_and_a_read_only_one_leave_nothing(tiny_fs, fmt):
    full, ro = tiny_fs
    rng = np.random.default_rng(1)
    rec = Recorder(full / f"run.{fmt}", (W, H), FPS)
    with pytest.raises(RecordingError, match="the disk is full"):
        for _ in range(100):  # noise does not compress: 64 KiB fill up in a few frames
            rec.add_frame(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        rec.finish()
    assert files_in(full) == []
    with pytest.raises(RecordingError, match="not writable"):
        Recorder(ro / f"run.{fmt}", (W, H), FPS)
    assert files_in(ro) == []


def test_check_record_path_names_the_problem_or_none(tmp_path):
    assert check_record_path(tmp_path / "ok.webp") is None
    assert "must end in one of" in check_record_path(tmp_path / "x.png")
    (tmp_path / "dir.gif").mkdir()
    assert "is a folder" in check_record_path(tmp_path / "dir.gif")


# -- memory stays flat -------------------------------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_memory_stays_flat_over_2000_frames_of_640x400(tmp_path, fmt):
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("RSS is read from /proc")
    n, w, h = 2000, 640, 400
    rec = Recorder(tmp_path / f"long.{fmt}", (w, h), 30, background=True)
    rss = {}
    for i in range(n):
        rec.add_frame(frame(i, w, h))
        if i + 1 in (200, n):
            rss[i + 1] = _rss()
    rec.finish()
    grown = (rss[n] - rss[200]) / 2**20
    held = n * w * h * 3 / 2**20  # what holding every frame would take: 1465 MiB
    print(f"{fmt}: RSS after 200 frames {rss[200] / 2**20:.1f} MiB, after {n} {rss[n] / 2**20:.1f} MiB "
          f"(+{grown:.1f} MiB; all frames would be {held:.0f} MiB); file {rec.bytes_written / 2**20:.2f} MiB")
    assert grown < 16
    if fmt == "mp4":
        import av

        with av.open(str(tmp_path / "long.mp4")) as c:
            assert (c.streams.video[0].width, c.streams.video[0].height, c.streams.video[0].frames) == (w, h, n)
    else:
        assert Image.open(tmp_path / f"long.{fmt}").size == (w, h)
