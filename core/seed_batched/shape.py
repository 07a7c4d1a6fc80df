"""What the learners of one seed-batched engine must share (`BatchShape`), read off a Config (`batch_shape`), and
the rules a batched engine exists for. Torch-free, so planning a sweep (core/sweep/grid.py, the Sweep tab) loads no
engine; core/seed_batched/table.py builds the engines from it."""

from __future__ import annotations

from dataclasses import dataclass

from core.gru.derivatives import Layout
from core.learning_rules import NAMES

BATCHED_RULES = NAMES  # every rule of the catalogue: core.seed_batched.table.NUMPY_ENGINES has an engine for each


@dataclass(frozen=True)
class BatchShape:
    """What every learner of one batch shares. window: TBPTT's k (1 under other rules); decay: RTRL's (1 under
    other rules)."""

    rule: str
    units: int
    readout: str
    loss: str
    optimizer: str
    window: int = 1
    decay: float = 1.0
    adam_eps: float = 1e-8

    @property
    def layout(self) -> Layout:
        return Layout(self.units, 1, self.readout == "linear")


BATCHED_CELLS = ("gru",)  # the seed-batched engines run the GRU only today (docs/cells.md)


def batch_shape(cfg) -> BatchShape:
    """The BatchShape of a Config (learners whose shapes are equal can share a batch); a ValueError for a cell the
    seed-batched engines do not run yet (never a GRU in its place)."""
    if cfg.model.cell not in BATCHED_CELLS:
        raise ValueError(f"model.cell: the seed-batched engines (sweeps, --seeds) run the GRU only today, not cell "
                         f"{cfg.model.cell}; train it with one seed (docs/cells.md)")
    t = cfg.train
    return BatchShape(t.rule, cfg.model.units, cfg.model.readout, t.loss, t.optimizer,
                      t.window if t.rule == "tbptt" else 1, float(t.rtrl_decay) if t.rule == "rtrl" else 1.0,
                      float(t.adam_eps))
