"""Sessions: a trainer, its history and the caller's extra saved to one `.gmlab` file, and opened back exactly.

* `save_session(path, trainer, history, extra)` writes the whole session through core.atomic_io (a temporary
  file in the same folder, then a rename), so a failed save never destroys an existing file.
* `open_session(path) -> Session` validates everything, migrates an older format, rebuilds the trainer from the
  saved config and restores its exact position. Every failure raises `SessionError` with a user-facing message
  and nothing else escapes; opening changes nothing outside the returned object (the global torch RNG included).
* `check_writable(path)` says, before anything is written, why a path could not be written (or None).

This module knows the container's contents and the versions; the container itself (parsing, checksum, bounds)
is core/sessions/container.py, older layouts are core/sessions/migrations.py, and each trainer checks and restores
its own state (`state_dict()` / `load_state_dict()`, which raises core.state_checks.StateError). A file of
format 2 holds, in the container's metadata and tensors:

    format          "gru-memory-lab-session"
    format_version  "2" (FORMAT_VERSION); `version` repeats it, so apps that read format 1 only (they know
                    only `version`) refuse a newer file with "made by a newer version"
    app_version     the GRU Memory Lab that wrote it (information only: the format decides what opens)
    config          the run's Config as TOML (sections task, model, train; train.lr is the live learning rate)
    trainer         the trainer's position as JSON (the meta of its `state_dict()`)
    extra           the caller's JSON object (GUI settings and the like)
    checksum        "sha256:<hex>" over every tensor and the other metadata
    trainer.<name>  the trainer's `state_dict()` tensors (model, optimizer, carried state, ...)
    history.<name>  the caller's history arrays (curves, recent-window rings, ...)

Format 1 (written until the optimizer state got one saved form) had no `format_version`; a file with neither
key counts as format 1. core/ never imports Qt.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tomli_w
import torch

from core.atomic_io import LabFileError, check_writable, write_bytes
from core.config import MAX_BATCH_VALUES, Config, ConfigError
from core.history import MAX_CAPACITY, DecimatingSeries
from core.product.about import version
from core.sessions.container import (
    FORMAT_NAME,
    MAX_FILE_BYTES,
    MAX_NDIM,
    SUFFIX,
    Problem,
    as_storable,
    build_container,
    checksum,
    json_text,
    json_value,
    read_bounded,
    read_metadata,
    read_tensors,
)
from core.sessions.migrations import migrate
from core.state_checks import MAX_STEPS, StateError
from core.train.trainer import make_trainer

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_FILE_BYTES", "SUFFIX", "LabFileError", "Session", "SessionError",
           "check_writable", "open_session", "save_session", "series_from_history", "series_to_history"]

FORMAT_VERSION = 2
MAX_BATCH_CELLS = MAX_BATCH_VALUES  # n_sequences * seq_len a session may ask us to rebuild (Config checks it too)
_REQUIRED_META = ("config", "trainer", "extra", "checksum")


class SessionError(LabFileError):
    """A session could not be saved or opened."""


@dataclass(frozen=True)
class Session:
    """An opened session: the config, the trainer rebuilt and restored, the caller's history and extra.

    `version` is the format the file was written in (older ones were migrated on the way in)."""

    path: str
    version: int
    config: Config
    trainer: Any  # OnlineTrainer | BatchTrainer (whatever core.train.trainer.make_trainer builds for the config)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # e.g. "CUDA was requested but no CUDA device is available; ..."


# -- saving ------------------------------------------------------------------------------------------------
def save_session(path, trainer, history: Mapping[str, Any] | None = None, extra: Mapping | None = None) -> None:
    """Save the whole session to `path` (one file; `SUFFIX` is not added): config, trainer state, history, extra.

    `history` maps names to numeric numpy arrays of any shape (loss curve, accuracy curve, rings' `last()` ...;
    see `series_to_history` for a DecimatingSeries); `extra` is any JSON-able dict (GUI settings). Stop the
    trainer first: the state is read as it is. The write is atomic: on any failure the old file is untouched.
    Raises SessionError (and nothing else) with a user-facing message.
    """
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        raise SessionError(f"cannot save the session: not a file path: {path!r}") from None
    try:
        data = _session_bytes(trainer, history, extra)
    except Problem as e:
        raise SessionError(f"cannot save {p}: {e}") from None
    except MemoryError:
        raise SessionError(f"cannot save {p}: not enough memory") from None
    except Exception as e:  # the boundary: one error type with a message
        raise SessionError(f"cannot save {p}: unexpected problem ({type(e).__name__}: {e})") from None
    write_bytes(p, data, error=SessionError)


def _session_bytes(trainer, history, extra) -> bytes:
    cfg = trainer.cfg.validate()
    t_tensors, t_meta = trainer.state_dict()
    tensors: dict[str, np.ndarray] = {}
    for name, t in t_tensors.items():
        a = as_storable(f"trainer.{name}", t)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise Problem(f"the trainer state contains NaN or infinity ({name}); training has diverged, "
                          "so this state could not be opened again")
        tensors[f"trainer.{name}"] = a
    if extra is None:
        extra = {}
    if not isinstance(extra, Mapping):
        raise Problem(f"extra must be a dict, got {type(extra).__name__}")
    if history is None:
        history = {}
    if not isinstance(history, Mapping):
        raise Problem(f"history must be a dict of arrays, got {type(history).__name__}")
    for name, arr in history.items():
        if not isinstance(name, str) or not name:
            raise Problem(f"history names must be non-empty texts, got {name!r}")
        a = as_storable(f"history {name!r}", arr)
        if a.ndim > MAX_NDIM:
            raise Problem(f"history {name!r} has {a.ndim} dimensions (at most {MAX_NDIM})")
        tensors[f"history.{name}"] = a
    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION), "version": str(FORMAT_VERSION),
                "app_version": version(), "config": tomli_w.dumps(cfg.to_dict()),
                "trainer": json_text(t_meta, "the trainer state"), "extra": json_text(dict(extra), "extra")}
    data = build_container(tensors, metadata)
    if len(data) > MAX_FILE_BYTES:
        raise Problem(f"the session would be {len(data) / 2**20:.0f} MB; sessions are limited to "
                      f"{MAX_FILE_BYTES // 2**20} MB (keep less history)")
    return data


# -- opening -----------------------------------------------------------------------------------------------
def open_session(path) -> Session:
    """Open a session saved by `save_session` (any format up to FORMAT_VERSION): validate it, rebuild the
    trainer, restore its exact position.

    Raises SessionError (and nothing else) with a user-facing message; changes nothing outside the result.
    """
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        raise SessionError(f"cannot open the session: not a file path: {path!r}") from None
    try:
        return _open(p)
    except Problem as e:
        raise SessionError(f"cannot open {p}: {e}") from None
    except MemoryError:
        raise SessionError(f"cannot open {p}: not enough memory to open this session") from None
    except Exception as e:  # the boundary: one error type with a message
        raise SessionError(f"cannot open {p}: truncated or corrupt ({type(e).__name__}: {e})") from None


def file_version(metadata: Mapping[str, str]) -> int:
    """The format a file was written in: `format_version`, else format 1's `version`, else 1 (Problem if it is
    not a number, or newer than this app reads)."""
    texts = [metadata[k] for k in ("format_version", "version") if k in metadata]
    for text in texts:
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise Problem(f"truncated or corrupt (the format version {text[:40]!r} is not a number)")
    versions = [int(t) for t in texts] or [1]
    if max(versions) > FORMAT_VERSION:
        raise Problem(f"made by a newer GRU Memory Lab (format version {max(versions)}; this one reads up to "
                      f"{FORMAT_VERSION})")
    if len(set(versions)) > 1:
        raise Problem(f"truncated or corrupt (the format versions {' and '.join(texts)} disagree)")
    if versions[0] < 1:
        raise Problem(f"truncated or corrupt (unknown format version {versions[0]})")
    return versions[0]


def _open(p: str) -> Session:
    data = read_bounded(p)
    entries, metadata, start = read_metadata(data)
    version = file_version(metadata)  # before anything a newer format may have changed
    tensors = read_tensors(data, entries, start)
    del data
    missing = [k for k in _REQUIRED_META if k not in metadata]
    if missing:
        raise Problem(f"truncated or corrupt (the header lacks {', '.join(missing)})")
    if checksum(tensors, metadata) != metadata["checksum"]:
        raise Problem("truncated or corrupt (the checksum does not match: the file was damaged or edited)")
    cfg = _config(metadata["config"])
    meta = json_value(metadata["trainer"], "the trainer position")
    if not isinstance(meta, dict):
        raise Problem("truncated or corrupt (the trainer position is not a JSON object)")
    extra = json_value(metadata["extra"], "extra")
    if not isinstance(extra, dict):
        raise Problem("truncated or corrupt (extra is not a JSON object)")
    t_tensors, history = {}, {}
    for name, arr in tensors.items():
        if name.startswith("trainer.") and len(name) > len("trainer."):
            t_tensors[name[len("trainer."):]] = arr
        elif name.startswith("history.") and len(name) > len("history."):
            history[name[len("history."):]] = arr
        else:
            raise Problem(f"truncated or corrupt (unexpected tensor {name[:80]!r})")
    cfg, trainer = _restore_trainer(version, cfg, t_tensors, meta)
    warnings = tuple(w for w in (getattr(trainer, "device_warning", None),) if w)
    return Session(path=p, version=version, config=cfg, trainer=trainer, history=history, extra=extra,
                   warnings=warnings)


def _config(text: str) -> Config:
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as e:
        raise Problem(f"config: not valid TOML ({e})") from None
    try:
        return Config.from_dict(raw)
    except ConfigError as e:
        raise Problem(f"config: {e.message}" if e.field == "config" else f"config: {e.field} {e.message}") from None
    except (TypeError, ValueError) as e:
        raise Problem(f"config: {e}") from None


class _torch_rng_kept:
    """Building a trainer seeds torch's global RNG; keep the caller's RNG state (CPU and any CUDA) as it was."""

    def __enter__(self):
        self._cpu = torch.get_rng_state()
        self._cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() \
            else None
        return self

    def __exit__(self, *exc):
        torch.set_rng_state(self._cpu)
        if self._cuda is not None:
            torch.cuda.set_rng_state_all(self._cuda)
        return False


def _restore_trainer(version: int, cfg: Config, saved: dict[str, np.ndarray], meta: dict):
    """(config, trainer) at the saved position. The trainer checks its own state; this adds what holds for any
    trainer: finite values, a data set we are willing to rebuild, and an exact re-export of what was read."""
    for name, a in saved.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise Problem(f"the saved weights contain NaN or infinity (trainer.{name}); this session cannot be "
                          "restored")
    cfg, saved, meta = migrate(version, cfg, saved, meta)
    t = cfg.train
    if t.mode == "batch" and t.n_sequences * t.seq_len > MAX_BATCH_CELLS:
        raise Problem(f"the batch data set ({t.n_sequences} x {t.seq_len} steps) is too large to rebuild "
                      f"(at most {MAX_BATCH_CELLS:,} steps)")
    with _torch_rng_kept():
        trainer = make_trainer(cfg)
        try:
            trainer.load_state_dict({k: torch.from_numpy(v) for k, v in saved.items()}, meta)
        except StateError as e:
            raise Problem(e.text("trainer.")) from None
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, OverflowError) as e:
            raise Problem(f"the trainer state does not fit its config ({type(e).__name__}: {str(e)[:200]})") \
                from None
        back, back_meta = trainer.state_dict()
    if set(back) != set(saved):
        odd = sorted(set(back) ^ set(saved))
        raise Problem(f"the trainer state does not fit its config (unexpected or missing trainer.{odd[0][:80]})")
    for name, tb in back.items():
        a, b = saved[name], tb.detach().cpu().numpy()
        if b.shape != a.shape or b.dtype.str.replace("=", "<") != a.dtype.str or not np.array_equal(a, b):
            raise Problem(f"the trainer state does not restore exactly (trainer.{name})")
    differ = sorted(k for k in set(back_meta) | set(meta)
                    if json_text(back_meta.get(k), k) != json_text(meta.get(k), k))
    if differ:
        raise Problem(f"the trainer position does not restore exactly ({', '.join(k[:40] for k in differ[:3])} "
                      "does not fit the config)")
    return cfg, trainer


# -- history helpers ---------------------------------------------------------------------------------------
def series_to_history(name: str, series: DecimatingSeries) -> dict[str, np.ndarray]:
    """History arrays for a DecimatingSeries: `name` (its values) and `name + ".state"` (its bookkeeping)."""
    s = series.state_dict()
    state = np.array([s["capacity"], s["stride"], s["acc"], s["acc_n"], s["count"]], dtype=np.float64)
    return {name: np.asarray(s["values"], dtype=np.float32), f"{name}.state": state}


def series_from_history(history: Mapping[str, np.ndarray], name: str) -> DecimatingSeries:
    """Rebuild the DecimatingSeries saved with `series_to_history`; SessionError if the arrays do not fit."""
    try:
        values = np.asarray(history[name], dtype=np.float32)
        state = np.asarray(history[f"{name}.state"], dtype=np.float64)
        if values.ndim != 1 or state.shape != (5,) or not np.isfinite(state).all():
            raise ValueError("malformed")
        capacity, stride, acc, acc_n, count = state.tolist()
        if capacity != int(capacity) or not (2 <= capacity <= MAX_CAPACITY) or stride < 1 or acc_n < 0 \
                or count < 0 or stride > MAX_STEPS or count > MAX_STEPS:
            raise ValueError(f"malformed: capacity, stride or count out of range (capacity at most {MAX_CAPACITY:,})")
        series = DecimatingSeries(int(capacity))
        series.load_state_dict({"values": values, "stride": int(stride), "acc": acc, "acc_n": int(acc_n),
                                "count": int(count)})
        return series
    except (KeyError, TypeError, ValueError) as e:
        raise SessionError(f"the history series {name!r} is missing or malformed ({e})") from None
