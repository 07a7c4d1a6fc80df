"""The picture of a run the training child sends the window: `Snapshot` (numpy arrays and plain values, never
live tensors), which holds the trainer's `ViewWindow` (what the window draws of the model now, with the chosen
cell's own per-step quantities, `CELL_PARTS`), and the whole-run curves in increments (`SeriesChunk`, produced by
`SeriesSender`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.history import DecimatingSeries

# What one step of each cell records per unit beside h[t−1] and h[t] (docs/cells.md), in this order:
# GRU: reset gate r, update gate z, candidate n; LSTM: input gate i, forget gate f, cell candidate g, output gate
# o, the cell state it read c[t−1] and the one it made c[t]; RNN: the pre-activation a = W_ih x + W_hh h[t−1] + b.
CELL_PARTS: dict[str, tuple[str, ...]] = {"gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o", "c_prev", "c"),
                                          "rnn": ("a",)}
GATE_PARTS = frozenset({"r", "z", "i", "f", "o"})  # sigmoid gates, in (0, 1); n and g are tanh's, in (−1, 1)
# The per-unit signals the hidden-state heatmap offers for each cell (h first), and all of them (flags, files).
CELL_LAYERS: dict[str, tuple[str, ...]] = {"gru": ("h", "n", "z", "r"), "lstm": ("h", "c", "i", "f", "g", "o"),
                                           "rnn": ("h",)}
ALL_LAYERS: tuple[str, ...] = tuple(dict.fromkeys(k for layers in CELL_LAYERS.values() for k in layers))


@dataclass(frozen=True)
class SeriesChunk:
    """New points of a whole-run series since the last snapshot; `resync` means replace, not append."""

    values: np.ndarray
    stride: int
    resync: bool


@dataclass(frozen=True)
class ViewWindow:
    """What the window draws of the model now: online the last W steps, batch the fixed probe sequence."""

    t0: int                 # step index of the first row
    x: np.ndarray           # (W,) float32
    y: np.ndarray           # (W,)
    y_hat: np.ndarray       # (W,)
    h: np.ndarray           # (W, H)
    h_prev: np.ndarray      # (W, H) the hidden state each row's cell read
    step_loss: np.ndarray   # (W,)
    accuracy: float         # online: over the window; batch: the last epoch's val_accuracy (else train's, probe's)
    accuracy_label: str     # what `accuracy` is: "acc (last W)", "val acc", "train acc", "probe acc"
    epoch: int = 0          # batch: epochs completed
    batches_per_epoch: int = 0
    epoch_logs: tuple = ()  # batch: every epoch's logs so far
    cell: str = "gru"       # the model's cell: which CELL_PARTS `parts` holds
    parts: Mapping[str, np.ndarray] = field(default_factory=dict)  # CELL_PARTS[cell] -> (W, H) each

    def layer(self, name: str) -> np.ndarray:
        """(W, H) of h, h_prev or one of the cell's parts; KeyError for a quantity this cell does not have."""
        if name in ("h", "h_prev"):
            return self.h if name == "h" else self.h_prev
        if name not in CELL_PARTS[self.cell]:
            raise KeyError(f"cell {self.cell} has no {name!r}")
        return self.parts[name]


@dataclass(frozen=True)
class Snapshot:
    """Everything the window draws, as numpy arrays and plain values; never live tensors.

    `running` and `finished` are the engine's own state at the moment of the snapshot: the window takes its
    run state from here, never from the wording of a notice. `finished_reason` says which end was reached
    (core.train.views.FINISHED_EPOCHS: nothing left to train; FINISHED_STEPS: the step total, Start continues).
    """

    run_id: int
    seq: int
    config: dict
    mode: str
    device: str
    n_params: int
    running: bool
    finished: bool
    step: int                       # online: timesteps trained; batch: minibatches trained
    steps_per_second: float
    loss: float                     # the latest step's (online) or minibatch's (batch) loss
    view: ViewWindow                # the trainer's view window: online the last W steps; batch the probe
    loss_chunk: SeriesChunk         # whole run: loss per step / minibatch
    acc_chunk: SeriesChunk          # whole run: correct per step / accuracy per minibatch
    finished_reason: str | None = None  # None while not finished; else a core.train.views.FINISHED_* value
    analysis: object = None         # core.analysis.inspection.Analysis of the recent steps, or None
    sensitivity_norms: dict | None = None  # RTRL: |dh/dtheta| per parameter group; None in batch mode
    verdict: object = None          # core.analysis.verdict.Verdict once the run reached its end
    readout: tuple | None = None    # linear readout's current (w (H,), b); None for the raw readout
    # train.fidelity (online): cos(g, g*) and |g|/|g*| (core.rules.fidelity.FIELDS); None when fidelity is off
    fidelity_chunks: dict[str, SeriesChunk] | None = None  # whole run, per field (core.rules.fidelity_history)
    fidelity_window: np.ndarray | None = None  # (W, len(FIELDS)) the view window's steps (NaN: not recorded)


class SeriesSender:
    """Tracks what of a DecimatingSeries the receiver already has. The first chunk always resyncs, so a run
    that starts with a history (an opened session) arrives whole, with its stride."""

    def __init__(self, series: DecimatingSeries):
        self.series = series
        self.sent = 0
        self.stride = 0

    def chunk(self) -> SeriesChunk:
        s = self.series
        resync = s.stride != self.stride  # new, or the series was decimated: the receiver replaces
        out = s.values(0 if resync else self.sent)
        self.stride, self.sent = s.stride, len(s)
        return SeriesChunk(out, s.stride, resync)
