"""The LSTM and the simple RNN beside the GRU: Keras's parameter counts, Keras's initialisation, the torch module's
sequence pass equal to its steps, and the hand-derived one-step Jacobians (core.gru.cell_math) equal autograd's."""

import numpy as np
import pytest
import torch

from core.config import Config, preset
from core.gru import cell_math
from core.gru.cells import OneBiasModel, make_model
from core.gru.derivatives import Layout

CELLS = ("gru", "lstm", "rnn")


def keras_count(cell: str, units: int, inputs: int = 1) -> int:
    """Keras's documented parameter counts, written out here: GRU (reset_after=True, the Keras 2/3 default)
    3 H (I + H + 2), LSTM 4 H (I + H + 1), SimpleRNN H (I + H + 1); the Dense/Conv1D(1) readout H + 1."""
    rec = {"gru": 3 * units * (inputs + units + 2), "lstm": 4 * units * (inputs + units + 1),
           "rnn": units * (inputs + units + 1)}[cell]
    return rec + units + 1


@pytest.mark.parametrize("cell, expected", [("gru", 33), ("lstm", 35), ("rnn", 11)])
def test_the_answers_model_has_kerass_parameter_count_for_each_cell(cell, expected):
    cfg = preset("answer").replace(cell=cell)
    model = make_model(cfg.model)
    assert model.n_params() == keras_count(cell, 2) == expected
    assert Layout(2, 1, True, cell).size == expected
    for units in (1, 16):  # and the formula at other widths
        assert make_model(cfg.replace(units=units).model).n_params() == keras_count(cell, units)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_keras_initialisation(cell):
    torch.manual_seed(3)
    H = 5
    m = make_model(Config().replace(cell=cell, units=H, init="keras").model)
    G = 4 if cell == "lstm" else 1
    rec = m.weight_hh.detach().double().t()  # Keras's recurrent kernel (H, G H): orthonormal rows
    assert torch.allclose(rec @ rec.t(), torch.eye(H, dtype=torch.float64), atol=1e-6)
    limit = (6.0 / (1 + G * H)) ** 0.5  # glorot_uniform over the kernel (I, G H)
    assert float(m.weight_ih.detach().abs().max()) <= limit
    bias = torch.zeros(G * H)
    if cell == "lstm":
        bias[H:2 * H] = 1.0  # unit_forget_bias=True
    assert torch.equal(m.bias.detach(), bias)
    assert float(m.readout.bias) == 0.0


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_sequence_pass_equals_its_steps(cell):
    torch.manual_seed(0)
    m = make_model(Config().replace(cell=cell, units=3).model).double()
    x = torch.rand(4, 7, 1, dtype=torch.float64)
    out, h_last = m(x)
    s = m.zero_state(4)
    for t in range(7):
        h, s, _ = m.step(x[:, t], s)
        assert torch.allclose(m.head(h), out[:, t], atol=1e-14)
    assert torch.allclose(h, h_last, atol=1e-14)


def _random_cell(cell, H, seed):
    torch.manual_seed(seed)
    m = OneBiasModel(Config().replace(cell=cell, units=H).model).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p))
    return m


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_one_step_jacobians_equal_autograd(cell):
    H = 4
    m = _random_cell(cell, H, 1)
    layout = Layout(H, 1, True, cell)
    rng = np.random.default_rng(2)
    s = rng.normal(size=layout.state_size)
    x = np.array([1.0])
    w_ih, w_hh, b = (p.detach().numpy() for p in (m.weight_ih, m.weight_hh, m.bias))
    s_new, cache = cell_math.forward(cell, x, s, w_ih, w_hh, b)
    C, D = cell_math.coefficients(cell, cache)
    J = cell_math.state_jacobian(C, D, w_hh)
    M = cell_math.param_jacobian(C, x, s[:H], layout)

    xt = torch.tensor(x)[None]
    st = torch.tensor(s)[None].requires_grad_(True)
    out = m.step(xt, st)[1][0]
    assert np.allclose(s_new, out.detach().numpy(), rtol=0, atol=1e-14)
    params = [m.weight_ih, m.weight_hh, m.bias]  # the flat layout's order
    J_ref, M_ref = np.zeros_like(J), np.zeros_like(M)
    for j in range(len(s)):  # autograd, one output component at a time
        grads = torch.autograd.grad(out[j], [st, *params], retain_graph=True)
        J_ref[j] = grads[0][0].numpy()
        M_ref[j] = np.concatenate([g.numpy().ravel() for g in grads[1:]])
    assert J.shape == (len(s), len(s)) and M.shape == (len(s), layout.n_rec)
    np.testing.assert_allclose(J, J_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(M, M_ref, rtol=0, atol=1e-10)
    # the backward pass is the transposed Jacobians: dL/ds = J^T ds', dL/dtheta = M^T ds'
    ds_new = rng.normal(size=len(s))
    da, ds = cell_math.backward(ds_new, C, D, w_hh)
    np.testing.assert_allclose(ds, J.T @ ds_new, rtol=0, atol=1e-10)
    grad = np.concatenate([np.outer(da, x).ravel(), np.outer(da, s[:H]).ravel(), da])
    np.testing.assert_allclose(grad, M.T @ ds_new, rtol=0, atol=1e-10)
