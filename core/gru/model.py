"""The GRU with its readout, in torch.nn.GRU's formulation (Keras's reset_after=True), and its gate internals.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Readout `linear`: y_hat = w . h' + b (the answer's Conv1D 1x1). Readout `raw`: the loss is taken on the state
itself against the target repeated over every unit (the question's mistake); its prediction is the units' mean.

Initial weights (ModelConfig.init): `torch` keeps nn.GRU's and nn.Linear's own; `keras` draws them as Keras's
GRU(reset_after=True) and Conv1D(1, 1) do, in Keras's layout, and maps them here (`keras_to_torch`):

    kernel (inputs, 3H)       glorot_uniform over the whole matrix: U(+-sqrt(6 / (inputs + 3H)))
    recurrent_kernel (H, 3H)  orthogonal, drawn as ONE matrix: QR of a (3H, H) normal matrix, columns
                              sign-corrected by diag(R), transposed, so its H rows are orthonormal
    bias (2, 3H)              zeros (row 0: the input bias, row 1: the recurrent bias)
    Conv1D kernel (1, H, 1)   glorot_uniform, fan_in H, fan_out 1; its bias zero

Keras's column blocks are (z, r, h); torch's row blocks (r, z, n), so W_ih = [K_r; K_z; K_h]^T and so on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.config import ModelConfig


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
        if cfg.init == "keras":
            keras_init_(self)

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

    # -- every cell's interface (core.gru.cells): the state is h ---------------------------------------------
    def zero_state(self, batch: int = 1) -> torch.Tensor:
        return next(self.parameters()).new_zeros(batch, self.units)

    def step(self, x: torch.Tensor, state: torch.Tensor):
        """One step: x (B, I), state h (B, H) -> (h', state' (= h'), (r, z, n))."""
        g = self.cell(x, state)
        return g.h, g.h, (g.r, g.z, g.n)


# -- Keras's initialisation and weight layout ---------------------------------------------------------------
def glorot_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int, gen: torch.Generator | None = None):
    """U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), as Keras's GlorotUniform."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * limit


def orthogonal(rows: int, cols: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """Keras's Orthogonal(gain 1) for a (rows, cols) matrix: QR of a (max, min) normal matrix, Q's columns
    multiplied by sign(diag(R)), transposed when rows < cols; the result's rows (or columns) are orthonormal."""
    a = torch.randn((max(rows, cols), min(rows, cols)), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)  # reduced: q (max, min)
    q = q * torch.sign(torch.diagonal(r))
    return q.t().contiguous() if rows < cols else q


def keras_gru_weights(units: int, inputs: int = 1, gen: torch.Generator | None = None) -> dict[str, np.ndarray]:
    """A freshly drawn Keras GRU (reset_after=True) in Keras's layout: kernel, recurrent_kernel, bias."""
    kernel = glorot_uniform((inputs, 3 * units), inputs, 3 * units, gen)
    recurrent = orthogonal(units, 3 * units, gen)
    return {"kernel": kernel.numpy(), "recurrent_kernel": recurrent.numpy(), "bias": np.zeros((2, 3 * units))}


def _zrh_to_rzn(a: np.ndarray, units: int) -> np.ndarray:
    """Keras's column blocks (z, r, h) of a (..., 3H) array -> torch's (r, z, n) order, same shape."""
    z, r, h = a[..., :units], a[..., units:2 * units], a[..., 2 * units:]
    return np.concatenate([r, z, h], axis=-1)


def keras_to_torch(kernel, recurrent_kernel, bias) -> dict[str, np.ndarray]:
    """Keras GRU weights (kernel (I, 3H), recurrent_kernel (H, 3H), bias (2, 3H)) as nn.GRU's tensors."""
    kernel, recurrent_kernel, bias = (np.asarray(a, dtype=np.float64) for a in (kernel, recurrent_kernel, bias))
    units = recurrent_kernel.shape[0]
    return {"weight_ih_l0": _zrh_to_rzn(kernel, units).T.copy(),
            "weight_hh_l0": _zrh_to_rzn(recurrent_kernel, units).T.copy(),
            "bias_ih_l0": _zrh_to_rzn(bias[0], units), "bias_hh_l0": _zrh_to_rzn(bias[1], units)}


@torch.no_grad()
def keras_init_(model: GRUModel, gen: torch.Generator | None = None) -> None:
    """Overwrite the model's weights with a Keras draw (from torch's global RNG unless gen is given)."""
    g = model.gru
    if g.weight_ih_l0.is_meta:  # a shapes-only model (built under torch.device("meta")): nothing to draw
        return
    w = keras_gru_weights(model.units, g.input_size, gen)
    for name, value in keras_to_torch(w["kernel"], w["recurrent_kernel"], w["bias"]).items():
        param = getattr(g, name)
        param.copy_(torch.as_tensor(value, dtype=param.dtype))
    if model.readout is not None:  # Conv1D(1, kernel_size=1): kernel (1, H, 1), fan_in H * 1, fan_out 1 * 1
        model.readout.weight.copy_(glorot_uniform((1, model.units), model.units, 1, gen))
        model.readout.bias.zero_()


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
