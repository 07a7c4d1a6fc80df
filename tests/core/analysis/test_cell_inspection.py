"""What the Inspector and the views read of each cell's step (core.snapshot.ViewWindow's `parts`) equals an
independent recomputation from the model's weights in torch float64: the GRU's r, z, n; the LSTM's i, f, g, o,
c[t-1], c[t]; the simple RNN's pre-activation a. Online (the fast engines and the autograd loop) and batch (the
probe sequence); the LSTM's c reaches the memory probe; the recent window keeps the parts in a session."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.analysis.inspection import analyze
from core.config import preset
from core.snapshot import CELL_PARTS
from core.train.batch import BatchTrainer
from core.train.online import OnlineTrainer
from core.train.views import OnlineStepRings

F64 = torch.float64


def _weights(trainer) -> dict[str, torch.Tensor]:
    """The model's parameters now, as float64 copies (the step about to run reads these)."""
    return {k: v.detach().to(F64).clone() for k, v in trainer.model.named_parameters()}


def recompute(cell: str, w: dict[str, torch.Tensor], x: float, h: np.ndarray, c: np.ndarray | None) -> dict:
    """One step of `cell` written out from the equations of docs/cells.md, float64, from (x, h[t-1], c[t-1])."""
    xv = torch.tensor([x], dtype=F64)
    hv = torch.as_tensor(np.asarray(h, np.float64))
    H = len(hv)
    if cell == "gru":
        gi = w["gru.weight_ih_l0"] @ xv + w["gru.bias_ih_l0"]
        gh = w["gru.weight_hh_l0"] @ hv + w["gru.bias_hh_l0"]
        r = torch.sigmoid(gi[:H] + gh[:H])
        z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
        out = {"r": r, "z": z, "n": n, "h": (1 - z) * n + z * hv}
    else:
        a = w["weight_ih"] @ xv + w["weight_hh"] @ hv + w["bias"]
        if cell == "rnn":
            out = {"a": a, "h": torch.tanh(a)}
        else:
            cv = torch.as_tensor(np.asarray(c, np.float64))
            i, f, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), torch.sigmoid(a[3 * H:])
            g = torch.tanh(a[2 * H:3 * H])
            c_new = f * cv + i * g
            out = {"i": i, "f": f, "g": g, "o": o, "c_prev": cv, "c": c_new, "h": o * torch.tanh(c_new)}
    return {k: v.numpy() for k, v in out.items()}


def _cfg(cell: str, rule: str = "tbptt", window: int = 1):
    return preset("question-fixed").replace(cell=cell, rule=rule, window=window, units=5, lag=2, lr=0.02, seed=3)


@pytest.mark.parametrize("engine", ["fast", "autograd"])
@pytest.mark.parametrize("cell,rule", [("lstm", "tbptt"), ("lstm", "rtrl"), ("rnn", "tbptt"), ("rnn", "rtrl"),
                                       ("gru", "tbptt")])
