"""GRU Memory Lab's Qt views and controls; they display what core/ computes.

`INSPECT_TABS` names the Inspect dock's tabs in order; it lives here, Qt-free, so the command line can offer
`--tab NAME` without importing Qt.
"""

INSPECT_TABS = ("inspector", "portrait", "probe", "hints", "sensitivity", "gradient", "compare", "seeds", "thread",
                "sweep")
