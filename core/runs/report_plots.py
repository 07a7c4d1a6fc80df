"""Line plots as PNG bytes without Qt, for the headless run report (core/runs/report.py): `line_plot(title, x,
series, ...)` draws one or two curves with labelled axes through Pillow. Plain on purpose: a picture a
reader of a Q&A thread can take in at a glance, the same curves the Keras-style log prints."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed size
        return ImageFont.load_default()


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _label(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.2g}"
    return f"{v:,.4g}"


def line_plot(title: str, x, series: dict, xlabel: str = "step", ylabel: str = "", size=(800, 360),
              ylim: tuple[float, float] | None = None) -> bytes:
    """A PNG of `series` ({name: values}, each as long as `x`) against `x`; non-finite points are gaps."""
    w, h = size
    left, right, top, bottom = 70, 20, 40, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    f, fs = _font(16), _font(12)
    d.text((left, 10), title, fill="black", font=f)
    x = np.asarray(x, dtype=np.float64)
    ys = {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in ys.values()] or [np.zeros(0)])
    if ylim is None:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = (hi - lo) * 0.05 or 0.05 * max(1.0, abs(hi))
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = ylim
    x0, x1 = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x0 + 0.5
    pw, ph = w - left - right, h - top - bottom

    def px(xv, yv):
        return left + (xv - x0) / (x1 - x0) * pw, top + (hi - yv) / (hi - lo) * ph

    d.rectangle([left, top, left + pw, top + ph], outline="#444")
    for t in _ticks(lo, hi):
        _, yy = px(x0, t)
        d.line([left, yy, left + pw, yy], fill="#e6e6e6")
        d.text((left - 6, yy), _label(t), fill="#333", font=fs, anchor="rm")
    for t in _ticks(x0, x1):
        xx, _ = px(t, lo)
        d.line([xx, top, xx, top + ph], fill="#e6e6e6")
        d.text((xx, top + ph + 6), _label(t), fill="#333", font=fs, anchor="mt")
    d.text((left + pw / 2, h - 6), xlabel, fill="#333", font=fs, anchor="mb")
    if ylabel:
        d.text((6, top - 4), ylabel, fill="#333", font=fs, anchor="lb")
    for i, (name, y) in enumerate(ys.items()):
        color = COLORS[i % len(COLORS)]
        pts = []
        for xv, yv in zip(x, y, strict=False):
            if math.isfinite(yv):
                pts.append(px(xv, min(max(yv, lo), hi)))
            elif len(pts) > 1:
                d.line(pts, fill=color, width=2)
                pts = []
            else:
                pts = []
        if len(pts) > 1:
            d.line(pts, fill=color, width=2)
        elif len(pts) == 1:
            d.ellipse([pts[0][0] - 3, pts[0][1] - 3, pts[0][0] + 3, pts[0][1] + 3], fill=color)
        lx = left + pw - 170
        ly = top + 8 + 18 * i
        d.line([lx, ly + 7, lx + 24, ly + 7], fill=color, width=3)
        d.text((lx + 30, ly), name, fill="black", font=fs)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
