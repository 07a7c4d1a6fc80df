"""The Thread tab: the claims in the guided order with their shipped verdicts, and a Run button that loads the
claim's config into the window and starts it."""

from __future__ import annotations

import pytest

from core.config import Config
from core.runs.claims import CLAIMS, VERDICTS
from core.runs.claims_report import load_shipped
from gui.experiments.thread import GUIDE, VERDICT_ROLES, ThreadPanel
from gui.plots.theme import current
from tests.helpers import FakeServices


def test_claims_listed_in_guided_order_with_their_verdicts(qtbot):
    report = load_shipped()
    assert report is not None, "resources/claims.json ships with the app"
    panel = ThreadPanel(FakeServices(), report=report)
    qtbot.addWidget(panel)
    keys = panel.keys()
    assert keys[:4] == list(GUIDE)  # question -> question-fixed -> answer -> lag 3 window 1 vs RTRL
    assert keys[4:] == [c.key for c in CLAIMS if c.key not in GUIDE]  # the rest in the thread's order
    shipped = {c["key"]: c["verdict"] for c in report["claims"]}
    for card in panel.cards:
        v = shipped[card.item["key"]]
        assert v in VERDICTS
        text = card.verdict.text()
        assert v in text and current().color(VERDICT_ROLES[v]) in text  # the verdict, in its colour
        assert "<i>" in card.quote.text() and card.item["quote"][:20] in card.quote.text()
        assert card.item["look_at"][:20] in card.look.text()
    assert "main.py claims" in panel.source.text()


def test_missing_report_says_not_measured(qtbot, monkeypatch):
    from gui.experiments import thread as tp

    monkeypatch.setattr(tp, "load_shipped", lambda: None)
    panel = ThreadPanel(FakeServices())
    qtbot.addWidget(panel)
    assert all("not measured" in c.verdict.text() for c in panel.cards)
    assert "missing" in panel.source.text()


def test_window_vs_rtrl_offers_window_1_before_rtrl(qtbot):
    svc = FakeServices()
    panel = ThreadPanel(svc, report=load_shipped())
    qtbot.addWidget(panel)
    card = next(c for c in panel.cards if c.item["key"] == "window-vs-rtrl")
    assert [b.text() for b in card.buttons][:2] == ["Run: window 1", "Run: RTRL"]
    card.buttons[0].click()
    cfg, start = svc.loaded[-1]
    assert start and cfg.task.lag == 3 and cfg.train.rule == "tbptt" and cfg.train.window == 1
    card.buttons[1].click()
    assert svc.loaded[-1][0].train.rule == "rtrl"
    assert "Look at" in svc.notes[-1]


@pytest.mark.slow
def test_run_button_loads_question_fixed_into_the_window_and_starts(qtbot, tmp_path, monkeypatch):
    from tests.gui_helpers import make_window

    win = make_window(qtbot, tmp_path, monkeypatch, cfg=Config().replace(readout="raw"))
    win.show_tab("thread")
    card = next(c for c in win.pages.thread_panel.cards if c.item["key"] == "readout-fixes")
    card.buttons[0].click()  # "Run": question-fixed
    assert win.panel.config().model.readout == "linear"
    assert win.state.applied.model.readout == "linear"
    assert win.state.applied.to_dict() == Config.from_dict(card.item["config"]).to_dict()
    qtbot.waitUntil(lambda: win.snap is not None and win.snap.running and win.snap.step > 0
                    and win.snap.config["model"]["readout"] == "linear", timeout=20000)
    win.close()


def test_the_cells_claim_is_shown_with_a_run_per_cell_and_readout(qtbot):
    """cells-cope comes from the claims list (not a fixed list of cards): shown before it is measured, then with its
    verdict; one button per run, each loading its cell."""
    report = {"claims": [{"key": "cells-cope", "verdict": "does not hold", "measured": "rnn: raw state 0/8",
                          "why": "rnn: learns with a readout, fails on the raw state"}]}
    for rep, verdict in (({"claims": []}, "not measured"), (report, "does not hold")):
        svc = FakeServices()
        panel = ThreadPanel(svc, report=rep)
        qtbot.addWidget(panel)
        card = next(c for c in panel.cards if c.item["key"] == "cells-cope")
        assert verdict in card.verdict.text()
    assert "rnn: learns with a readout, fails on the raw state" in card.why.text()
    texts = [b.text() for b in card.buttons]
    assert texts == ["Run: rnn, raw state", "Run: rnn, readout", "Run: gru, raw state", "Run: gru, readout",
                     "Run: lstm, raw state", "Run: lstm, readout"]
    assert card.buttons[0].toolTip().startswith("Load rnn, lag 1, window 1, raw state")
    assert card.buttons[2].toolTip().startswith("Load lag 1, window 1, raw state")  # the GRU's as before
    for b, text in zip(card.buttons, texts):
        b.click()
        cfg, start = svc.loaded[-1]
        cell, what = text.removeprefix("Run: ").split(", ")
        assert start and cfg.model.cell == cell and cfg.model.readout == ("raw" if what == "raw state" else "linear")
