"""The Thread tab: the seed thread's claims as a guided path, each with its verdict from the last `main.py claims`
run (the shipped claims.json, core.product.files), one line on what to look at, and buttons that load its runs into
the window and start them. The claims and verdicts come from core.runs.claims_report.thread_items(); this view
only lays them out.

The guided path comes first (the question, the fix, the answer, then lag 3 with window 1 against RTRL), then the
thread's remaining claims in their order. Verdicts and secondary text take the theme's colours (gui.plots.theme).
"""

from __future__ import annotations

from html import escape as _escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from core.config import Config, ConfigError
from core.runs.claims_report import load_shipped, refresh_command, thread_items
from gui.plots.theme import Palette, follow

GUIDE = ("cannot-cope", "readout-fixes", "answer-learns", "window-vs-rtrl")
VERDICT_ROLES = {"holds": "good", "holds with a caveat": "warn", "does not hold": "bad"}  # the theme's colours
NOT_MEASURED_ROLE = "muted"


def escape(text: str) -> str:
    """Text for a rich-text label (quotes kept as typed)."""
    return _escape(str(text), quote=False)


WHO = {"question": "the question", "answer": "the answer", "this app": "this app"}


def guided_order(items: list[dict]) -> list[dict]:
    """The guided path's claims first (GUIDE), then the others in the thread's order."""
    by_key = {it["key"]: it for it in items}
    first = [by_key[k] for k in GUIDE if k in by_key]
    return first + [it for it in items if it["key"] not in GUIDE]


def config_label(c: dict) -> str:
    """A short name for a config: what the buttons say (lag, readout, rule or batch, length)."""
    task, model, train = c["task"], c["model"], c["train"]
    if train["mode"] == "batch":
        return f"batch, {model['units']} units, {train['epochs']} epochs"
    rule = train["rule"].upper() if train["rule"] != "tbptt" else f"window {train['window']}"
    readout = "raw state" if model["readout"] == "raw" else f"{model['readout']} readout"
    cell = model.get("cell", "gru")  # the GRU's labels as before
    return (f"{cell}, " if cell != "gru" else "") + f"lag {task['lag']}, {rule}, {readout}, {train['steps']:,} steps"


