"""The catalogue of online learning rules: one entry per rule (name, display label, one-line description, whether
its gradient is exact), pure data and torch-free.

Every back end reads it and none keeps its own list: the config's allowed values (core.config TrainConfig.rule),
the single fast NumPy engines (core.rules.engines), the seed-batched NumPy and torch engines
(core.seed_batched.table, which names the rules the torch engine does not run), the sweep's plan
(core.seed_batched.shape.BATCHED_RULES) and the Gradient view's labels (gui.inspect.gradient.rule_name).
tests/core/rules/test_catalogue.py checks that each back end covers this list or names what it leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LearningRule:
    """One online rule. label: how the window shows it ("{window}" stands for train.window); exact: its gradient is
    the exact gradient of the current loss through the whole past, for weights held fixed; cells: the recurrent
    cells (`CELLS`) its single fast engine runs today (core.config refuses any other with one message)."""

    name: str
    label: str
    description: str
    exact: bool
    cells: tuple[str, ...] = ("gru",)

    def display(self, window: int = 1) -> str:
        return self.label.format(window=window)


CELLS: tuple[str, ...] = ("gru", "lstm", "rnn")  # the recurrent cells (core.config ModelConfig.cell; docs/cells.md)

RULES: tuple[LearningRule, ...] = (
    LearningRule("tbptt", "TBPTT(k={window})", "truncated BPTT over the last `window` steps", exact=False,
                 cells=CELLS),
    LearningRule("rtrl", "RTRL", "exact real-time recurrent learning (with rtrl_decay 1)", exact=True, cells=CELLS),
    LearningRule("uoro", "UORO", "RTRL's unbiased rank-one estimate (Tallec & Ollivier 2017)", exact=False,
                 cells=CELLS),
    LearningRule("snap1", "SnAp-1", "RTRL's sensitivity kept on each parameter's own unit only (Menick et al. 2021)",
                 exact=False, cells=CELLS),
)
CATALOGUE: dict[str, LearningRule] = {r.name: r for r in RULES}
NAMES: tuple[str, ...] = tuple(CATALOGUE)


def learning_rule(name: str) -> LearningRule:
    """The catalogue's entry for `name`; a ValueError naming the choices for any other name."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown online rule {name!r}; choose {', '.join(NAMES)}")
    return CATALOGUE[name]


def help_text() -> str:
    """The rules, one clause each, for the config field's help and the command line."""
    return "; ".join(f"{r.name} = {r.description}" for r in RULES)
