"""The sweep's rule axis values: a rule's name, or TBPTT with its window.

`tbpttK` is tbptt with window K; `tbptt+D` is tbptt with window lag + D, the cell's own lag, so
`--x lag=1:6 --y rule=tbptt1,tbptt+1,rtrl,uoro,snap1` maps truncation at one step, truncation just long enough
for the lag, and the untruncated rules in one sweep. `rule_changes` says which config fields a value sets,
`rule_label` how the map labels it.
"""

from __future__ import annotations

RULE_FORMS = "tbptt, rtrl, uoro or snap1, or tbpttK (tbptt with window K) or tbptt+D (tbptt with window lag+D)"


def derived_rule(v: str) -> tuple[str, int] | None:
    """('K', K) for 'tbpttK', ('+', D) for 'tbptt+D', None for anything else."""
    if v.startswith("tbptt") and len(v) > 5:
        rest = v[5:]
        if rest.isdigit():
            return "K", int(rest)
        if rest[0] == "+" and rest[1:].isdigit():
            return "+", int(rest[1:])
    return None


def rule_changes(value: str, lag: int) -> dict:
    """The config fields a rule axis value sets: {'rule': value}, or for tbpttK {'rule': 'tbptt', 'window': K} and
    for tbptt+D {'rule': 'tbptt', 'window': lag + D}."""
    d = derived_rule(value)
    if d is None:
        return {"rule": value}
    return {"rule": "tbptt", "window": d[1] if d[0] == "K" else lag + d[1]}


def rule_label(value: str) -> str:
    """The map's label of a rule axis value: 'tbptt k=1', 'tbptt k=lag+1', or the rule's name."""
    d = derived_rule(value)
    if d is None:
        return value
    return f"tbptt k={d[1]}" if d[0] == "K" else f"tbptt k=lag+{d[1]}"
