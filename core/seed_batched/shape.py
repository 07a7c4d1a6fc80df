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
    other rules); cell: the recurrent cell (gru, lstm, rnn)."""

    rule: str
    units: int
    readout: str
    loss: str
    optimizer: str
    window: int = 1
    decay: float = 1.0
    adam_eps: float = 1e-8
    cell: str = "gru"

    @property
    def layout(self) -> Layout:
        return Layout(self.units, 1, self.readout == "linear", self.cell)


# The rules the seed-batched engines run for each cell (core.seed_batched.table builds them; docs/cells.md)
BATCHED_CELLS: dict[str, tuple[str, ...]] = {"gru": BATCHED_RULES, "lstm": BATCHED_RULES, "rnn": BATCHED_RULES}


def batch_shape(cfg) -> BatchShape:
    """The BatchShape of a Config (learners whose shapes are equal can share a batch); a ValueError for a cell and
    rule the seed-batched engines do not run (never a GRU in its place)."""
    cell, t = cfg.model.cell, cfg.train
    runs = BATCHED_CELLS.get(cell, ())
    if t.rule not in runs:
        raise ValueError(f"model.cell: the seed-batched engines (sweeps, --seeds) run cell {cell} under rule "
                         f"{', '.join(runs) or 'none'}, not {t.rule}; train it with one seed (docs/cells.md)")
    return BatchShape(t.rule, cfg.model.units, cfg.model.readout, t.loss, t.optimizer,
                      t.window if t.rule == "tbptt" else 1, float(t.rtrl_decay) if t.rule == "rtrl" else 1.0,
                      float(t.adam_eps), cell)
