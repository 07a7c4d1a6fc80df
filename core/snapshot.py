"""The picture of a run the training child sends the window: `Snapshot` (numpy arrays and plain values, never
live tensors), which holds the trainer's `ViewWindow` (what the window draws of the model now), and the whole-run
curves in increments (`SeriesChunk`, produced by `SeriesSender`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.history import DecimatingSeries


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
    r: np.ndarray           # (W, H)
    z: np.ndarray           # (W, H)
    n: np.ndarray           # (W, H)
    h_prev: np.ndarray      # (W, H) the state each row's cell read
    step_loss: np.ndarray   # (W,)
    accuracy: float         # online: over the window; batch: the last epoch's val_accuracy (else train's, probe's)
    accuracy_label: str     # what `accuracy` is: "acc (last W)", "val acc", "train acc", "probe acc"
    epoch: int = 0          # batch: epochs completed
    batches_per_epoch: int = 0
    epoch_logs: tuple = ()  # batch: every epoch's logs so far


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
