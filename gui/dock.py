"""The Inspect dock: the live run's step-level tools, as tabs: the step inspector, the hidden-state portrait, the
memory probe, the diagnosis hints (with the run's verdict), RTRL's sensitivities, the gradient's fidelity and pinned
runs to compare (the whole experiments, Seeds, Sweep and Thread, are pages of their own: gui/pages.py). Each tab
is a declared attribute of InspectTabs; `tabs` names them by the keys in gui.INSPECT_TABS, in that order. A
snapshot is drawn into the visible tab only; the others catch up when shown."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QTabWidget, QWidget

from gui import INSPECT_TABS
from gui.inspect.analysis import HintsView, MemoryProbeView, PortraitView, SensitivityView
from gui.inspect.compare import ComparePanel
from gui.inspect.gradient import GradientView
from gui.inspect.inspector import Inspector

INSPECTOR_EVERY = 0.2  # s: the inspector redraws at most 5 times a second while training runs

# Each tab's title, by its name in gui.INSPECT_TABS (which the command line reads without importing Qt). A new tab
# is an attribute made in InspectTabs.__init__, its entry in `tabs` there, its name in INSPECT_TABS and a title here.
TITLES = {"inspector": "Inspector", "portrait": "Portrait", "probe": "Memory probe", "hints": "Hints",
          "sensitivity": "Sensitivity", "gradient": "Gradient", "compare": "Compare"}


class InspectTabs(QTabWidget):
    """`services` is the window's WindowServices (for the compare tab)."""

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.inspector = Inspector()
        self.portrait = PortraitView()
        self.probe = MemoryProbeView()
        self.hints = HintsView()
        self.sensitivity = SensitivityView()
        self.gradient = GradientView()
        self.compare = ComparePanel(services)
        self.tabs: dict[str, QWidget] = {
            "inspector": self.inspector, "portrait": self.portrait, "probe": self.probe, "hints": self.hints,
            "sensitivity": self.sensitivity, "gradient": self.gradient, "compare": self.compare}
        for name in INSPECT_TABS:
            self.addTab(self.tabs[name], TITLES[name])
        self._snap = None
        self._ins_at = 0.0
        self.currentChanged.connect(lambda _i: self._draw_current())

    def show_tab(self, key: str) -> None:
        """Show the tab named `key` (one of gui.INSPECT_TABS)."""
        self.setCurrentWidget(self.tabs[key])

    def show_snapshot(self, s) -> None:
        """Draw the snapshot into the visible tab only (the others catch up when shown): frames stay cheap."""
        self._snap = s
        self.gradient.take(s)  # every snapshot: the whole-run fidelity arrives in increments
        a = s.analysis
        hints = a.hints if a is not None else ()
        self.hints.codes = {h.code for h in hints}
        label = f"Hints ({len(hints)})" if hints else "Hints"
        i = self.indexOf(self.hints)
        if self.tabText(i) != label:  # re-setting the same text still re-lays out and repaints the tab bar
            self.setTabText(i, label)
        if self.isVisible():
            self._draw_current()

    def _draw_current(self) -> None:
        s = self._snap
        if s is None:
            return
        a = s.analysis
        lag = s.config["task"]["lag"]
        w = self.currentWidget()
        now = time.perf_counter()
        if self.inspector.snap is None or (w is self.inspector and
                                           (not s.running or now - self._ins_at > INSPECTOR_EVERY)):
            self.inspector.set_snapshot(s)  # also drives the selection markers
            self._ins_at = now
        if w is self.portrait:
            self.portrait.show_analysis(a, lag)
            self.portrait.mark(self.inspector.selected_t())
        elif w is self.probe:
            self.probe.show_analysis(a, lag)
        elif w is self.hints:
            self.hints.show_hints(a.hints if a is not None else (), s.verdict)
        elif w is self.sensitivity:
            self.sensitivity.show_norms(s.sensitivity_norms or {})
        elif w is self.gradient:
            self.gradient.draw(s.step - 1 if self.inspector.follow.isChecked() else self.inspector.selected_t())
