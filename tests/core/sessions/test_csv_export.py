"""A run's history as CSV: one column per series (a matrix as one column per unit), ragged columns aligned at
the start or the end, one clear ExportError for what cannot be written, and the old file kept when writing fails."""

import csv
import errno
import os

import numpy as np
import pytest

from core import atomic_io as A
from core.sessions.csv_export import ExportError, export_history_csv


# -- CSV -----------------------------------------------------------------------------------------------------
def read_csv(p):
    with open(p, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_equal_columns(tmp_path):
    p = tmp_path / "h.csv"
    export_history_csv(p, {"step": np.arange(3), "loss": np.array([0.5, np.nan, np.inf]),
                           "acc": np.array([0.1, 0.2, 0.3], np.float32), "ok": np.array([True, False, True]),
                           "h": np.arange(6, dtype=np.float32).reshape(3, 2), "a,b": [1, 2, 3]})
    rows = read_csv(p)
    assert rows[0] == ["step", "loss", "acc", "ok", "h[0]", "h[1]", "a,b"]
    assert rows[1] == ["0", "0.5", "0.1", "1", "0.0", "1.0", "1"]
    assert rows[2][1] == "nan" and rows[3][1] == "inf" and float(rows[3][2]) == pytest.approx(0.3)
    assert len(rows) == 4


def test_csv_ragged_columns(tmp_path):
    p = tmp_path / "r.csv"
    cols = {"step": np.arange(4), "recent": np.array([7.0, 8.0])}
    export_history_csv(p, cols)
    assert read_csv(p)[1:] == [["0", "7.0"], ["1", "8.0"], ["2", ""], ["3", ""]]
    export_history_csv(p, cols, align="end")
    assert read_csv(p)[1:] == [["0", ""], ["1", ""], ["2", "7.0"], ["3", "8.0"]]


def test_csv_errors(tmp_path):
    missing = tmp_path / "gone" / "h.csv"
    with pytest.raises(ExportError) as ei:
        export_history_csv(missing, {"a": [1]})
    assert str(missing) in str(ei.value) and "does not exist" in str(ei.value)
    with pytest.raises(ExportError, match="is a folder"):
        export_history_csv(tmp_path, {"a": [1]})
    with pytest.raises(ExportError, match="no columns"):
        export_history_csv(tmp_path / "x.csv", {})
    with pytest.raises(ExportError, match="numbers only"):
        export_history_csv(tmp_path / "x.csv", {"a": ["x"]})
    with pytest.raises(ExportError, match="dimensions"):
        export_history_csv(tmp_path / "x.csv", {"a": np.zeros((2, 2, 2))})
    with pytest.raises(ExportError, match="align"):
        export_history_csv(tmp_path / "x.csv", {"a": [1]}, align="middle")
    assert not os.listdir(tmp_path)


def test_csv_failed_write_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "h.csv"
    export_history_csv(p, {"a": [1, 2]})
    before = p.read_bytes()
    monkeypatch.setattr(A.tempfile, "mkstemp",
                        lambda *a, **k: (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(ExportError, match=f"cannot write {p}: permission denied"):
        export_history_csv(p, {"a": [3]})
    monkeypatch.undo()
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["h.csv"]
