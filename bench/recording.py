"""What recording costs per frame, and that its memory stays flat: one table, one run.

    python bench/recording.py [--frames 600] [--size 1440x900] [--naive 300]

Frames are the window's screenshot (resources/screenshot.png, scaled to --size) with a part changing every
frame, as in a live run: the heatmap-sized block scrolls and a cursor line moves. For each format (GIF, WebP,
and MP4 when PyAV is installed) it prints the median encode time per frame (inline, on this thread), the
bytes per frame, and the RSS growth between frame 10% and the last. With --naive N it also measures Pillow's
own `save(save_all=True, append_images=<generator>)` over N frames, which collects every frame first.
Encode time per frame x capture rate = the share of one core recording takes (15 frames/s x 10 ms = 15%).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.recording.formats import pyav_available  # noqa: E402
from core.recording.recorder import Recorder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def frames(size: tuple[int, int]):
    w, h = size
    base = np.asarray(Image.open(ROOT / "resources" / "screenshot.png").convert("RGB").resize(size))
    y0, y1, x0, x1 = h // 2, h // 2 + h // 4, w // 10, w // 10 + w // 3
    i = 0
    while True:
        f = base.copy()
        f[y0:y1, x0:x1] = np.roll(base[y0:y1, x0:x1], i * 3, axis=1)
        f[h // 8 : h // 3, (w // 2 + i) % w] = (200, 0, 0)
        yield f
        i += 1


def bench_format(suffix: str, n: int, size: tuple[int, int], folder: str) -> tuple[float, float, float]:
    rec = Recorder(Path(folder) / f"bench{suffix}", size, 15)
    src, times, rss0 = frames(size), [], None
    for i in range(n):
        f = next(src)
        t = time.perf_counter()
        rec.add_frame(f)
        times.append(time.perf_counter() - t)
        if i == n // 10:
            rss0 = rss_mib()
    grown = rss_mib() - rss0
    rec.finish()
    return statistics.median(times) * 1e3, rec.bytes_written / n, grown


def bench_naive(suffix: str, n: int, size: tuple[int, int], folder: str) -> float:
    src, rss0, peak = frames(size), rss_mib(), [0.0]

    def rest():
        for i in range(1, n):
            if i % 50 == 0:
                peak[0] = max(peak[0], rss_mib())
            yield Image.fromarray(next(src))

    opts = {"lossless": True, "method": 0} if suffix == ".webp" else {}
    Image.fromarray(next(src)).save(Path(folder) / f"naive{suffix}", save_all=True, append_images=rest(),
                                    duration=67, **opts)
    return max(peak[0], rss_mib()) - rss0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--size", default="1440x900")
    ap.add_argument("--naive", type=int, default=0, metavar="N")
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.lower().split("x"))
    suffixes = [".gif", ".webp"] + ([".mp4"] if pyav_available() else [])
    print(f"{a.frames} frames of {size[0]}x{size[1]}, encoded inline (median ms/frame, bytes/frame, RSS growth)")
    with tempfile.TemporaryDirectory() as folder:
        for s in suffixes:
            ms, per, grown = bench_format(s, a.frames, size, folder)
            print(f"  {s:6} {ms:7.1f} ms  {per / 1000:8.1f} kB  {grown:+7.1f} MiB")
        if not pyav_available():
            print("  .mp4   skipped: PyAV (the 'video' extra) is not installed")
        for s in [".gif", ".webp"][: 2 if a.naive else 0]:
            grown = bench_naive(s, a.naive, size, folder)
            print(f"  Pillow save_all{s} over {a.naive} frames: peak RSS {grown:+.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
