"""The tables of seed-batched engines: which engine class runs each rule of the catalogue (core/learning_rules.py),
on the NumPy engine (`NUMPY_ENGINES`, every rule, for the GRU; `NUMPY_CELL_ENGINES`, every rule, for the LSTM
and the RNN) and on the torch engine (`TORCH_ENGINES`, tbptt and rtrl, for the GRU, `TORCH_CELL_ENGINES` the same
for the LSTM and the RNN; `TORCH_DOES_NOT_RUN` names the others and where they run instead), and the two builders.

`make_batched_engine(shape, theta, lr, seeds)` is core.seed_batched.learners.BatchedLearners' default
engine_factory; `make_torch_engine` takes the same arguments plus the device, so
`functools.partial(make_torch_engine, device="cuda")` is one too (core.seed_batched.devices.engine_factory).
"""

from __future__ import annotations

import numpy as np

from core.learning_rules import NAMES
from core.seed_batched.approximate import BatchedSnAp1, BatchedUORO
from core.seed_batched.approximate_cells import BatchedCellSnAp1, BatchedCellUORO
from core.seed_batched.cells import BatchedCellRTRL, BatchedCellTBPTT
from core.seed_batched.engine import BatchedEngine, BatchedRTRL, BatchedTBPTT
from core.seed_batched.shape import BATCHED_CELLS, BatchShape
from core.seed_batched.torch_cells import TorchCellRTRL, TorchCellTBPTT
from core.seed_batched.torch_engine import TorchBatchedEngine, TorchTBPTT
from core.seed_batched.torch_rtrl import TorchRTRL

NUMPY_ENGINES: dict[str, type[BatchedEngine]] = {
    "tbptt": BatchedTBPTT, "rtrl": BatchedRTRL, "uoro": BatchedUORO, "snap1": BatchedSnAp1}
NUMPY_CELL_ENGINES: dict[str, type[BatchedEngine]] = {  # the LSTM's and the RNN's
    "tbptt": BatchedCellTBPTT, "rtrl": BatchedCellRTRL, "uoro": BatchedCellUORO, "snap1": BatchedCellSnAp1}
TORCH_ENGINES: dict[str, type[TorchBatchedEngine]] = {"tbptt": TorchTBPTT, "rtrl": TorchRTRL}
TORCH_CELL_ENGINES: dict[str, type[TorchBatchedEngine]] = {"tbptt": TorchCellTBPTT, "rtrl": TorchCellRTRL}  # lstm, rnn
TORCH_DOES_NOT_RUN: dict[str, str] = {  # rule -> where it runs instead, under a torch device
    "uoro": "the NumPy engine (the CPU)", "snap1": "the NumPy engine (the CPU)"}


def make_batched_engine(shape: BatchShape, theta: np.ndarray, lr, seeds=None) -> BatchedEngine:
    """The NumPy engine for shape.rule over initial weights theta (S, P), learning rates lr (S,) and the learners'
    seeds (S,) (only rules that draw random numbers, uoro, need them), for shape.cell."""
    if shape.cell == "gru":
        cls = NUMPY_ENGINES.get(shape.rule)
        if cls is None:
            raise ValueError(f"no batched engine for rule {shape.rule!r}; known: {', '.join(NAMES)}")
        return cls(shape, theta, lr, seeds=seeds)
    cell_cls = NUMPY_CELL_ENGINES.get(shape.rule) if shape.rule in BATCHED_CELLS.get(shape.cell, ()) else None
    if cell_cls is None:
        runs = ", ".join(BATCHED_CELLS.get(shape.cell, ())) or "none"
        raise ValueError(f"the seed-batched engines run cell {shape.cell} under rule {runs}, not {shape.rule!r} "
                         "(docs/cells.md)")
    return cell_cls(shape, theta, lr, seeds=seeds)


def make_torch_engine(shape: BatchShape, theta: np.ndarray, lr, seeds=None, device="cuda") -> TorchBatchedEngine:
    """The torch engine for shape.rule on `device` over initial weights theta (S, P) and rates lr (S,). seeds are
    accepted for make_batched_engine's signature (tbptt and rtrl draw no random numbers)."""
    if shape.cell != "gru":
        cell_cls = TORCH_CELL_ENGINES.get(shape.rule) if shape.rule in BATCHED_CELLS.get(shape.cell, ()) else None
        if cell_cls is None:
            runs = " and ".join(sorted(TORCH_CELL_ENGINES))
            raise ValueError(f"the torch engine runs cell {shape.cell} under rule {runs}, not {shape.rule!r} "
                             "(docs/cells.md)")
        return cell_cls(shape, theta, lr, seeds=seeds, device=device)
    cls = TORCH_ENGINES.get(shape.rule)
    if cls is None:
        instead = TORCH_DOES_NOT_RUN.get(shape.rule)
        raise ValueError(f"the torch engine runs {' and '.join(sorted(TORCH_ENGINES))}, not {shape.rule!r}"
                         + (f"; {shape.rule} runs on {instead}" if instead else
                            f"; the rules are {', '.join(NAMES)}"))
    return cls(shape, theta, lr, seeds=seeds, device=device)
