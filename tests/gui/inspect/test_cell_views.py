"""Each cell's step made visible (issue 25, 2): the Inspector shows the chosen cell's equations with this step's
values (equal to a float64 recomputation from the model's weights) and a table of that cell's columns, never
'nan'; the heatmap offers that cell's layers; the config panel's one note says why Reset refuses a cell."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.config import Config, preset  # noqa: E402
from core.snapshot import CELL_PARTS  # noqa: E402
from core.train.online import OnlineTrainer  # noqa: E402
from gui.app_state import AppState  # noqa: E402
from gui.inspect.inspector import Inspector  # noqa: E402
from gui.plots import views  # noqa: E402
from gui.plots.views import HiddenView  # noqa: E402
from gui.window.config_panel import ConfigPanel  # noqa: E402
from tests.core.analysis.test_cell_inspection import recompute  # noqa: E402

EQUATIONS = {"lstm": ("c[t] = f ⊙ c[t−1] + i ⊙ g", "h[t] = o ⊙ tanh(c[t])", "i = σ(", "f = σ(", "g = tanh(",
                      "o = σ("),
             "rnn": ("h[t] = tanh(W x + U h[t−1] + b)",),
             "gru": ("h[t] = (1 − z) ⊙ n + z ⊙ h[t−1]", "r = σ(", "z = σ(", "n = tanh(")}


def _snapshot(cell: str, steps: int = 30):
    """A live run's snapshot of `steps` online steps, and the recomputation of its last step from the weights
    the step read (float64, tests.core.analysis.test_cell_inspection.recompute)."""
    cfg = preset("question-fixed").replace(cell=cell, units=4, lag=2, lr=0.02, seed=7)
    tr = OnlineTrainer(cfg)
    for _ in range(steps - 1):
        tr.advance()
    tensors, _ = tr.state_dict()
    h0 = tensors["h"][0].double().numpy()
    c0 = tensors["c"][0].double().numpy() if cell == "lstm" else None
    w = {k: v.detach().double().clone() for k, v in tr.model.named_parameters()}
    rec = tr.advance()
    want = recompute(cell, w, float(rec.x), h0, c0) | {"h_prev": h0}
    ro = tr.model.readout
    s = SimpleNamespace(view=tr.view(20), config=cfg.to_dict(), mode="online", fidelity_window=None,
                        readout=(ro.weight.detach().numpy()[0].copy(), float(ro.bias.detach())))
    return s, want


def _v(v: float) -> str:
    return f"{v:.3f}".replace("-", "−")


def _p(v: float) -> str:
    return f"({_v(v)})" if v < 0 else _v(v)


def lines(cell: str, q: dict, u: int) -> list[str]:
    """Unit u's filled-in values as the Inspector must write them, from the recomputation q."""
    b = {k: _v(q[k][u]) for k in q}
    p = {k: _p(q[k][u]) for k in q}
    gates = [f"{k}<sub>{u}</sub> = {b[k]}" for k in CELL_PARTS[cell] if k not in ("c_prev", "c")]
    if cell == "lstm":
        return gates + [f"c<sub>{u}</sub> = {b['f']}·{p['c_prev']} + {b['i']}·{p['g']} = <b>{b['c']}</b>",
                        f"h<sub>{u}</sub> = {b['o']}·tanh({b['c']}) = <b>{b['h']}</b>"]
    if cell == "rnn":
        return gates + [f"h<sub>{u}</sub> = tanh({b['a']}) = <b>{b['h']}</b>"]
    return gates + [f"h<sub>{u}</sub> = (1 − {b['z']})·{p['n']} + {b['z']}·{p['h_prev']} = <b>{b['h']}</b>"]


HEADERS = {"lstm": [("h[t−1]", "h_prev"), ("c[t−1]", "c_prev"), ("i", "i"), ("f", "f"), ("g", "g"), ("o", "o"),
                    ("c[t]", "c"), ("h[t]", "h")],
           "rnn": [("h[t−1]", "h_prev"), ("a", "a"), ("h[t]", "h")],
           "gru": [("h[t−1]", "h_prev"), ("r", "r"), ("z", "z"), ("n", "n"), ("h[t]", "h")]}


