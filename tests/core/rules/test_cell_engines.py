"""Online TBPTT(k) and RTRL for every cell: RTRL's gradient and TBPTT(k >= T)'s equal full BPTT by autograd (float64,
the engines' own step functions), the fast engines' gradient equals autograd's in the trainer (float32, all three
cells), the fast TBPTT trains as the autograd loop of the same cell, and a position crosses engines and files."""

import numpy as np
import pytest
import torch

from core.config import Config
from core.gru import cell_math
from core.gru.cells import OneBiasModel
from core.gru.derivatives import Layout, readout_loss
from core.rules.lstm_rnn import rtrl_step, window_backward
from core.train.online import OnlineTrainer

CELLS = ("gru", "lstm", "rnn")


def _double_model(cell, H, seed):
    torch.manual_seed(seed)
    m = OneBiasModel(Config().replace(cell=cell, units=H).model).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.8)
    return m


def _bptt_grad(model, xs, y):
    """Full BPTT by autograd: the gradient of the last step's loss w.r.t. every parameter, flat, float64."""
    s = model.zero_state(1)
    for x in xs:
        h, s, _ = model.step(torch.tensor([[float(x)]], dtype=s.dtype), s)
    loss = ((model.head(h) - y) ** 2).sum()
    return np.concatenate([g.detach().numpy().ravel() for g in torch.autograd.grad(loss, list(model.parameters()))])


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_rtrl_and_full_window_tbptt_equal_bptt_in_float64(cell):
    H, y = 3, 1.0
    xs = [1, 0, 1, 1, 0, 0, 1, 0]
    m = _double_model(cell, H, 4)
    g_ref = _bptt_grad(m, xs, y)
    layout = Layout(H, 1, True, cell)
    w_ih, w_hh, b, w_out, b_out = (p.detach().numpy() for p in m.parameters())
    n = layout.n_rec
    # RTRL: the sensitivity carried forward through every step
    s, S = np.zeros(layout.state_size), np.zeros((layout.state_size, n))
    caches = []
    for x in xs:
        xv = np.array([float(x)])
        _, cache = cell_math.forward(cell, xv, s, w_ih, w_hh, b)
        caches.append(cache)
        s, S = rtrl_step(cell, S, xv, s, w_ih, w_hh, b, layout)
    _, _, dh, dout = readout_loss(s[:H], y, "linear", "mse", w_out, b_out)
    np.testing.assert_allclose(dh @ S[:H], g_ref[:n], rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.concatenate([dout * s[:H], [dout]]), g_ref[n:], rtol=0, atol=1e-10)
    # TBPTT with a window as long as the run: full BPTT
    g = {k: np.empty(v) for k, v in layout.shapes.items()}
    ds = np.zeros(layout.state_size)
    ds[:H] = dh
    window_backward(cell, caches, ds, w_hh, g["W_ih"], g["W_hh"], g["b"])
    np.testing.assert_allclose(np.concatenate([g[k].ravel() for k in ("W_ih", "W_hh", "b")]), g_ref[:n],
                               rtol=0, atol=1e-10)


def _trainer(cell, rule, window=1, engine="fast", units=3):
    cfg = Config().replace(cell=cell, rule=rule, window=window, units=units, lr=0.01, seed=5, init="keras", p=0.5)
    return OnlineTrainer(cfg, engine=engine)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("rule, window", [("rtrl", 1), ("tbptt", 6), ("tbptt", 9)])
def test_the_fast_engines_gradient_is_bptts_in_the_trainer(cell, rule, window):
    """Five steps without updates, then one update: its gradient is full BPTT's through all six (TBPTT(k >= T))."""
    tr = _trainer(cell, rule, window)
    weights = [p.detach().double().clone() for p in tr.model.parameters()]
    xs = [tr.step(train=False).x for _ in range(5)]
    rec = tr.step(train=True)
    ref = tr.model.__class__(tr.cfg.model).double()  # the weights before the update, in float64
    with torch.no_grad():
        for p, w in zip(ref.parameters(), weights):
            p.copy_(w)
    g_ref = _bptt_grad(ref, xs + [rec.x], float(rec.y))
    np.testing.assert_allclose(tr.engine.grad, g_ref, rtol=2e-4, atol=2e-6)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("window", [1, 3])
def test_fast_tbptt_trains_as_the_autograd_loop_of_the_same_cell(cell, window):
    fast, slow = _trainer(cell, "tbptt", window), _trainer(cell, "tbptt", window, engine="autograd")
    for _ in range(40):
        a, b = fast.step(), slow.step()
        assert a.loss == pytest.approx(b.loss, rel=1e-4, abs=1e-6)
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast.h.numpy(), slow.h.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule, window, engines", [("tbptt", 3, ("fast", "autograd")), ("tbptt", 3, ("fast", "fast")),
                                                   ("rtrl", 1, ("fast", "fast"))])
def test_a_position_round_trips_and_crosses_engines(cell, rule, window, engines):
    a = _trainer(cell, rule, window, engine=engines[0])
    for _ in range(25):
        a.step()
    tensors, meta = a.state_dict()
    assert ("c" in tensors) == (cell == "lstm")
    b = _trainer(cell, rule, window, engine=engines[1])
    b.load_state_dict(tensors, meta)
    for _ in range(15):
        ra, rb = a.step(), b.step()
        assert ra.loss == pytest.approx(rb.loss, rel=1e-4, abs=1e-6)
    np.testing.assert_allclose(a.h.numpy(), b.h.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_rtrl_with_the_cell_learns_the_questions_task(cell):
    """Lag 1, online, window-free exact gradient: the cell learns NOT x[t-1] (a sanity check of the whole path)."""
    tr = _trainer(cell, "rtrl", units=4)
    for _ in range(3000):
        tr.step()
    assert tr.evaluate(300)["accuracy"] > 0.95
