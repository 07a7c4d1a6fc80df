"""Keras's initialisation (init = keras), its weight layout mapped to ours, Adam's epsilon, the validation split
taken from the end as Keras takes it, and the answer's printed loss/val_loss blocks."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from core.config import Config, ConfigError, ModelConfig, preset
from core.gru.model import GRUModel, glorot_uniform, keras_gru_weights, keras_to_torch, orthogonal
from core.runs.headless import block_ends, history_blocks, train
from core.tasks import keras_split_at, make_dataset
from core.train.batch import BatchTrainer

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "keras_gru_reference.json"


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def keras_gru_step(x, h, kernel, recurrent_kernel, bias):
    """One step of Keras's GRUCell (reset_after=True), written from its formulation: blocks (z, r, h)."""
    u = recurrent_kernel.shape[0]
    mx = x @ kernel + bias[0]
    mh = h @ recurrent_kernel + bias[1]
    z = sigmoid(mx[:, :u] + mh[:, :u])
    r = sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
    hh = np.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
    return z * h + (1 - z) * hh


def load_keras(model: GRUModel, kernel, recurrent_kernel, bias) -> None:
    with torch.no_grad():
        for name, value in keras_to_torch(kernel, recurrent_kernel, bias).items():
            getattr(model.gru, name).copy_(torch.as_tensor(value))


# -- the draws ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("units", [1, 2, 5, 16])
def test_recurrent_kernel_is_one_matrix_with_orthonormal_rows(units):
    torch.manual_seed(units)
    rk = keras_gru_weights(units)["recurrent_kernel"]
    assert rk.shape == (units, 3 * units)
    np.testing.assert_allclose(rk @ rk.T, np.eye(units), atol=1e-12)
    if units > 1:  # one matrix, not three orthogonal blocks: a single gate's block is not orthogonal
        blk = rk[:, :units]
        assert not np.allclose(blk @ blk.T, np.eye(units), atol=1e-3)


