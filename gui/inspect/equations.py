"""Each cell's equations with one step's values filled in, for one unit, and the columns of its per-unit table
(docs/cells.md): the GRU's r, z, n; the LSTM's four gates i, f, g, o and its cell state c[t−1] → c[t]; the simple
RNN's one tanh of its pre-activation. The values are a snapshot's (core.snapshot.ViewWindow.parts), computed in
core; nothing here computes a statistic. A value the run did not record (a file saved before it was) shows as "—"."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from core.snapshot import GATE_PARTS

MISSING = "—"

# The table's columns per cell: (header, the ViewWindow layer it shows).
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "gru": (("h[t−1]", "h_prev"), ("r", "r"), ("z", "z"), ("n", "n"), ("h[t]", "h")),
    "lstm": (("h[t−1]", "h_prev"), ("c[t−1]", "c_prev"), ("i", "i"), ("f", "f"), ("g", "g"), ("o", "o"),
             ("c[t]", "c"), ("h[t]", "h")),
    "rnn": (("h[t−1]", "h_prev"), ("a", "a"), ("h[t]", "h")),
}


def is_gate(layer: str) -> bool:
    """A sigmoid gate, in (0, 1) (shaded from 0); every other column is centred on 0."""
    return layer in GATE_PARTS


def cell_value(v: float) -> str:
    """A table cell: signed, 3 decimals; "—" for a value not recorded (never "nan")."""
    return f"{v:+.3f}" if math.isfinite(v) else MISSING


def _v(v: float) -> str:
    """A plain value in an equation: 3 decimals, a true minus sign; "—" when not recorded."""
    return f"{v:.3f}".replace("-", "−") if math.isfinite(v) else MISSING


def _p(v: float) -> str:
    """A factor in a product: negatives in parentheses."""
    return f"({_v(v)})" if math.isfinite(v) and v < 0 else _v(v)


def _gru(q: Callable[[str], float], u: int) -> list[tuple[str, str]]:
    r, z, n, hp, h = q("r"), q("z"), q("n"), q("h_prev"), q("h")
    return [
        ("r = σ(W<sub>ir</sub>x + b<sub>ir</sub> + W<sub>hr</sub>h[t−1] + b<sub>hr</sub>)",
         f"r<sub>{u}</sub> = {_v(r)}"),
        ("z = σ(W<sub>iz</sub>x + b<sub>iz</sub> + W<sub>hz</sub>h[t−1] + b<sub>hz</sub>)",
         f"z<sub>{u}</sub> = {_v(z)}"),
        ("n = tanh(W<sub>in</sub>x + b<sub>in</sub> + r ⊙ (W<sub>hn</sub>h[t−1] + b<sub>hn</sub>))",
         f"n<sub>{u}</sub> = {_v(n)}"),
        ("h[t] = (1 − z) ⊙ n + z ⊙ h[t−1]",
         f"h<sub>{u}</sub> = (1 − {_v(z)})·{_p(n)} + {_v(z)}·{_p(hp)} = <b>{_v(h)}</b>"),
    ]


def _lstm(q: Callable[[str], float], u: int) -> list[tuple[str, str]]:
    i, f, g, o, cp, c, h = (q(k) for k in ("i", "f", "g", "o", "c_prev", "c", "h"))
    return [  # one pre-activation a = W x + U h[t−1] + b (one bias, as Keras's), in four blocks
        ("a = W x + U h[t−1] + b", "blocks a<sub>i</sub>, a<sub>f</sub>, a<sub>g</sub>, a<sub>o</sub>"),
        ("i = σ(a<sub>i</sub>)", f"i<sub>{u}</sub> = {_v(i)}"),
        ("f = σ(a<sub>f</sub>)", f"f<sub>{u}</sub> = {_v(f)}"),
        ("g = tanh(a<sub>g</sub>)", f"g<sub>{u}</sub> = {_v(g)}"),
        ("o = σ(a<sub>o</sub>)", f"o<sub>{u}</sub> = {_v(o)}"),
        ("c[t] = f ⊙ c[t−1] + i ⊙ g",
         f"c<sub>{u}</sub> = {_v(f)}·{_p(cp)} + {_v(i)}·{_p(g)} = <b>{_v(c)}</b>"),
        ("h[t] = o ⊙ tanh(c[t])", f"h<sub>{u}</sub> = {_v(o)}·tanh({_v(c)}) = <b>{_v(h)}</b>"),
    ]


def _rnn(q: Callable[[str], float], u: int) -> list[tuple[str, str]]:
    a, h = q("a"), q("h")
    return [
        ("a = W x + U h[t−1] + b", f"a<sub>{u}</sub> = {_v(a)}"),
        ("h[t] = tanh(W x + U h[t−1] + b) = tanh(a)", f"h<sub>{u}</sub> = tanh({_v(a)}) = <b>{_v(h)}</b>"),
    ]


EQUATIONS = {"gru": _gru, "lstm": _lstm, "rnn": _rnn}


def equations_html(view, row: int, u: int) -> str:
    """The cell's equations (view.cell) as an HTML table, each with unit u's values at `row` of the view window;
    a note when the step's values were not recorded."""
    def q(layer: str) -> float:
        return float(view.layer(layer)[row, u])

    lines = EQUATIONS[view.cell](q, u)
    rows = "".join(f"<tr><td style='white-space:nowrap'>{eq}</td><td>{vals}</td></tr>" for eq, vals in lines)
    text = f"<table cellspacing='2'>{rows}</table>"
    if any(not np.isfinite(view.layer(k)[row]).all() for _, k in COLUMNS[view.cell]):
        text += f"<p><i>{MISSING}: not recorded for this step (a file saved before this cell's values were).</i></p>"
    return text
