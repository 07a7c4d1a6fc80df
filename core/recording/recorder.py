"""Recording a clip to a file: the `Recorder` (the file's suffix picks the format) and its errors.

    rec = Recorder("run.gif", size=(640, 400), fps=15)   # RecordingError at once for a bad path or suffix
    rec.add_frame(rgb)                                   # (400, 640, 3) uint8, or a PIL image of that size
    rec.add_frame(rgb, repeat=3)                         # the same picture for 3 frame times (encoded once)
    rec.extend(2) if rec.busy else rec.add_frame(...)    # the encoder is behind: the last picture, 2 more times
    rec.bytes_written, rec.elapsed_s, rec.frames         # for the UI's indicator (and rec.pictures, rec.waited_s)
    final_path = rec.finish()                            # or rec.abort(); `with Recorder(...)` does either

* Formats: `.gif` and `.webp` through Pillow, `.mp4` (H.264) through PyAV when the `video` extra is installed
  (core/recording/formats.py holds the encoders). Any other suffix, a missing or unwritable folder and MP4
  without PyAV raise one `RecordingError` before anything is written.
* Frames are streamed: each is encoded as it arrives (on the caller's thread, or with `background=True` on one
  encoder thread behind a queue of at most `max_queued` pictures, core/recording/encoder.py), so memory stays flat
  whatever the length. A picture repeated for several frame times is queued and encoded once.
* The encoder thread runs at a lower priority (nice +10, Linux only), so on a busy machine the training process
  keeps its core and the encoder takes what is left. While its queue is full (`busy`), `add_frame` waits for
  it (no frame is dropped; `waited_s` adds up that waiting) and `extend(n)` does not: it gives the n frames
  due the last picture added, so a caller that cannot wait keeps the clip's length with fewer pictures.
* The clip is written to a hidden temporary file in the target's folder (core.atomic_io's naming and lock, so
  one left by a killed process is swept by the next write there) and renamed into place only when
  `finish()` succeeds. A failed write (disk full, folder gone or unwritable, encoder error) removes the
  temporary file, leaves any existing file at the path untouched and raises one `RecordingError`; the
  recorder is then closed (`state == "failed"`, `error` says why). core/ never imports Qt.
"""

from __future__ import annotations

import atexit
import errno
import io
import os
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from core.atomic_io import TEMP_MARK, check_writable, remove_stale_temp_files
from core.recording.encoder import EncoderThread
from core.recording.formats import GIF_MAX_FPS, FrameEncoder, GifEncoder, Mp4Encoder, WebpEncoder, pyav_available

fcntl: ModuleType | None
try:  # the lock core.atomic_io's stale-file sweeper respects
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

FORMATS = {".gif": "animated GIF", ".webp": "animated WebP", ".mp4": "MP4 (H.264)"}
MAX_FPS = 60.0
MAX_SIDE = 16384
_PYAV_HINT = "MP4 needs PyAV: pip install 'gru-memory-lab[video]' (or pip install av); .gif and .webp work without it"


class RecordingError(Exception):
    """A recording could not be started or written; the message is meant for the user."""


def supported_suffixes() -> list[str]:
    """The suffixes that can be recorded here (.mp4 only when PyAV is installed)."""
    return [s for s in FORMATS if s != ".mp4" or pyav_available()]


def check_record_path(path: Any) -> str | None:
    """Why `path` cannot be recorded to (suffix, missing PyAV, folder), or None; writes nothing."""
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        return f"not a file path: {path!r}"
    suffix = os.path.splitext(p)[1].lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        return f"the file name must end in one of {known} (it picks the format); got {suffix or 'no suffix'!r}"
    if suffix == ".mp4" and not pyav_available():
        return _PYAV_HINT
    return check_writable(p)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return "the disk is full (no space left on device)"
    if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder is not writable ({e.strerror or 'permission denied'})"
    if isinstance(e, OSError) and e.errno == errno.ENOENT:
        return "the folder no longer exists"
    text = (e.strerror if isinstance(e, OSError) else None) or str(e) or type(e).__name__
    return text[:1].lower() + text[1:]


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