def _table(ins: Inspector) -> list[list[str]]:
    t = ins.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_inspector_shows_the_cells_equations_and_columns(qtbot, cell):
    s, want = _snapshot(cell)
    ins = Inspector()
    qtbot.addWidget(ins)
    ins.set_snapshot(s)
    ins.unit.setValue(1)
    text = ins.eq.text()
    for eq in EQUATIONS[cell]:
        assert eq in text, eq
    others = {c for c in EQUATIONS if c != cell}
    assert not any(EQUATIONS[o][0] in text for o in others)  # no other cell's equation
    headers = [ins.table.horizontalHeaderItem(c).text() for c in range(ins.table.columnCount())]
    assert headers == [head for head, _ in HEADERS[cell]]
    for line in lines(cell, want, 1):  # this step's values, unit 1, as the float64 recomputation has them
        assert line in text, line
    rows = _table(ins)
    for c, (head, key) in enumerate(HEADERS[cell]):
        assert [float(r[c]) for r in rows] == pytest.approx(want[key], abs=1.5e-3), head
    assert "nan" not in text.lower() and not any("nan" in v.lower() for r in rows for v in r)
    assert "nan" not in ins.head.text().lower()


def test_a_step_not_recorded_shows_a_dash_never_nan(qtbot):
    s, _ = _snapshot("lstm")
    parts = {k: np.full_like(v, np.nan) for k, v in s.view.parts.items()}  # an LSTM file saved before parts
    s.view = type(s.view)(**{**s.view.__dict__, "parts": parts})
    ins = Inspector()
    qtbot.addWidget(ins)
    ins.set_snapshot(s)
    text = ins.eq.text()
    assert "c[t] = f ⊙ c[t−1] + i ⊙ g" in text and "not recorded" in text and "nan" not in text.lower()
    rows = _table(ins)
    assert rows[0][2] == "—" and not any("nan" in v.lower() for r in rows for v in r)


def test_heatmap_offers_the_cells_layers(qtbot):
    hv = HiddenView()
    qtbot.addWidget(hv)
    lstm, _ = _snapshot("lstm")
    hv.set_layer("z")  # a GRU layer asked for before any run: waits for a cell that has it
    hv.show_snapshot(lstm)
    assert hv.layers() == ["h", "c", "i", "f", "g", "o"] and hv.layer == "h"
    hv.set_layer("c")
    assert hv.layer == "c" and "cell state c" in hv.plot.titleLabel.text
    np.testing.assert_array_equal(hv.img.image, lstm.view.parts["c"])
    rnn, _ = _snapshot("rnn")
    hv.show_snapshot(rnn)
    assert hv.layers() == ["h"] and hv.layer == "h"
    np.testing.assert_array_equal(hv.img.image, rnn.view.h)
    gru, _ = _snapshot("gru")
    hv.set_layer("f")  # the LSTM's forget gate, asked for while an RNN is shown
    hv.show_snapshot(gru)
    assert hv.layers() == ["h", "n", "z", "r"] and hv.layer == "h"
    hv.show_snapshot(lstm)
    assert hv.layer == "f"  # taken once a cell with it is shown
    np.testing.assert_array_equal(hv.img.image, lstm.view.parts["f"])


def test_the_view_menus_heatmap_layers_are_the_shown_cells(qtbot):
    """View ▸ Heatmap layer lists the shown cell's layers each time it opens (it was fixed to the GRU's h, n, z, r,
    which did nothing for an LSTM) and switches the heatmap."""
    from PySide6.QtWidgets import QMenu

    hv = HiddenView()
    qtbot.addWidget(hv)
    menu = QMenu()
    hv.fill_layer_menu(menu)
    lstm, _ = _snapshot("lstm")
    hv.show_snapshot(lstm)
    menu.aboutToShow.emit()
    acts = menu.actions()
    assert [a.text() for a in acts] == [f"{views.LAYERS[k][0]} ({k})" for k in ("h", "c", "i", "f", "g", "o")]
    acts[1].trigger()
    assert hv.layer == "c"
    menu.aboutToShow.emit()
    assert [a.isChecked() for a in menu.actions()] == [False, True, False, False, False, False]


def test_config_panel_offers_the_cell_and_says_why_reset_refuses(qtbot):
    panel = ConfigPanel(AppState(Config()))
    qtbot.addWidget(panel)
    box = panel.widgets["cell"]
    assert [box.itemData(i) for i in range(box.count())] == ["gru", "lstm", "rnn"]
    panel.set_value("fidelity", True)
    panel.set_value("cell", "lstm")
    assert panel.pending.isVisibleTo(panel)
    assert panel.pending.text() == ("Reset refuses this: gradient fidelity's shadow RTRL runs the GRU only today, "
                                    "not cell lstm (docs/cells.md).")
    panel.set_value("fidelity", False)
    assert panel.pending.text().startswith("Changed: ") and "refuses" not in panel.pending.text()
