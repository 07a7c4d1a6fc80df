"""Frame encoders for recordings: animated GIF and WebP through Pillow, MP4 (H.264) through PyAV when installed.

Every encoder writes frame by frame to an open binary file and holds at most one frame besides the one it is
given, so memory stays flat whatever the clip's length (Pillow's own `save(save_all=True, append_images=...)`
collects every frame before it writes one, for GIF and for WebP alike, so it is not used):

* GIF: the file's header is written here; each frame gets its own colour table (exact when the changed part
  has at most 256 colours, else fast octree quantization) and is written with Pillow's `GifImagePlugin.getdata`.
* WebP: each frame is encoded by Pillow as a still lossless WebP, and its bitstream is placed in an `ANMF`
  chunk of the animated WebP container written here; the RIFF size is patched in on close.
* MP4: PyAV (libx264 preset veryfast, tune zerolatency, yuv420p, CRF 23, one thread) muxes into the same file
  object. Odd sizes are padded by one edge row or column, as H.264's 4:2:0 needs even sizes. The stream's time
  base is one frame (1 / fps); every picture starts on that grid.

In every format a frame identical to the previous one (or one written with `repeat=k`, which stands for k equal
frames) lengthens that frame's display time instead of adding a frame, so the encoder's work follows the
pictures that changed, not the frame rate: a fast run recorded at 1 frame per 133 steps asks for ~160 frames a
second, of which only the few the window drew differ. GIF and WebP also write only the rectangle that changed
since the previous frame (kept in place underneath). Frame times are rounded cumulatively, so a clip of n
frames at `fps` lasts n / fps seconds to the format's resolution. Encoders take `(H, W, 3)` uint8 RGB arrays of
one fixed size. core/ never imports Qt.
"""

from __future__ import annotations

import io
import struct
from typing import Any, Protocol

import numpy as np

GIF_MAX_FPS = 50  # GIF delays are in 1/100 s and viewers slow down delays under 2/100 s


def pyav_available() -> bool:
    """Whether PyAV (the optional `video` extra) can be imported, so MP4 can be written."""
    try:
        import av  # noqa: F401
    except Exception:
        return False
    return True