class ClaimCard(QFrame):
    """One claim: number, who, title, the quote (italic), the verdict (coloured), what to look at, the
    measurement and the why, and Run buttons (its own config first, then the runs it is measured against)."""

    def __init__(self, number: int, item: dict, on_run, parent=None):
        super().__init__(parent)
        self.item = item
        self.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(3)
        self.number = number
        self.head = self._label("")
        self.quote = self._label(f"<i>“{escape(item['quote'])}”</i>")
        self.verdict = self._label("")
        self.verdict.setToolTip(f"holds if: {item['holds_if']}")
        self.look = self._label(f"<b>Look at:</b> {escape(item['look_at'])}")
        for w in (self.head, self.quote, self.verdict, self.look):
            lay.addWidget(w)
        self.why = self._label("") if item.get("why") else None
        if self.why is not None:
            lay.addWidget(self.why)
        rows = QGridLayout()  # two buttons a row, so a claim with many runs still fits a narrow dock
        rows.setSpacing(4)
        self.buttons: list[QPushButton] = []
        own = f"Run: {item['label']}" if item.get("label") else "Run"
        runs = [(own, item["config"])] + [(f"Run: {c['label']}", c["config"]) for c in item.get("compare", [])]
        if item["key"] == "window-vs-rtrl":  # the guided path compares window 1 against RTRL: window 1 first
            runs = runs[1:2] + [("Run: RTRL", item["config"])] + runs[2:]
        for i, (text, cfg) in enumerate(runs):
            b = QPushButton(text)
            b.setToolTip(f"Load {config_label(cfg)} into the window and start it")
            b.clicked.connect(lambda _c=False, cfg=cfg, text=text: on_run(cfg, text, item))
            rows.addWidget(b, i // 2, i % 2)
            self.buttons.append(b)
        rows.setColumnStretch(2, 1)
        lay.addLayout(rows)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The texts with colours: who (muted), the verdict (good, warn, bad or muted), the why (muted)."""
        item, v = self.item, self.item["verdict"]
        self.head.setText(f"<b>{self.number}. {escape(item['title'])}</b> <span style='color:{t.muted}'>"
                          f"({WHO.get(item['who'], escape(item['who']))})</span>")
        colour = t.color(VERDICT_ROLES.get(v, NOT_MEASURED_ROLE))
        self.verdict.setText(f"<b style='color:{colour}'>{escape(v)}</b>"
                             + (f" — {escape(item['measured'])}" if item.get("measured") else ""))
        if self.why is not None:
            self.why.setText(f"<span style='color:{t.muted}'><b>Why:</b> {escape(item['why'])}</span>")

    @staticmethod
    def _label(html: str) -> QLabel:
        lab = QLabel(html)
        lab.setWordWrap(True)
        lab.setTextFormat(Qt.RichText)
        lab.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lab.setMinimumWidth(120)  # else a wrapped label's size hint widens the card past the scroll area
        return lab


class ThreadPanel(QWidget):
    """`services` is the window's WindowServices: load_config(cfg, start=True) and the message bar."""

    def __init__(self, services, report: dict | None = None, parent=None):
        super().__init__(parent)
        self.services = services
        report = report if report is not None else load_shipped()
        self.items = guided_order(thread_items(report if report is not None else {}))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        intro = QLabel(
            "<b>The thread, claim by claim.</b> Follow 1 → 4: the question's online GRU fails, a readout fixes it, "
            "the answer's batch GRU learns, and at lag 3 a window of 1 misses seeds that RTRL learns. "
            "<b>Run</b> loads a claim's config into the window and starts it.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        body = QWidget()
        blay = QVBoxLayout(body)
        blay.setContentsMargins(0, 0, 0, 0)
        self.cards: list[ClaimCard] = []
        for i, it in enumerate(self.items, 1):
            if i == len(GUIDE) + 1:
                more = QLabel("<b>The rest of the thread</b>")
                blay.addWidget(more)
            card = ClaimCard(i, it, self.run_config)
            blay.addWidget(card)
            self.cards.append(card)
        blay.addStretch(1)
        scroll.setWidget(body)
        lay.addWidget(scroll, 1)
        self.source = QLabel(self._source_text(report))
        self.source.setWordWrap(True)
        lay.addWidget(self.source)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        self.source.setStyleSheet(f"color: {t.muted}")

    @staticmethod
    def _source_text(report: dict | None) -> str:
        if report is None:
            return ("No measured verdicts (the shipped claims.json is missing): run "
                    f"<code>{escape(refresh_command())}</code> (about 3 minutes).")
        when = str(report.get("created", ""))[:16].replace("T", " ")
        seeds = report.get("seeds", "?")
        if isinstance(seeds, list) and seeds:
            seeds = f"{len(seeds)}" + (f" ({seeds[0]}–{seeds[-1]})" if len(seeds) > 1 else f" ({seeds[0]})")
        return (f"Verdicts from the last <code>main.py claims</code> run ({seeds} seeds"
                + (f", {escape(when)}" if when else "") + (", interrupted" if report.get("interrupted") else "")
                + f"); measure again with <code>{escape(refresh_command())}</code>.")

    def keys(self) -> list[str]:
        """The claims' keys in the order shown."""
        return [it["key"] for it in self.items]

    def run_config(self, cfg_dict: dict, label: str = "Run", item: dict | None = None) -> bool:
        """Load the config into the window and start it; one message on what to look at."""
        try:
            cfg = Config.from_dict(cfg_dict)
        except ConfigError as e:
            self.services.report_error(f"Cannot load this claim's config: {e}")
            return False
        if not self.services.load_config(cfg, start=True):
            self.services.report_error("This window cannot load a config from the Thread tab.")
            return False
        if item is not None:
            self.services.notify(f"{item['title']} — {config_label(cfg_dict)}. Look at: {item['look_at']}")
        return True
