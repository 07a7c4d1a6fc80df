"""CSV export of histories: named columns (curves, recent-window rings) to one CSV file, written atomically.

`export_history_csv(path, columns)` is the one entry; every failure raises `ExportError` (a LabFileError) with a
user-facing message naming the path, and a failed export leaves any existing file as it was (core.atomic_io).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from core.atomic_io import LabFileError, write_bytes

__all__ = ["ExportError", "export_history_csv"]


class ExportError(LabFileError):
    """An export could not be written."""


class _Problem(Exception):
    """Why the columns cannot be written, before the path is added."""


def export_history_csv(path, columns: Mapping[str, Any], *, align: str = "start") -> None:
    """Write named columns as CSV (UTF-8, a header row, comma separated), atomically.

    Each column is a 1-D array (one CSV column) or a 2-D array (n, w) (w CSV columns `name[0]` ... `name[w-1]`,
    e.g. a Ring's `last()`). Columns of equal length give one row per element. Columns may differ in length:
    with align="start" row i holds element i of every column that has one; with align="end" the columns' last
    elements share the last row (recent-window rings next to the latest steps). Missing cells are empty. For
    step-aligned curves, pass the step numbers as a column of the same length. Floats are written in the
    shortest text that reads back exactly (nan, inf); booleans as 0/1.
    Raises ExportError (and nothing else) with a user-facing message naming the path.
    """
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        raise ExportError(f"cannot export: not a file path: {path!r}") from None
    try:
        text = _csv_text(columns, align)
    except _Problem as e:
        raise ExportError(f"cannot export {p}: {e}") from None
    except Exception as e:
        raise ExportError(f"cannot export {p}: unexpected problem ({type(e).__name__}: {e})") from None
    write_bytes(p, text.encode("utf-8"), error=ExportError)


def _cells(a: np.ndarray) -> list[str]:
    if a.dtype.kind == "b":
        return ["1" if v else "0" for v in a.tolist()]
    if a.dtype.kind in "iu":
        return [str(v) for v in a.tolist()]
    if a.dtype == np.float64:
        return [repr(v) for v in a.tolist()]  # shortest text that reads back exactly; nan, inf, -inf
    return [str(v) for v in a]  # numpy's shortest text for float32/float16


def _csv_text(columns: Mapping[str, Any], align: str) -> str:
    if align not in ("start", "end"):
        raise _Problem(f"align must be 'start' or 'end', got {align!r}")
    if not isinstance(columns, Mapping) or not columns:
        raise _Problem("there are no columns to export")
    names, cols = [], []
    for name, values in columns.items():
        if not isinstance(name, str):
            raise _Problem(f"column names must be texts, got {name!r}")
        a = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values)
        if a.dtype.kind not in "biuf":
            raise _Problem(f"column {name!r} holds {a.dtype} values (numbers only)")
        if a.ndim == 0:
            a = a.reshape(1)
        if a.ndim == 1:
            names.append(name)
            cols.append(_cells(a))
        elif a.ndim == 2:
            for j in range(a.shape[1]):
                names.append(f"{name}[{j}]")
                cols.append(_cells(a[:, j]))
        else:
            raise _Problem(f"column {name!r} has {a.ndim} dimensions (1 or 2 only)")
    n = max(len(c) for c in cols)
    if align == "end":
        cols = [[""] * (n - len(c)) + c for c in cols]
    else:
        cols = [c + [""] * (n - len(c)) for c in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    w.writerows(zip(*cols))
    return buf.getvalue()
