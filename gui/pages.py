"""The window's pages: the live run and the whole experiments (Seeds, Sweep, Thread), one shown at a time. A tab
bar (the menu bar's corner: it costs the live views no height) switches them; `PageStack.pages` names them by
the keys in gui.PAGES. The Inspect dock belongs to the live run: it is hidden on an experiment page and comes back
as it was on the live run's page."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget, QTabBar, QWidget

from gui import PAGES
from gui.experiments.seeds import SeedsPanel
from gui.experiments.sweep import SweepPanel
from gui.experiments.thread import ThreadPanel

TITLES = {"live": "Live run", "seeds": "Seeds", "sweep": "Sweep", "thread": "Thread"}
TIPS = {"live": "The run being trained: its bits, hidden units, loss and accuracy, with the Inspect dock",
        "seeds": "Train the config with several seeds at once and see how many learn",
        "sweep": "A reliability map: one or two config fields × seeds",
        "thread": "The project's claims, each a config to load and run"}


class PageStack(QStackedWidget):
    """The pages, with their switch (`bar`, placed by the window). `live` is the live run's widget;
    `services` is the window's WindowServices (for the experiments)."""

    page_changed = Signal(str)  # the name (in gui.PAGES) of the page now shown

    def __init__(self, live: QWidget, services, parent=None):
        super().__init__(parent)
        self.seeds = SeedsPanel(services)
        self.sweep = SweepPanel(services)
        self.thread_panel = ThreadPanel(services)  # not `thread`: that is QObject.thread()
        self.pages: dict[str, QWidget] = {"live": live, "seeds": self.seeds, "sweep": self.sweep,
                                          "thread": self.thread_panel}
        self.bar = QTabBar()
        self.bar.setObjectName("page-switch")
        self.bar.setDrawBase(False)
        self.bar.setExpanding(False)
        for i, name in enumerate(PAGES):
            self.addWidget(self.pages[name])
            self.bar.addTab(TITLES[name])
            self.bar.setTabToolTip(i, TIPS[name])
        self.bar.currentChanged.connect(self._switched)

    def current(self) -> str:
        """The name of the page shown."""
        return PAGES[self.currentIndex()]

    def show_page(self, name: str) -> None:
        """Show the page named `name` (one of gui.PAGES)."""
        self.bar.setCurrentIndex(PAGES.index(name))

    def _switched(self, i: int) -> None:
        if i != self.currentIndex():
            self.setCurrentIndex(i)
            self.page_changed.emit(PAGES[i])

    def stop(self) -> None:
        """The window closes: the experiments' children stop."""
        self.seeds.stop()
        self.sweep.stop()
