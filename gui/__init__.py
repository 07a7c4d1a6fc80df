"""GRU Memory Lab's Qt views and controls; they display what core/ computes.

`INSPECT_TABS` names the Inspect dock's tabs (the step-level tools of the live run) in order, `PAGES` the window's
pages (the live run and the whole experiments: seeds, sweep, thread), and `TAB_NAMES` every name `--tab NAME`
accepts. They live here, Qt-free, so the command line can offer `--tab NAME` without importing Qt.
"""

INSPECT_TABS = ("inspector", "portrait", "probe", "hints", "sensitivity", "gradient", "compare")
PAGES = ("live", "seeds", "sweep", "thread")
TAB_NAMES = INSPECT_TABS + PAGES
