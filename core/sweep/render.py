"""The sweep map as a picture: PNG (Pillow) and SVG (plain text) from a sweep report dict (core/sweep/grid.py).

Each cell is coloured by the fraction of its seeds that learned (a red-yellow-green scale with a colour bar),
with k/S written in it; cells not finished are grey and say "..." (or k/n so far). The axes carry the field
names and values; the title says what the colour means, the seeds, steps and whether the report is partial.
One-axis sweeps draw a single row. Pure Pillow/NumPy, no Qt.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

STOPS = ((0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80)))
PENDING = (200, 200, 200)


def colour(fraction: float | None) -> tuple[int, int, int]:
    """The map's colour for a fraction learned in [0, 1] (None: not finished)."""
    if fraction is None:
        return PENDING
    f = min(1.0, max(0.0, float(fraction)))
    for (a, ca), (b, cb) in zip(STOPS, STOPS[1:]):
        if f <= b:
            u = (f - a) / (b - a)
            red, green, blue = (int(round(x + (y - x) * u)) for x, y in zip(ca, cb))
            return red, green, blue
    return STOPS[-1][1]


def _grid(report: dict):
    axes = report["axes"]
    xs = axes[0]["labels"]
    ys = axes[1]["labels"] if len(axes) > 1 else [""]
    cells = {(c["ix"], c["iy"]): c for c in report["cells"]}
    return axes, xs, ys, cells


def cell_text(c: dict | None, seeds: int) -> str:
    if c is None or c["n_seeds"] == 0:
        return "..."
    return f"{c['learned']}/{c['n_seeds']}" if c["done"] else f"{c['learned']}/{c['n_seeds']}.."


def title(report: dict) -> str:
    """What the map shows: the colour's meaning, seeds, and the fixed settings (the axes' fields left out)."""
    cfg = report["config"]
    flat = {**cfg["task"], **cfg["model"], **cfg["train"]}
    swept = {a["field"] for a in report["axes"]}
    fixed = [("steps", f"{flat['steps']:,} steps"), ("units", f"{flat['units']} units"), ("rule", flat["rule"]),
             ("window", f"k={flat['window']}"), ("kind", flat["kind"]), ("lag", f"lag {flat['lag']}"),
             ("p", f"p={flat['p']:g}"), ("lr", f"lr {flat['lr']:g}"), ("cell", f"cell {flat.get('cell', 'gru')}")]
    parts = [text for name, text in fixed if name not in swept
             and not (name == "window" and ("rule" in swept or flat["rule"] != "tbptt"))
             and not (name == "cell" and flat.get("cell", "gru") == "gru")]  # the GRU's maps say nothing new
    part = " - PARTIAL" if report.get("partial") else ""
    return (f"learned k/S (held-out accuracy >= {report['threshold']:g}), {report['seeds']} seeds, "
            + ", ".join(parts) + part)


def layout(report: dict, cell: int = 56):
    axes, xs, ys, cells = _grid(report)
    left, top, bar_w = 90, 50, 90
    W = left + cell * len(xs) + 20 + bar_w
    H = top + cell * len(ys) + 60
    return axes, xs, ys, cells, left, top, W, H, cell


def render_png(report: dict, cell: int = 56) -> bytes:
    """PNG bytes of the map."""
    from PIL import Image, ImageDraw, ImageFont

    axes, xs, ys, cells, left, top, W, H, cs = layout(report, cell)
    t = title(report)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    W = max(W, int(font.getlength(t)) + 20)
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 10), t, fill="black", font=font)
    for (ix, iy), c in cells.items():
        x0, y0 = left + ix * cs, top + iy * cs
        fill = colour(c["fraction"] if c["n_seeds"] else None)
        d.rectangle([x0, y0, x0 + cs - 1, y0 + cs - 1], fill=fill, outline="white")
        d.text((x0 + cs / 2, y0 + cs / 2), cell_text(c, report["seeds"]), fill="black", font=font, anchor="mm")
    for ix, lab in enumerate(xs):
        d.text((left + ix * cs + cs / 2, top + len(ys) * cs + 6), lab, fill="black", font=small, anchor="ma")
    d.text((left + len(xs) * cs / 2, top + len(ys) * cs + 24), axes[0]["field"], fill="black", font=font, anchor="ma")
    for iy, lab in enumerate(ys):
        d.text((left - 6, top + iy * cs + cs / 2), lab, fill="black", font=small, anchor="rm")
    if len(axes) > 1:
        d.text((10, top + len(ys) * cs / 2), axes[1]["field"], fill="black", font=font, anchor="lm")
    # colour bar
    bx, bh = left + len(xs) * cs + 20, max(cs * len(ys), 80)
    for i in range(bh):
        d.line([bx, top + i, bx + 16, top + i], fill=colour(1 - i / max(1, bh - 1)))
    for f in (0.0, 0.5, 1.0):
        d.text((bx + 22, top + (1 - f) * (bh - 1)), f"{f:.1f}", fill="black", font=small, anchor="lm")
    d.text((bx, top + bh + 6), "fraction\nlearned", fill="black", font=small)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def render_svg(report: dict, cell: int = 56) -> bytes:
    """The same map as SVG text."""
    axes, xs, ys, cells, left, top, W, H, cs = layout(report, cell)
    t = title(report)
    W = max(W, 7 * len(t) + 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
           f'<rect width="{W}" height="{H}" fill="white"/>', f'<text x="10" y="24" font-size="13">{escape(t)}</text>']
    for (ix, iy), c in cells.items():
        x0, y0 = left + ix * cs, top + iy * cs
        r, g, b = colour(c["fraction"] if c["n_seeds"] else None)
        out.append(f'<rect x="{x0}" y="{y0}" width="{cs - 1}" height="{cs - 1}" fill="rgb({r},{g},{b})"/>')
        out.append(f'<text x="{x0 + cs / 2}" y="{y0 + cs / 2 + 5}" font-size="13" text-anchor="middle">'
                   f'{escape(cell_text(c, report["seeds"]))}</text>')
    for ix, lab in enumerate(xs):
        out.append(f'<text x="{left + ix * cs + cs / 2}" y="{top + len(ys) * cs + 16}" font-size="11" '
                   f'text-anchor="middle">{escape(lab)}</text>')
    out.append(f'<text x="{left + len(xs) * cs / 2}" y="{top + len(ys) * cs + 36}" font-size="13" '
               f'text-anchor="middle">{escape(axes[0]["field"])}</text>')
    for iy, lab in enumerate(ys):
        out.append(f'<text x="{left - 6}" y="{top + iy * cs + cs / 2 + 4}" font-size="11" text-anchor="end">'
                   f'{escape(lab)}</text>')
    if len(axes) > 1:
        out.append(f'<text x="10" y="{top + len(ys) * cs / 2}" font-size="13">{escape(axes[1]["field"])}</text>')
    bx, bh = left + len(xs) * cs + 20, max(cs * len(ys), 80)
    out.append('<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0">' + "".join(
        f'<stop offset="{f}" stop-color="rgb{colour(f)}"/>' for f, _ in STOPS) + "</linearGradient></defs>")
    out.append(f'<rect x="{bx}" y="{top}" width="16" height="{bh}" fill="url(#bar)"/>')
    for f in (0.0, 0.5, 1.0):
        out.append(f'<text x="{bx + 22}" y="{top + (1 - f) * (bh - 1) + 4}" font-size="11">{f:.1f}</text>')
    out.append(f'<text x="{bx}" y="{top + bh + 16}" font-size="11">fraction learned</text></svg>')
    return "\n".join(out).encode()