def test_orthogonal_is_keras_recipe_and_tall_case_has_orthonormal_columns():
    g = torch.Generator().manual_seed(5)
    a = torch.randn((6, 2), generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    expect = (q * torch.sign(torch.diagonal(r))).t()
    got = orthogonal(2, 6, torch.Generator().manual_seed(5))
    torch.testing.assert_close(got, expect)
    tall = orthogonal(7, 3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(tall.t() @ tall, torch.eye(3, dtype=torch.float64))


def test_glorot_bounds_and_roughly_uniform():
    g = torch.Generator().manual_seed(0)
    w = glorot_uniform((200, 300), 200, 300, g).numpy()
    limit = math.sqrt(6 / 500)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    hist, _ = np.histogram(w, bins=10, range=(-limit, limit))
    assert hist.min() > 0.9 * w.size / 10 and hist.max() < 1.1 * w.size / 10  # flat within 10%
    assert abs(w.mean()) < 0.01 * limit
    np.testing.assert_allclose(w.var(), limit ** 2 / 3, rtol=0.02)


def test_keras_model_bounds_zero_biases_and_33_parameters():
    torch.manual_seed(0)
    m = GRUModel(ModelConfig(units=2, readout="linear", init="keras"))
    assert m.n_params() == 33  # 3*2*1 + 3*2*2 + 2*3*2 (reset_after: two biases) + 2 + 1
    lim_k, lim_out = math.sqrt(6 / (1 + 6)), math.sqrt(6 / (2 + 1))
    assert m.gru.weight_ih_l0.abs().max() <= lim_k
    assert m.readout.weight.abs().max() <= lim_out
    for b in (m.gru.bias_ih_l0, m.gru.bias_hh_l0, m.readout.bias):
        assert torch.count_nonzero(b) == 0
    # the recurrent weights, put back in Keras's layout (H, 3H) with blocks (z, r, h), have orthonormal rows
    w = m.gru.weight_hh_l0.detach().double().numpy()
    r, z, n = np.split(w, 3, axis=0)
    rk = np.concatenate([z, r, n], axis=0).T
    np.testing.assert_allclose(rk @ rk.T, np.eye(2), atol=1e-6)


def test_keras_init_over_many_draws_fills_the_glorot_range():
    torch.manual_seed(1)
    ws = np.concatenate([GRUModel(ModelConfig(units=16, init="keras")).gru.weight_ih_l0.detach().numpy().ravel()
                         for _ in range(40)])
    limit = math.sqrt(6 / (1 + 48))
    assert np.abs(ws).max() <= limit and np.abs(ws).max() > 0.98 * limit
    np.testing.assert_allclose(ws.var(), limit ** 2 / 3, rtol=0.1)


def test_torch_init_is_unchanged_by_default():
    torch.manual_seed(0)
    a = GRUModel(ModelConfig(units=4))
    torch.manual_seed(0)
    ref = torch.nn.GRU(1, 4, batch_first=True)
    torch.testing.assert_close(a.gru.weight_hh_l0, ref.weight_hh_l0)


# -- the mapping ------------------------------------------------------------------------------------------
def test_keras_step_equals_our_step_under_the_mapping():
    rng = np.random.default_rng(0)
    units = 3
    kernel, rk = rng.normal(size=(1, 3 * units)), rng.normal(size=(units, 3 * units))
    bias = rng.normal(size=(2, 3 * units))  # non-zero, so a bias mix-up shows
    m = GRUModel(ModelConfig(units=units)).double()
    load_keras(m, kernel, rk, bias)
    h = np.zeros((1, units))
    xs = rng.integers(0, 2, size=30).astype(np.float64)
    for x in xs:
        want = keras_gru_step(np.array([[x]]), h, kernel, rk, bias)
        got = m.cell(torch.tensor([[x]]), torch.as_tensor(h)).h.detach().numpy()
        np.testing.assert_allclose(got, want, atol=1e-12)
        h = want
    out, _ = m.gru(torch.as_tensor(xs).reshape(1, -1, 1))
    np.testing.assert_allclose(out[0, -1].detach().numpy(), h[0], atol=1e-12)


def test_recorded_keras_predictions_are_reproduced():
    """Weights and outputs recorded from TensorFlow's own GRU + Conv1D (tests/data/keras_gru_reference.json)."""
    ref = json.loads(REFERENCE.read_text())
    m = GRUModel(ModelConfig(units=2)).double()
    load_keras(m, ref["kernel"], ref["recurrent_kernel"], ref["bias"])
    with torch.no_grad():
        m.readout.weight.copy_(torch.tensor(ref["conv_kernel"], dtype=torch.float64)[0].T)
        m.readout.bias.copy_(torch.tensor(ref["conv_bias"], dtype=torch.float64))
        out, _ = m(torch.tensor(ref["x"], dtype=torch.float64).unsqueeze(-1))
    np.testing.assert_allclose(out[..., 0].numpy(), np.array(ref["y"]), atol=2e-5)


# -- optimizer, presets, the split --------------------------------------------------------------------------
def test_adam_eps_reaches_both_trainers_and_is_validated():
    cfg = preset("answer").replace(n_sequences=100, epochs=1)
    assert cfg.train.adam_eps == 1e-7 and cfg.model.init == "keras"
    assert BatchTrainer(cfg).opt.param_groups[0]["eps"] == 1e-7
    from core.train.online import OnlineTrainer

    tr = OnlineTrainer(preset("question-fixed").replace(adam_eps=3e-6))
    assert tr.engine.opt.eps == 3e-6  # the online trainer has one optimizer: its engine's
    assert Config().train.adam_eps == 1e-8 and Config().model.init == "torch"
    with pytest.raises(ConfigError, match="adam_eps"):
        Config().replace(adam_eps=0.0)
    with pytest.raises(ConfigError, match="model.init"):
        Config().replace(init="he")


def test_answer_preset_is_the_answers_script():
    c = preset("answer")
    assert (c.task.kind, c.task.p, c.task.lag) == ("not", 0.5, 0)
    assert (c.model.units, c.model.readout, c.model.init) == (2, "linear", "keras")
    t = c.train
    assert (t.mode, t.n_sequences, t.seq_len, t.batch_size, t.epochs) == ("batch", 10000, 32, 512, 50)
    assert (t.optimizer, t.lr, t.adam_eps, t.loss, t.validation_split, t.shuffle) == (
        "adam", 1e-3, 1e-7, "mse", 0.1, True)
    for name in ("question", "question-fixed"):
        q = preset(name)
        assert (q.task.p, q.task.lag, q.model.units, q.train.mode, q.train.window, q.model.init) == (
            0.25, 1, 16, "online", 1, "keras")


def test_validation_is_the_last_ten_percent_unshuffled():
    cfg = preset("answer").task
    full = make_dataset(cfg, 10000, 32, 0.0, seed=4)
    d = make_dataset(cfg, 10000, 32, 0.1, seed=4)
    assert len(d.x_train) == 9000 and len(d.x_val) == 1000
    np.testing.assert_array_equal(d.x_val, full.x_train[9000:])  # the last samples, in order
    np.testing.assert_array_equal(d.x_train, full.x_train[:9000])
    np.testing.assert_array_equal(d.y_val, 1 - d.x_val)  # target 1 - x
    assert keras_split_at(10, 0.15) == 8  # Keras: floor(n * (1 - split)) train samples
    tr = BatchTrainer(preset("answer").replace(n_sequences=200, epochs=2, seed=4))
    x_val = tr.x_val.clone()
    perms = []
    for _ in range(2):
        perms.append(tr._perm.clone())
        tr.run_epoch()
    torch.testing.assert_close(tr.x_val, x_val)  # validation untouched by training
    assert not torch.equal(perms[0], perms[1])  # training order reshuffled each epoch
    assert sorted(perms[0].tolist()) == list(range(180))


# -- the printed blocks ---------------------------------------------------------------------------------------
def test_history_blocks_format():
    hist = {"loss": [1.13712, 0.5, 0.25] + [0.1] * 47, "val_loss": [1.0] * 49 + [0.0104]}
    lines = history_blocks(hist, 10)
    assert lines[0] == "epochs 1-10:"
    assert lines[1] == "loss: [1.137 0.5   0.25  0.1   0.1   0.1   0.1   0.1   0.1   0.1  ]"
    assert lines[2].startswith("val_loss: [1. 1.")
    last = history_blocks(hist, 50)
    assert last[0] == "epochs 41-50:" and last[2].endswith("0.01]")
    assert block_ends(50) == (10, 50) and block_ends(7) == (7,)


def test_train_prints_the_two_blocks_and_switchable_epoch_lines():
    lines = []
    cfg = preset("answer").replace(n_sequences=60, batch_size=30, epochs=12)
    train(cfg, out=lines.append, epoch_lines=False)
    assert [ln for ln in lines if ln.startswith("epochs")] == ["epochs 1-10:", "epochs 3-12:"]
    vals = [ln for ln in lines if ln.startswith(("loss:", "val_loss:"))]
    assert len(vals) == 4
    for ln in vals:
        nums = re.findall(r"\d+\.\d*", ln)
        assert len(nums) == 10 and all(len(v.split(".")[1]) <= 3 for v in nums)
    assert not any(ln.startswith("Epoch ") for ln in lines)
    more = []
    train(cfg.replace(epochs=2), out=more.append)
    assert sum(ln.startswith("Epoch ") for ln in more) == 2


def test_keras_model_builds_on_the_meta_device_for_shape_checks():
    with torch.device("meta"):
        m = GRUModel(ModelConfig(units=2, init="keras"))
    assert m.gru.weight_hh_l0.is_meta and m.n_params() == 33
