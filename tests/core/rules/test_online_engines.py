"""The fast NumPy TBPTT engine retraces the autograd loop; the model shares its weights; checkpoints cross engines."""

import numpy as np
import pytest
import torch

from core.config import preset
from core.train.online import OnlineTrainer


@pytest.mark.parametrize("window", [1, 4])
@pytest.mark.parametrize("opt", ["adam", "sgd"])
@pytest.mark.parametrize("readout", ["linear", "raw"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_fast_tbptt_retraces_autograd(window, opt, readout, loss):
    cfg = preset("question-fixed").replace(lag=2, window=window, optimizer=opt, readout=readout, loss=loss,
                                           lr=1e-2 if opt == "sgd" else 1e-3, seed=window)
    a, b = OnlineTrainer(cfg, engine="autograd"), OnlineTrainer(cfg)
    assert b.engine.name == "fast" and a.engine.name == "autograd"
    for i in range(300):
        ra, rb = a.step(), b.step()
        assert (ra.t, ra.x, ra.y, ra.updated) == (rb.t, rb.x, rb.y, rb.updated)
        assert abs(ra.y_hat - rb.y_hat) < 1e-5 and abs(ra.loss - rb.loss) < 1e-5, i
        for f in ("h_prev", "h"):
            np.testing.assert_allclose(getattr(ra, f), getattr(rb, f), atol=1e-5, err_msg=f)
        assert list(ra.parts) == list(rb.parts) == ["r", "z", "n"]
        for f in ra.parts:
            np.testing.assert_allclose(ra.parts[f], rb.parts[f], atol=1e-5, err_msg=f)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-5)
    ea, eb = a.evaluate(100), b.evaluate(100)
    assert ea["accuracy"] == eb["accuracy"] and ea["loss"] == pytest.approx(eb["loss"], abs=1e-5)


@pytest.mark.parametrize("rule", ["tbptt", "rtrl"])
def test_model_shares_the_engine_weights(rule):
    tr = OnlineTrainer(preset("question-fixed").replace(rule=rule))
    for _ in range(50):
        tr.step()
    flat = np.concatenate([p.detach().numpy().ravel() for p in tr.model.parameters()])
    np.testing.assert_array_equal(flat, tr.engine.theta)  # the model always holds the current weights
    with torch.no_grad():  # in-place writes to the model reach the engine
        tr.model.readout.bias.fill_(0.25)
    assert tr.engine.b_out[0] == np.float32(0.25)
    # restoring a position writes into the shared memory: the model still is the engine's view
    tensors, meta = tr.state_dict()
    tensors["model.gru.bias_hh_l0"] = torch.ones_like(tensors["model.gru.bias_hh_l0"])
    tr.load_state_dict(tensors, meta)
    assert (tr.engine.b_hh == 1).all()
    assert tr.model.gru.weight_hh_l0.data_ptr() == tr.engine.w_hh.ctypes.data
    # replacing a parameter's storage would split model and engine: saving such a trainer is refused
    tr.model.gru.weight_hh_l0.data = torch.zeros_like(tr.model.gru.weight_hh_l0)
    with pytest.raises(RuntimeError, match="no longer share"):
        tr.state_dict()


def test_lr_applies_live_to_the_fast_engine():
    tr = OnlineTrainer(preset("question-fixed").replace(optimizer="sgd"))
    tr.set_lr(1e-30)
    before = tr.engine.theta.copy()
    for _ in range(20):
        tr.step()
    np.testing.assert_allclose(tr.engine.theta, before, atol=1e-20)
    tr.set_lr(0.5)
    tr.step()
    assert np.abs(tr.engine.theta - before).max() > 1e-4


@pytest.mark.parametrize("src,dst", [("fast", "autograd"), ("autograd", "fast")])
@pytest.mark.parametrize("window", [1, 3])
def test_checkpoint_loads_into_the_other_engine(src, dst, window):
    cfg = preset("question-fixed").replace(lag=2, window=window)
    a = OnlineTrainer(cfg, engine=src)
    for _ in range(200):
        a.step()
    tensors, meta = a.state_dict()
    b = OnlineTrainer(cfg.replace(seed=9), engine=dst)
    b.load_state_dict(tensors, meta)
    for _ in range(100):
        ra, rb = a.step(), b.step()
        assert ra.x == rb.x and abs(ra.y_hat - rb.y_hat) < 1e-5


@pytest.mark.parametrize("engine", ["fast", "autograd"])
def test_round_trip_is_exact_for_each_engine(engine):
    cfg = preset("question-fixed").replace(window=2, lag=2)
    a = OnlineTrainer(cfg, engine=engine)
    for _ in range(150):
        a.step()
    tensors, meta = a.state_dict()
    b = OnlineTrainer(cfg.replace(seed=77), engine=engine)
    b.load_state_dict(tensors, meta)
    assert [a.step().y_hat for _ in range(50)] == [b.step().y_hat for _ in range(50)]
    assert b.lr == cfg.train.lr


@pytest.mark.parametrize("rule", ["tbptt", "rtrl"])
def test_model_forward_reproduces_the_records(rule):
    """Code that runs `trainer.model` (probes, the GUI) sees the current weights: nn.GRU over the next inputs
    retraces the engine's own states."""
    tr = OnlineTrainer(preset("question-fixed").replace(rule=rule, lag=2))
    for _ in range(500):
        tr.step()
    recs = [tr.step(train=False) for _ in range(50)]
    xs = torch.tensor([[float(r.x)] for r in recs])[None]
    with torch.no_grad():
        out, hT = tr.model(xs, torch.from_numpy(recs[0].h_prev)[None])
    np.testing.assert_allclose(hT[0].numpy(), recs[-1].h, atol=1e-5)
    np.testing.assert_allclose(out[0, :, 0].numpy(), [r.y_hat for r in recs], atol=1e-5)


def test_sensitivity_views_cover_each_units_own_entries():
    """sensitivity_step's views: W_ih's and W_hh's own-unit entries, and both biases' as one (6, H) view whose rows
    are b_ih's then b_hh's (gru_math.diagonal_views' last two)."""
    from core.gru.derivatives import Layout, diagonal_views
    from core.rules.tbptt_rtrl import sensitivity_views

    lay = Layout(5)
    S = np.zeros((5, lay.n_rec), np.float32)
    w_ih, w_hh, b = sensitivity_views(S, lay)
    b += np.arange(30, dtype=np.float32).reshape(6, 5) + 1
    ref = np.zeros_like(S)
    _, _, b_ih, b_hh = diagonal_views(ref, lay)
    b_ih += np.arange(15, dtype=np.float32).reshape(3, 5) + 1
    b_hh += np.arange(15, 30, dtype=np.float32).reshape(3, 5) + 1
    np.testing.assert_array_equal(S, ref)
    assert w_ih.shape == (3, 5, 1) and w_hh.shape == (3, 5, 5)
