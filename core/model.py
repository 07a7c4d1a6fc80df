"""The GRU with its readout, in torch.nn.GRU's formulation (Keras's reset_after=True), and its gate internals.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Readout `linear`: y_hat = w . h' + b (the answer's Conv1D 1x1). Readout `raw`: the loss is taken on the state
itself against the target repeated over every unit (the question's mistake); its prediction is the units' mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import ModelConfig


@dataclass(frozen=True)
class Gates:
    r: torch.Tensor
    z: torch.Tensor
    n: torch.Tensor
    h: torch.Tensor


class GRUModel(nn.Module):
    def __init__(self, cfg: ModelConfig, input_size: int = 1):
        super().__init__()
        self.cfg = cfg
        self.units = cfg.units
        self.gru = nn.GRU(input_size, cfg.units, batch_first=True)
        self.readout = nn.Linear(cfg.units, 1) if cfg.readout == "linear" else None

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None):
        """x (B, T, 1) -> (outputs (B, T, 1) for linear or (B, T, H) for raw, last state (B, H))."""
        hs, hT = self.gru(x, None if h0 is None else h0.unsqueeze(0))
        return self.head(hs), hT.squeeze(0)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.readout(h) if self.readout is not None else h

    # -- one step from the model's own weights, gates exposed ---------------------------------------------
    def weights(self):
        g = self.gru
        return g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0

    def cell(self, x: torch.Tensor, h: torch.Tensor) -> Gates:
        """One GRU step, x (B, I), h (B, H); differentiable; equals nn.GRU's output."""
        return gru_cell(x, h, *self.weights())


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh) -> Gates:
    gi = torch.addmm(b_ih, x, w_ih.t())
    gh = torch.addmm(b_hh, h, w_hh.t())
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    h_new = (1 - z) * n + z * h
    return Gates(r, z, n, h_new)


@torch.no_grad()
def step_internals(model: GRUModel, x: float | torch.Tensor, h_prev) -> dict[str, np.ndarray]:
    """One step's gate internals (reset r, update z, candidate n, new h) as numpy, for a single sample."""
    dev = next(model.parameters()).device
    x_t = torch.as_tensor(x, dtype=torch.float32, device=dev).reshape(1, -1)
    h_t = torch.as_tensor(np.asarray(h_prev), dtype=torch.float32, device=dev).reshape(1, -1)
    g = model.cell(x_t, h_t)
    return {"r": g.r[0].cpu().numpy(), "z": g.z[0].cpu().numpy(), "n": g.n[0].cpu().numpy(),
            "h": g.h[0].cpu().numpy()}


def predict(out: torch.Tensor, readout: str, loss: str) -> torch.Tensor:
    """Model output -> predicted value in [0, 1]-ish units, shape (..., 1). For bce the output is a logit."""
    if readout == "raw":
        out = out.mean(dim=-1, keepdim=True)
    return torch.sigmoid(out) if loss == "bce" else out


def loss_fn(out: torch.Tensor, y: torch.Tensor, readout: str, loss: str, reduction: str = "mean") -> torch.Tensor:
    """Loss of model output `out` against 0/1 targets y (..., 1); raw readout repeats y over every unit.

    reduction "step": one value per timestep (..., averaged over the units for the raw readout)."""
    target = y.expand_as(out) if readout == "raw" else y
    red = "none" if reduction == "step" else reduction
    if loss == "bce":
        v = nn.functional.binary_cross_entropy_with_logits(out, target, reduction=red)
    else:
        v = nn.functional.mse_loss(out, target, reduction=red)
    return v.mean(dim=-1) if reduction == "step" else v