class _RawFile(Protocol):
    """What _CountingFile needs of the file it wraps."""

    def write(self, b: bytes, /) -> int | None: ...

    def read(self, n: int = -1, /) -> bytes: ...

    def readinto(self, b: Any, /) -> int: ...

    def seek(self, pos: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class _CountingFile(io.RawIOBase):
    """A binary file that knows its size so far (the encoders seek back to patch headers)."""

    def __init__(self, raw: _RawFile):
        self.raw, self.size = raw, 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, b) -> int:
        n = self.raw.write(b)
        n = len(b) if n is None else n
        self.size = max(self.size, self.raw.tell())
        return n

    def read(self, n: int = -1) -> bytes:
        return self.raw.read(n)

    def readinto(self, b) -> int:
        return self.raw.readinto(b)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.raw.seek(pos, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def flush(self) -> None:
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        try:
            super().close()  # flushes first
        finally:
            self.raw.close()


def _open_binary(path: str) -> io.BufferedRandom:
    """Open the temporary file (a seam for tests that simulate a full disk)."""
    return open(path, "w+b")


_LIVE_TEMPS: set[str] = set()  # temporary files of unfinished recordings, removed if the program exits


@atexit.register
def _remove_live_temps() -> None:
    for p in list(_LIVE_TEMPS):
        _unlink(p)


def _unlink(p: str) -> None:
    _LIVE_TEMPS.discard(p)
    try:
        os.unlink(p)
    except OSError:
        pass


class Recorder:
    """Streams frames of one fixed `size` (width, height) into `path` at `fps` frames per second of playback."""

    def __init__(self, path: Any, size: tuple[int, int], fps: float = 15.0, *, background: bool = False,
                 max_queued: int = 4, loop: int = 0):
        why = check_record_path(path)
        if why is not None:
            raise RecordingError(f"cannot record to {path}: {why}")
        self.path = Path(os.path.abspath(os.fsdecode(os.fspath(path))))
        if self.path.is_symlink():  # replace the file the link points to, not the link
            self.path = Path(os.path.realpath(self.path))
        self.suffix = self.path.suffix.lower()
        w, h = (int(v) for v in size)
        if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
            raise RecordingError(f"cannot record to {self.path}: a frame size of {w}x{h} pixels is not possible")
        fps = float(fps)
        top = GIF_MAX_FPS if self.suffix == ".gif" else MAX_FPS
        if not (0 < fps <= top):
            raise RecordingError(f"cannot record to {self.path}: the frame rate must be above 0 and at most {top:g}"
                                 f" for {FORMATS[self.suffix]} (got {fps:g})")
        self.size, self.fps = (w, h), fps
        self.frames = 0
        self.pictures = 0  # add_frame calls: each picture stands for `repeat` frames
        self.waited_s = 0.0  # time add_frame spent waiting for the encoder thread (a full queue)
        self.state = "recording"  # then "finished", "failed" or "aborted"
        self.error: str | None = None
        self._t0, self._t1 = time.monotonic(), None  # type: float, float | None
        self._file: _CountingFile | None = None
        self._encoder: FrameEncoder | None = None
        self._worker: EncoderThread | None = None
        self.temp_path = ""
        try:  # core.atomic_io's temporary-file naming and lock: a killed recording's file is swept as stale
            remove_stale_temp_files(str(self.path.parent))
            fd, self.temp_path = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                                  suffix=TEMP_MARK + self.suffix)
            os.close(fd)
            _LIVE_TEMPS.add(self.temp_path)
            self._file = _CountingFile(_open_binary(self.temp_path))
            if fcntl is not None:  # held while the clip is written, so no sweeper takes a long recording's file
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._encoder = self._make_encoder(self._file, loop)
        except Exception as e:
            self._fail(e)
        if background:
            self._worker = EncoderThread(self._encoder, max_queued)

    def _make_encoder(self, fp: _CountingFile, loop: int) -> FrameEncoder:
        if self.suffix == ".gif":
            return GifEncoder(fp, self.size, self.fps, loop=loop)
        if self.suffix == ".webp":
            return WebpEncoder(fp, self.size, self.fps, loop=loop)
        return Mp4Encoder(fp, self.size, self.fps)

    # -- what the UI shows -------------------------------------------------------------------------------------
    @property
    def bytes_written(self) -> int:
        """The file's size so far (MP4: what the encoder has handed out; it holds a few frames back)."""
        return self._file.size if self._file is not None else 0

    @property
    def elapsed_s(self) -> float:
        """Wall-clock seconds since the recording started (frozen when it ends)."""
        return (self._t1 if self._t1 is not None else time.monotonic()) - self._t0

    @property
    def clip_seconds(self) -> float:
        """How long the clip plays so far: frames / fps."""
        return self.frames / self.fps

    @property
    def recording(self) -> bool:
        return self.state == "recording"

    @property
    def busy(self) -> bool:
        """Whether the encoder thread is behind: `add_frame` would wait now (`extend` never does)."""
        return self._worker is not None and self._worker.busy

    # -- frames ------------------------------------------------------------------------------------------------
    def add_frame(self, frame: Any, repeat: int = 1) -> None:
        """Add one picture for `repeat` frame times (`repeat` equal frames, encoded once): an (H, W, 3) or
        (H, W, 4) uint8 array or a PIL image, of the recorder's size."""
        self._check_open()
        repeat = int(repeat)
        if repeat < 1:
            raise ValueError(f"a frame is repeated at least once (got repeat={repeat})")
        rgb = self._as_rgb(frame)
        if self._worker is None:
            encoder = self._encoder
            assert encoder is not None  # made in __init__, or it raised
            try:
                encoder.write(rgb, repeat)
            except Exception as e:
                self._fail(e)
        else:  # waits while the encoder is behind (dropping frames would shorten the clip)
            self.waited_s += self._worker.put(rgb.copy(), repeat)  # a copy: the caller may reuse its buffer
            if self._worker.failure is not None:
                self._fail(self._worker.failure)
        self.frames += repeat
        self.pictures += 1

    def extend(self, frames: int) -> None:
        """The last picture added stands for `frames` more frame times (never waits for the encoder)."""
        self._check_open()
        frames = int(frames)
        if frames < 1 or not self.pictures:
            raise ValueError(f"extend needs a picture added before and at least 1 frame (got {frames})")
        if self._worker is None:
            encoder = self._encoder
            assert encoder is not None  # made in __init__, or it raised
            try:
                encoder.extend(frames)
            except Exception as e:
                self._fail(e)
        else:
            self._worker.extend(frames)
            if self._worker.failure is not None:
                self._fail(self._worker.failure)
        self.frames += frames

    def _as_rgb(self, frame: Any) -> np.ndarray:
        if not isinstance(frame, np.ndarray):
            frame = np.asarray(frame.convert("RGB") if hasattr(frame, "convert") else frame)
        w, h = self.size
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[:2] != (h, w) or frame.shape[2] not in (3, 4):
            raise ValueError(f"a frame must be a ({h}, {w}, 3) uint8 array, got {frame.shape} {frame.dtype}")
        return np.ascontiguousarray(frame[:, :, :3])

    # -- the end -----------------------------------------------------------------------------------------------
    def finish(self) -> Path:
        """Finish the file and move it into place; returns its full path. RecordingError if it fails."""
        self._check_open()
        encoder, file = self._encoder, self._file
        assert encoder is not None and file is not None  # made in __init__, or it raised
        try:
            if self._worker is not None:
                self._worker.finish()
            else:
                encoder.close()
            file.flush()
            os.fsync(file.fileno())
            file.close()
            os.chmod(self.temp_path, 0o666 & ~_umask())
            os.replace(self.temp_path, self.path)
        except Exception as e:
            self._fail(e)
        _LIVE_TEMPS.discard(self.temp_path)
        self.state, self._t1 = "finished", time.monotonic()
        return self.path

    def abort(self) -> None:
        """Stop without keeping anything: the temporary file is removed, an existing file at the path stays."""
        if self.state != "recording":
            return
        self._close_quietly()
        self.state = "aborted"

    def _check_open(self) -> None:
        if self.state != "recording":
            why = f": {self.error}" if self.error else ""
            raise RecordingError(f"the recording to {self.path} has already {self.state}{why}")

    def _fail(self, e: BaseException) -> None:
        self._close_quietly()
        self.state, self.error = "failed", _reason(e)
        raise RecordingError(f"recording to {self.path} failed: {self.error}; nothing was written") from e

    def _close_quietly(self) -> None:
        self._t1 = time.monotonic()
        if self._worker is not None:
            self._worker.abort()
        if self._encoder is not None:
            self._encoder.abort()
        if self._file is not None:
            try:
                self._file.close()
            except Exception:  # the file is thrown away; a full disk may fail its last flush
                pass
        if self.temp_path:
            _unlink(self.temp_path)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self.state == "recording":
                self.finish()
        else:
            self.abort()