class BinarySink(Protocol):
    """The file an encoder writes: a binary file open for writing that can seek (GIF and WebP patch headers)."""

    def write(self, b: bytes, /) -> int | None: ...

    def seek(self, pos: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class FrameEncoder(Protocol):
    def write(self, rgb: np.ndarray, repeat: int = 1) -> None: ...  # `rgb` shown for `repeat` frame times

    def extend(self, frames: int) -> None: ...  # the last picture written shows for `frames` more frame times

    def close(self) -> None: ...  # finish the file (trailer, sizes); the file object stays open

    def abort(self) -> None: ...  # release what the encoder holds without finishing the file


class _Ticks:
    """Display times of successive frames in a format's time unit, rounded cumulatively (no drift)."""

    def __init__(self, fps: float, units_per_second: int):
        self.fps, self.units, self.k = float(fps), units_per_second, 0

    def next(self, frames: int = 1) -> int:
        """The display time of the next `frames` frame times together."""
        a = round(self.k * self.units / self.fps)
        self.k += frames
        return round(self.k * self.units / self.fps) - a


def _changed_box(prev: np.ndarray | None, cur: np.ndarray, even: bool) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the pixels that differ from `prev` (the whole frame when there is none), or None."""
    h, w = cur.shape[:2]
    if prev is None:
        return 0, 0, w, h
    diff = (prev != cur).reshape(h, w * 3)  # reductions along contiguous rows: 20x faster than any(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0] : rows[-1] + 1].any(axis=0)) // 3
    x0, y0 = int(cols[0]), int(rows[0])
    if even:  # WebP frame offsets are stored halved
        x0, y0 = x0 & ~1, y0 & ~1
    return x0, y0, int(cols[-1]) + 1, int(rows[-1]) + 1


class _DeltaEncoder:
    """Shared by GIF and WebP: crop each frame to what changed and merge repeated frames into one longer frame.
    Holds the previous frame (to compare) and one pending crop (its display time may still grow)."""

    even_offsets = False

    def __init__(self, fp: BinarySink, size: tuple[int, int], fps: float, units_per_second: int):
        self.fp, self.size = fp, size
        self._ticks = _Ticks(fps, units_per_second)
        self._prev: np.ndarray | None = None
        self._pending: tuple[np.ndarray, int, int, int] | None = None  # (crop, x, y, duration)

    def write(self, rgb: np.ndarray, repeat: int = 1) -> None:
        duration = self._ticks.next(repeat)
        box = _changed_box(self._prev, rgb, self.even_offsets)
        if box is None and self._pending is not None:
            crop, x, y, d = self._pending
            self._pending = (crop, x, y, d + duration)
            return
        self._flush()
        x0, y0, x1, y1 = box if box is not None else (0, 0, 1, 1)
        self._pending = (rgb[y0:y1, x0:x1].copy(), x0, y0, duration)
        self._prev = rgb.copy()

    def extend(self, frames: int) -> None:
        if self._pending is None:
            raise ValueError("there is no frame to show longer yet")
        crop, x, y, d = self._pending
        self._pending = (crop, x, y, d + self._ticks.next(frames))

    def close(self) -> None:
        self._flush()
        self._finish()

    def abort(self) -> None:
        self._prev = self._pending = None

    def _flush(self) -> None:
        if self._pending is not None:
            crop, x, y, d = self._pending
            self._pending = None
            self._emit(crop, x, y, d)

    def _emit(self, crop: np.ndarray, x: int, y: int, duration: int) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError


class GifEncoder(_DeltaEncoder):
    """Animated GIF, looping forever (`loop=0`) or `loop` times; no global colour table."""

    def __init__(self, fp: BinarySink, size: tuple[int, int], fps: float, loop: int = 0):
        if not 0 < fps <= GIF_MAX_FPS:
            raise ValueError(f"a GIF plays at most {GIF_MAX_FPS} frames per second (asked for {fps:g})")
        super().__init__(fp, size, fps, 100)
        w, h = size
        fp.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0))
        fp.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")

    def _emit(self, crop: np.ndarray, x: int, y: int, duration: int) -> None:
        from PIL import GifImagePlugin, Image

        im = _to_palette(Image.fromarray(crop, "RGB"))
        # disposal 1: the frame stays in place, so the next frame's changed rectangle is drawn over it
        parts = GifImagePlugin.getdata(im, (x, y), duration=duration * 10, disposal=1, include_color_table=True)
        self.fp.write(b"".join(parts))

    def _finish(self) -> None:
        self.fp.write(b";")


def _to_palette(im):
    """A 'P' image: exact when the picture has at most 256 colours (most UI frames do), else fast octree;
    the colour table holds only the colours used, so small changes stay small in the file."""
    from PIL import Image

    colors = im.getcolors(256)
    if colors:
        pal = Image.new("P", (1, 1))
        pal.putpalette(b"".join(bytes(c) for _, c in colors))
        return im.quantize(palette=pal, dither=Image.Dither.NONE)
    q = im.quantize(256, method=Image.Quantize.FASTOCTREE)
    used = q.getextrema()[1] + 1
    q.putpalette(q.getpalette()[: 3 * used])
    return q


class WebpEncoder(_DeltaEncoder):
    """Animated lossless WebP. `method` 0-6 trades encoding time for size (0: fastest)."""

    even_offsets = True

    def __init__(self, fp: BinarySink, size: tuple[int, int], fps: float, loop: int = 0, method: int = 0):
        super().__init__(fp, size, fps, 1000)
        w, h = size
        if w > 1 << 24 or h > 1 << 24:
            raise ValueError("a WebP frame is at most 16777216 pixels wide and high")
        self.method, self._start = method, fp.tell()
        vp8x = bytes([0x02, 0, 0, 0]) + _u24(w - 1) + _u24(h - 1)  # flags: animation
        anim = struct.pack("<IH", 0xFFFFFFFF, loop)  # background white, opaque (BGRA); loop count
        fp.write(b"RIFF\0\0\0\0WEBP" + _chunk(b"VP8X", vp8x) + _chunk(b"ANIM", anim))

    def _emit(self, crop: np.ndarray, x: int, y: int, duration: int) -> None:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(crop, "RGB").save(buf, "WEBP", lossless=True, method=self.method)
        bitstream = _webp_image_chunks(buf.getvalue())
        h, w = crop.shape[:2]
        # offsets halved; size - 1; duration in ms; flags 0x02: do not blend, no disposal (the frame stays)
        header = _u24(x // 2) + _u24(y // 2) + _u24(w - 1) + _u24(h - 1) + _u24(min(duration, (1 << 24) - 1))
        self.fp.write(_chunk(b"ANMF", header + b"\x02" + bitstream))

    def _finish(self) -> None:
        end = self.fp.tell()
        self.fp.seek(self._start + 4)
        self.fp.write(struct.pack("<I", end - self._start - 8))
        self.fp.seek(end)


def _u24(v: int) -> bytes:
    return int(v).to_bytes(3, "little")


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _webp_image_chunks(still: bytes) -> bytes:
    """The image chunks (ALPH, VP8, VP8L) of a still WebP file, as an ANMF frame holds them."""
    if still[:4] != b"RIFF" or still[8:12] != b"WEBP":
        raise ValueError("Pillow did not produce a WebP image")
    out, pos = [], 12
    while pos + 8 <= len(still):
        tag, n = still[pos : pos + 4], struct.unpack("<I", still[pos + 4 : pos + 8])[0]
        end = pos + 8 + n + (n % 2)
        if tag in (b"ALPH", b"VP8 ", b"VP8L"):
            out.append(still[pos:end])
        pos = end
    if not out:
        raise ValueError("Pillow's WebP image has no image data")
    return b"".join(out)


class Mp4Encoder:
    """MP4 with one H.264 stream (libx264, yuv420p) whose time base is one frame, 1 / `fps`.

    A picture is encoded once however many frame times it stands for: it is held until a different picture
    arrives (or the clip closes) and then encoded with its pts on the frame grid and its packet's duration set
    to those frame times, so a clip of n frames plays n / fps seconds and each picture appears exactly when a
    constant-rate clip would show it; a reader counts the distinct pictures. tune=zerolatency: no B-frames and
    no lookahead (each frame is encoded at once; dts = pts), about a third less CPU per frame than veryfast's
    default for ~10 % larger files of these window pictures.
    """

    def __init__(self, fp: BinarySink, size: tuple[int, int], fps: float, crf: int = 23, preset: str = "veryfast",
                 tune: str | None = "zerolatency"):
        from fractions import Fraction

        import av

        w, h = size
        self.pad = (w % 2, h % 2)
        rate = Fraction(fps).limit_denominator(1001)
        self._av, self._time_base = av, 1 / rate
        self._prev: np.ndarray | None = None  # the held picture (to spot repeats) ...
        self._held: list[Any] | None = None  # ... and [its frame, first frame time, frame times it stands for]
        self._next = 0  # the next frame time
        self._durations: dict[int, int] = {}  # pts -> frame times, for packets the encoder has not returned yet
        self.pictures = 0  # pictures encoded so far
        self.container = av.open(fp, "w", format="mp4")
        try:
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width, self.stream.height = w + self.pad[0], h + self.pad[1]
            self.stream.pix_fmt = "yuv420p"
            self.stream.codec_context.time_base = self._time_base
            # one encoder thread: the training process should keep the other cores
            options: dict[str, object] = {"crf": str(crf), "preset": preset, "threads": "1"}
            if tune:
                options["tune"] = tune
            self.stream.options = options
        except BaseException:
            self.abort()
            raise

    def write(self, rgb: np.ndarray, repeat: int = 1) -> None:
        if self._held is not None and self._prev is not None and np.array_equal(self._prev, rgb):
            self._held[2] += repeat
        else:
            self._encode_held()
            self._prev = rgb.copy()  # the caller may reuse its buffer
            if any(self.pad):
                rgb = np.pad(rgb, ((0, self.pad[1]), (0, self.pad[0]), (0, 0)), mode="edge")
            self._held = [self._av.VideoFrame.from_ndarray(rgb, format="rgb24"), self._next, repeat]
        self._next += repeat

    def extend(self, frames: int) -> None:
        if self._held is None:
            raise ValueError("there is no frame to show longer yet")
        self._held[2] += frames
        self._next += frames

    def _encode_held(self) -> None:
        if self._held is None:
            return
        frame, pts, frames = self._held
        self._held = None
        frame.pts, frame.time_base = pts, self._time_base
        self._durations[pts] = frames
        self._mux(self.stream.encode(frame))
        self.pictures += 1

    def _mux(self, packets) -> None:
        for packet in packets:
            if packet.pts is not None:
                packet.duration = self._durations.pop(packet.pts, 1)
            self.container.mux(packet)

    def close(self) -> None:
        self._encode_held()
        self._mux(self.stream.encode())
        self.container.close()

    def abort(self) -> None:
        self._prev = self._held = None
        try:
            self.container.close()
        except Exception:  # the file is being thrown away; its muxer may fail on the way out
            pass
