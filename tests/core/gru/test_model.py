"""The GRU's gate internals equal nn.GRU's output; parameter counts; the readout kinds."""

import numpy as np
import torch

from core.config import ModelConfig
from core.gru.model import GRUModel


@torch.no_grad()
def step_internals(model: GRUModel, x: float | torch.Tensor, h_prev) -> dict[str, np.ndarray]:
    """One step's gate internals (reset r, update z, candidate n, new h) as numpy, for a single sample."""
    dev = next(model.parameters()).device
    x_t = torch.as_tensor(x, dtype=torch.float32, device=dev).reshape(1, -1)
    h_t = torch.as_tensor(np.asarray(h_prev), dtype=torch.float32, device=dev).reshape(1, -1)
    g = model.cell(x_t, h_t)
    return {"r": g.r[0].cpu().numpy(), "z": g.z[0].cpu().numpy(), "n": g.n[0].cpu().numpy(),
            "h": g.h[0].cpu().numpy()}


def test_answer_has_33_parameters():
    assert GRUModel(ModelConfig(units=2, readout="linear")).n_params() == 33


def test_gate_internals_equal_nn_gru():
    torch.manual_seed(0)
    m = GRUModel(ModelConfig(units=16))
    x = (torch.rand(1, 50, 1) < 0.3).float()
    hs, _ = m.gru(x)
    h = np.zeros(16, dtype=np.float32)
    for t in range(50):
        g = step_internals(m, float(x[0, t, 0]), h)
        np.testing.assert_allclose(g["h"], hs[0, t].detach().numpy(), atol=1e-6)
        # the gates are what the equations say
        assert ((g["r"] > 0) & (g["r"] < 1)).all() and ((g["z"] > 0) & (g["z"] < 1)).all()
        np.testing.assert_allclose(g["h"], (1 - g["z"]) * g["n"] + g["z"] * h, atol=1e-6)
        h = g["h"]


def test_raw_readout_outputs_the_state():
    m = GRUModel(ModelConfig(units=4, readout="raw"))
    out, hT = m(torch.zeros(2, 5, 1))
    assert out.shape == (2, 5, 4) and torch.equal(out[:, -1], hT)
