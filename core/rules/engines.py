"""The table of single-run engines: which engine class runs each rule of the catalogue (core/learning_rules.py)
for each cell, and `make_engine`, which builds the engine OnlineTrainer asks for.

For the GRU the fast NumPy engines run every rule (`FAST_ENGINES`: TBPTT and RTRL from core.rules.tbptt_rtrl, UORO
and SnAp-1 from core.rules.approximate); `engine_class` adds the shadow RTRL of core.rules.fidelity when the config
measures gradient fidelity. For the LSTM and the RNN they run the rules whose catalogue entry lists the cell
(`CELL_ENGINES`: TBPTT and RTRL from core.rules.lstm_rnn, UORO and SnAp-1 from core.rules.approximate_cells; no
fidelity shadow yet). The autograd loop (`AutogradEngine`) runs tbptt
only (`AUTOGRAD_RULES`), for every cell.
"""

from __future__ import annotations

import functools

from core.gru.cells import Model
from core.learning_rules import NAMES, learning_rule
from core.rules.approximate import SnAp1Engine, UOROEngine
from core.rules.approximate_cells import CellSnAp1Engine, CellUOROEngine
from core.rules.fidelity import FidelityMixin
from core.rules.lstm_rnn import CellRTRLEngine, CellTBPTTEngine
from core.rules.tbptt_rtrl import AutogradEngine, RTRLEngine, TBPTTEngine

FAST_ENGINES: dict[str, type] = {"tbptt": TBPTTEngine, "rtrl": RTRLEngine, "uoro": UOROEngine, "snap1": SnAp1Engine}
CELL_ENGINES: dict[str, type] = {  # the LSTM's and the RNN's
    "tbptt": CellTBPTTEngine, "rtrl": CellRTRLEngine, "uoro": CellUOROEngine, "snap1": CellSnAp1Engine}
AUTOGRAD_RULES = ("tbptt",)  # the autograd loop runs these; the fast engines run every rule
AUTOGRAD_DOES_NOT_RUN = tuple(r for r in NAMES if r not in AUTOGRAD_RULES)


@functools.cache
def engine_class(rule: str, fidelity: bool = False) -> type:
    """The fast engine class for a rule of the catalogue, with the shadow RTRL when `fidelity`."""
    learning_rule(rule)  # a ValueError naming the choices for a rule the catalogue lacks
    base = FAST_ENGINES[rule]
    if not fidelity:
        return base
    return type(f"{base.__name__}WithFidelity", (FidelityMixin, base), {"__doc__": base.__doc__})


def make_engine(name: str, model: Model, cfg, device):
    """The engine `name` ("fast" or "autograd") for the config's rule and cell, owning its optimizer."""
    rule, cell = cfg.train.rule, cfg.model.cell
    if name == "autograd":
        if rule not in AUTOGRAD_RULES:
            raise ValueError(f"the autograd engine implements rule {', '.join(AUTOGRAD_RULES)} only, not {rule!r}; "
                             "use engine='fast'")
        if cfg.train.fidelity:
            raise ValueError("gradient fidelity needs the fast engine; use engine='fast'")
        return AutogradEngine(model, cfg, device)
    if name != "fast":
        raise ValueError(f"unknown online engine {name!r}; choose fast or autograd")
    if cell != "gru":
        if cell not in learning_rule(rule).cells or rule not in CELL_ENGINES or cfg.train.fidelity:
            raise ValueError(f"the fast engines run cell {cell} under rule {', '.join(CELL_ENGINES)} without "
                             f"fidelity, not rule {rule!r}{' with fidelity' if cfg.train.fidelity else ''}")
        return CELL_ENGINES[rule](model, cfg)
    return engine_class(rule, cfg.train.fidelity)(model, cfg)
