"""The multi-seed mode in the window: run the current config over S seeds in a separate process and show how
many learned — reliability is part of the story (the 2-unit `answer` setup stalls on some seeds). The score
column is named after the figure that decides (held-out, validation or training accuracy) and shows it as a
number, each column as wide as its contents; "learned" is in the theme's good or bad colour (gui.plots.theme)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.analysis.verdict import metric_words
from core.config import ConfigError
from core.formatting import accuracy_text
from core.messages import Error, SeedDone, SeedsDone
from gui.children.entry import seeds_main
from gui.children.link import ChildLink
from gui.plots.theme import Palette, current, follow


class SeedsPanel(QWidget):
    """`services` is the window's WindowServices: the panel's config, and the message bar for errors."""

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.link = ChildLink(seeds_main, name="gml-seeds", duplex=False, parent=self)
        self.link.message.connect(self._on_message)
        self.link.died.connect(self._on_died)
        self.results: list[dict] = []
        self.summary: dict | None = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("seeds"))
        self.count = QSpinBox()
        self.count.setRange(2, 50)
        self.count.setValue(5)
        self.count.setToolTip("How many seeds to train, starting at the config's seed")
        row.addWidget(self.count)
        self.btn_run = QPushButton("Run seeds")
        self.btn_run.setToolTip("Train the config in the left panel once per seed, headless, in a separate process")
        self.btn_run.clicked.connect(self.run)
        self.btn_stop = QPushButton("Stop")
        self.btn_stop.setEnabled(False)
        self.btn_stop.clicked.connect(self.stop)
        row.addWidget(self.btn_run)
        row.addWidget(self.btn_stop)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("Runs the config from the left panel (online: steps + held-out accuracy; batch: "
                             "epochs + val_accuracy); a seed has learned at ≥ 0.99.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)  # it may show a config's or a file's text: never markup
        lay.addWidget(self.status)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["seed", "learned", "accuracy", "time (s)"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        lay.addWidget(self.table, 1)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 1)
            if item is not None:
                item.setForeground(QColor(t.good if item.text() == "yes" else t.bad))

    @property
    def busy(self) -> bool:
        return self.link.alive

    def run(self) -> bool:
        if self.busy:
            return False
        try:
            cfg = self.services.edited_config()
        except ConfigError as e:
            self.services.report_error(f"Cannot run seeds: {e}")
            return False
        n = self.count.value()
        self.link.start(cfg.to_dict(), n, poll_ms=100)
        self.results, self.summary = [], None
        self.table.setRowCount(0)
        self.n = n
        first = cfg.train.seed
        self.status.setText(f"Training seeds {first}…{first + n - 1} ({cfg.train.mode}); 0/{n} done.")
        self.btn_run.setEnabled(False)
        self.btn_stop.setEnabled(True)
        return True

    def stop(self) -> None:
        self.link.stop()
        if self.summary is None and self.results:
            self.status.setText(f"Stopped after {len(self.results)} seed(s): learned "
                                f"{sum(r['learned'] for r in self.results)}/{len(self.results)}.")
        self.btn_run.setEnabled(True)
        self.btn_stop.setEnabled(False)

    # -- the child's replies: one handler per type of core.messages.SEEDS_REPLIES ----------------------------
    def _on_message(self, msg) -> None:
        handler = self.HANDLERS.get(type(msg))
        if handler is not None:
            handler(self, msg)

    def _on_seed_done(self, msg: SeedDone) -> None:
        self._add(msg.result.to_dict())

    def _on_seeds_done(self, msg: SeedsDone) -> None:
        self.summary = msg.summary.to_dict()
        k, n = sum(r["learned"] for r in self.results), len(self.results)
        self.status.setText(f"learned {k}/{n} seeds (≥ {msg.summary.threshold})")
        self.stop()

    def _on_error(self, msg: Error) -> None:
        self.services.report_error(f"The multi-seed run failed: {msg.text}")
        self.stop()

    HANDLERS: dict[type, Callable[[SeedsPanel, object], None]] = {
        SeedDone: _on_seed_done, SeedsDone: _on_seeds_done, Error: _on_error}

    def _on_died(self, code) -> None:
        if self.summary is None:
            self.services.report_error(f"The multi-seed process stopped before finishing (exit code {code}).")
            self.stop()

    def _add(self, r: dict) -> None:
        self.results.append(r)
        row = self.table.rowCount()
        self.table.insertRow(row)
        value, metric = r.get("value"), r.get("metric", "")
        if metric:
            self._name_score(metric)
        cells = [str(r["seed"]), "yes" if r["learned"] else "no",
                 accuracy_text(value) if isinstance(value, (int, float)) else str(value),
                 f"{r.get('elapsed_s', 0):.1f}"]
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignCenter)
            if c == 1:
                item.setForeground(QColor(current().good if r["learned"] else current().bad))
            self.table.setItem(row, c, item)
        k = sum(x["learned"] for x in self.results)
        self.status.setText(f"{len(self.results)}/{self.n} done; learned {k} so far.")

    def _name_score(self, metric: str) -> None:
        """The score column's header says which accuracy decided (the words, not the field name)."""
        words = metric_words(metric)
        item = self.table.horizontalHeaderItem(2)
        if item is None or item.text() != words:
            self.table.setHorizontalHeaderItem(2, QTableWidgetItem(words))
            self.table.horizontalHeaderItem(2).setToolTip(f"{words} ({metric}); a seed has learned at ≥ 0.99")
