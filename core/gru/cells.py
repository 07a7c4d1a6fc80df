"""The LSTM and the simple tanh RNN beside the GRU, as torch modules with Keras's one bias, and `make_model`.

Keras's LSTM and SimpleRNN carry one bias (torch's nn.LSTM and nn.RNN carry two), so these are written here with
Keras's parameters, in torch's row order, and their parameter counts are Keras's:

    LSTM (gates i, f, g, o; Keras calls g "c", same order):
        a = W_ih x + W_hh h + b              W_ih (4H, I), W_hh (4H, H), b (4H,)
        i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
        c' = f * c + i * g,   h' = o * tanh(c')                 4 H (I + H + 1) parameters
    RNN (Keras SimpleRNN, tanh):
        h' = tanh(W_ih x + W_hh h + b)      W_ih (H, I), W_hh (H, H), b (H,)    H (I + H + 1) parameters

plus the readout's H + 1 (core.gru.model). Initial weights (ModelConfig.init): `torch` draws every parameter from
U(+-1/sqrt(H)), as nn.LSTM and nn.RNN do; `keras` as Keras does: kernel glorot_uniform over (I, G H), recurrent
kernel orthogonal over (H, G H), bias zeros, the LSTM's forget block 1 (unit_forget_bias=True); the readout as the
GRU's. Keras's kernel is W_ih transposed, its recurrent kernel W_hh transposed (the gate order is the same).

Every model answers `step(x, state) -> (h', state', gates)` for one timestep and `zero_state(batch)`: the state
is h (B, H) for the GRU and the RNN, and [h, c] (B, 2H) for the LSTM; `gates` is the step's own quantities in
core.snapshot.CELL_PARTS's order, each (B, H): the GRU's (r, z, n), the LSTM's (i, f, g, o, c, c'), the RNN's (a,).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.config import ModelConfig
from core.gru.derivatives import CELL_GATES, state_size
from core.gru.model import GRUModel, glorot_uniform, orthogonal

GATES = {k: v for k, v in CELL_GATES.items() if k != "gru"}  # the gate blocks of W_ih, W_hh and b


class OneBiasModel(nn.Module):
    """The LSTM or the simple RNN (cfg.cell) with Keras's one bias, and the readout (as GRUModel's)."""

    def __init__(self, cfg: ModelConfig, input_size: int = 1):
        super().__init__()
        if cfg.cell not in GATES:
            raise ValueError(f"OneBiasModel runs cell lstm or rnn, not {cfg.cell!r}")
        self.cfg = cfg
        self.units = H = cfg.units
        self.kind = cfg.cell
        G = GATES[cfg.cell]
        self.input_size = input_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H))
        self.bias = nn.Parameter(torch.empty(G * H))
        self.readout = nn.Linear(H, 1) if cfg.readout == "linear" else None
        if not self.weight_ih.is_meta:
            with torch.no_grad():
                k = 1.0 / math.sqrt(H)
                for p in (self.weight_ih, self.weight_hh, self.bias):
                    p.uniform_(-k, k)
            if cfg.init == "keras":
                keras_init_(self)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def zero_state(self, batch: int = 1) -> torch.Tensor:
        return self.weight_hh.new_zeros(batch, state_size(self.kind, self.units))

    def step(self, x: torch.Tensor, state: torch.Tensor):
        """One step: x (B, I), state (B, D) -> (h' (B, H), state' (B, D), the step's parts: RNN (a,), LSTM
        (i, f, g, o, c, c'), each (B, H))."""
        H = self.units
        h = state[:, :H]
        a = torch.addmm(self.bias, x, self.weight_ih.t()) + h @ self.weight_hh.t()
        if self.kind == "rnn":
            h_new = torch.tanh(a)
            return h_new, h_new, (a,)
        a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c, c_new = state[:, H:], f * state[:, H:] + i * g
        h_new = o * torch.tanh(c_new)
        return h_new, torch.cat([h_new, c_new], dim=1), (i, f, g, o, c, c_new)

    def forward(self, x: torch.Tensor, state0: torch.Tensor | None = None):
        """x (B, T, I) -> (outputs (B, T, 1) for linear or (B, T, H) for raw, last h (B, H))."""
        B, T = x.shape[0], x.shape[1]
        s = self.zero_state(B) if state0 is None else state0
        a_in = x @ self.weight_ih.t() + self.bias  # every step's input part at once
        H = self.units
        hs = []
        for t in range(T):
            a = a_in[:, t] + s[:, :H] @ self.weight_hh.t()
            if self.kind == "rnn":
                s = torch.tanh(a)
            else:
                i, f, g, o = a.chunk(4, dim=1)
                c = torch.sigmoid(f) * s[:, H:] + torch.sigmoid(i) * torch.tanh(g)
                s = torch.cat([torch.sigmoid(o) * torch.tanh(c), c], dim=1)
            hs.append(s[:, :H])
        h_seq = torch.stack(hs, dim=1) if hs else x.new_zeros(B, 0, H)
        return self.head(h_seq), s[:, :H]

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.readout(h) if self.readout is not None else h


@torch.no_grad()
def keras_init_(model: OneBiasModel, gen: torch.Generator | None = None) -> None:
    """Overwrite the model's weights with a Keras LSTM / SimpleRNN draw (torch's global RNG unless gen is given)."""
    H, Ii, G = model.units, model.input_size, GATES[model.kind]
    kernel = glorot_uniform((Ii, G * H), Ii, G * H, gen)
    recurrent = orthogonal(H, G * H, gen)
    bias = torch.zeros(G * H, dtype=torch.float64)
    if model.kind == "lstm":
        bias[H:2 * H] = 1.0  # unit_forget_bias=True
    for param, value in ((model.weight_ih, kernel.t()), (model.weight_hh, recurrent.t()), (model.bias, bias)):
        param.copy_(value.to(param.dtype))
    if model.readout is not None:  # Conv1D(1, kernel_size=1), as the GRU's (core.gru.model.keras_init_)
        model.readout.weight.copy_(glorot_uniform((1, H), H, 1, gen))
        model.readout.bias.zero_()


Model = GRUModel | OneBiasModel


def make_model(cfg: ModelConfig, input_size: int = 1) -> Model:
    """The model of cfg.cell: GRUModel (nn.GRU) for gru, OneBiasModel for lstm and rnn."""
    if cfg.cell == "gru":
        return GRUModel(cfg, input_size)
    return OneBiasModel(cfg, input_size)