def test_online_parts_equal_a_float64_recomputation(cell, rule, engine):
    if engine == "autograd" and rule != "tbptt":
        pytest.skip("the autograd loop runs tbptt only")
    tr = OnlineTrainer(_cfg(cell, rule), engine=engine)
    for _ in range(40):  # trained weights, a state away from zero
        tr.advance()
    tensors, _ = tr.state_dict()  # the carried state the step reads: h, and the LSTM's c
    h0 = tensors["h"][0].double().numpy()
    c0 = tensors["c"][0].double().numpy() if cell == "lstm" else None
    w = _weights(tr)
    rec = tr.advance()  # trains: the view must show the step as computed, with the weights before its update
    v = tr.view(10)
    assert v.cell == cell and list(v.parts) == list(CELL_PARTS[cell])
    want = recompute(cell, w, float(rec.x), h0, c0)
    np.testing.assert_allclose(v.h_prev[-1], h0, atol=1e-6)
    np.testing.assert_allclose(v.h[-1], want["h"], atol=1e-5)
    for k in CELL_PARTS[cell]:
        np.testing.assert_allclose(v.layer(k)[-1], want[k], atol=1e-5, err_msg=k)
    for k in CELL_PARTS[cell]:
        assert np.isfinite(v.parts[k]).all(), k
    if cell != "gru":
        with pytest.raises(KeyError):
            v.layer("r")  # no GRU gate is ever read from another cell


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_long_window_parts_are_the_last_cells_own(cell):
    """TBPTT(3) recomputes the window: the parts are the step's own cell, from the state it read (h_prev, and
    the LSTM's recorded c[t-1]) with the weights before the update."""
    tr = OnlineTrainer(_cfg(cell, "tbptt", window=3))
    for _ in range(30):
        tr.advance()
    w = _weights(tr)
    rec = tr.advance()
    v = tr.view(5)
    c_prev = v.parts["c_prev"][-1] if cell == "lstm" else None
    want = recompute(cell, w, float(rec.x), v.h_prev[-1], c_prev)
    for k in (*CELL_PARTS[cell], "h"):
        np.testing.assert_allclose(v.layer(k)[-1], want[k], atol=1e-5, err_msg=k)


@pytest.mark.parametrize("cell", ["lstm", "rnn", "gru"])
def test_batch_probe_parts_equal_a_float64_recomputation(cell):
    cfg = preset("answer").replace(cell=cell, units=3, n_sequences=40, seq_len=20, epochs=1, seed=2)
    tr = BatchTrainer(cfg, probe_len=30)
    w = _weights(tr)
    v = tr.view(30)
    assert v.cell == cell and list(v.parts) == list(CELL_PARTS[cell])
    h, c = np.zeros(3), np.zeros(3)
    for t in range(12):  # the probe runs from a zero state: recompute up to timestep 12
        want = recompute(cell, w, float(v.x[t]), h, c)
        h, c = want["h"], want.get("c", c)
    for k in CELL_PARTS[cell]:
        np.testing.assert_allclose(v.layer(k)[11], want[k], atol=1e-5, err_msg=k)
    np.testing.assert_allclose(v.h[11], want["h"], atol=1e-5)


def test_the_lstm_memory_probe_reads_h_and_c():
    tr = OnlineTrainer(_cfg("lstm"))
    for _ in range(60):
        tr.advance()
    aw = tr.analysis_window(np.zeros(0), np.zeros(0))
    np.testing.assert_array_equal(aw.c, tr.view(60).parts["c"])
    a = analyze(tr.cfg, tr.t, aw.x, aw.h, aw.losses, aw.correct, t0=aw.t0, c=aw.c)
    assert a.probe_reads == "h[t] and c[t]" and a.probe is not None
    assert analyze(tr.cfg, tr.t, aw.x, aw.h, aw.losses, aw.correct, t0=aw.t0).probe_reads == "h[t]"
    rnn = OnlineTrainer(_cfg("rnn"))
    for _ in range(20):
        rnn.advance()
    assert rnn.analysis_window(np.zeros(0), np.zeros(0)).c is None


def test_recent_window_keeps_the_cells_parts_and_opens_an_older_file():
    tr = OnlineTrainer(_cfg("lstm"))
    for _ in range(25):
        tr.advance()
    saved = tr.view_history()
    assert {f"ring.{k}" for k in CELL_PARTS["lstm"]} <= set(saved) and "ring.r" not in saved
    back = OnlineStepRings(5, cell="lstm")
    back.load_history(saved)
    for k, a in back.last().items():
        np.testing.assert_array_equal(a, saved[f"ring.{k}"])
    older = {k: v for k, v in saved.items() if k.removeprefix("ring.") not in CELL_PARTS["lstm"]}
    back.load_history(older)  # an LSTM file from before the parts were recorded: they open as not recorded
    assert len(back) == 25 and np.isnan(back.last()["i"]).all()
