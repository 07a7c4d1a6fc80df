"""Issue 21 (6), the window's side of hostile sessions: a session whose `extra` holds 4,000-digit integers, or
floats at float64's edge (1e308, Infinity, NaN), opens without an OverflowError anywhere; its view settings are
ignored and nothing else changes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from tests.gui_helpers import open_, save, steps  # noqa: E402
from tests.session_files import rewrite  # noqa: E402

BIG = 10 ** 3999  # 4,000 digits: under Python's int-from-text limit, so json.loads reads it


def test_huge_numbers_in_extra_open_without_overflow(qtbot, win, tmp_path):
    steps(qtbot, win, 5)
    good = tmp_path / "good.gmlab"
    save(qtbot, win, good)
    before = (win.toolbar.window_spin.value(), win.toolbar.smoothing.value(), win.act_log.isChecked())
    cases = {"ints": {"window": BIG, "smoothing": -BIG, "log": BIG, "layer": BIG},
             "floats": {"window": 1e308, "smoothing": float("inf"), "log": float("nan"), "layer": -1e308}}
    for name, gui in cases.items():
        path = tmp_path / f"{name}.gmlab"
        path.write_bytes(good.read_bytes())
        extra = {"gui": gui, "note": gui["window"], "nested": [gui["smoothing"], {"x": gui["window"]}]}
        rewrite(path, metadata=lambda m, e=extra: {**m, "extra": json.dumps(e)})
        result = open_(qtbot, win, path)
        assert result.ok and result.extra["gui"]["window"] == gui["window"]
        assert win.snap.step == 5 and list(win.message.errors) == [], win.message.errors
        assert (win.toolbar.window_spin.value(), win.toolbar.smoothing.value(), win.act_log.isChecked()) == before
