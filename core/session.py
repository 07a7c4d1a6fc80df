"""Sessions and exports: one `.gmlab` file per session, CSV export of histories, and path checks.

This module owns the session file format and everything that reads or writes it:

* `save_session(path, trainer, history, extra)` writes the whole session atomically (a temporary file in the
  same folder, then `os.replace`), so a failed save never destroys an existing file.
* `open_session(path) -> Session` validates everything, rebuilds the trainer from the saved config and restores
  its exact position. Every failure raises `SessionError` with a user-facing message and nothing else escapes;
  opening changes nothing outside the returned object (the global torch RNG included).
* `export_history_csv(path, columns)` writes named columns as CSV, atomically; failures raise `ExportError`.
* `check_writable(path)` says, before anything is written, why a path could not be written (or None).

The file format (version 1) is a single safetensors file, so opening a file never runs code (no pickle):

    8 bytes  little-endian u64 N, the header length
    N bytes  JSON header: {tensor name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}
    rest     the tensors' raw little-endian bytes, back to back

    __metadata__:  format    "gru-memory-lab-session"
                   version   "1"
                   config    the run's Config as TOML (sections task, model, train)
                   trainer   the trainer's position meta as JSON (its `state_dict()` meta)
                   extra     the caller's JSON object (GUI settings and the like)
                   checksum  "sha256:<hex>" over every tensor (name, dtype, shape, bytes) and the other metadata
    tensors:       trainer.<name>   the trainer's `state_dict()` tensors (model, optimizer, carried state, ...)
                   history.<name>   the caller's history arrays (curves, recent-window rings, ...)

The reader is this module's own strict parser (bounded sizes, no trailing or overlapping data); the writer is
the safetensors library, so other tools can read the files too. core/ never imports Qt.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tomli_w
import torch

from .config import Config, ConfigError
from .history import DecimatingSeries

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_FILE_BYTES", "SUFFIX", "ExportError", "LabFileError", "Session",
           "SessionError", "check_writable", "export_history_csv", "open_session", "save_session",
           "series_from_history", "series_to_history"]

FORMAT_NAME = "gru-memory-lab-session"
FORMAT_VERSION = 1
SUFFIX = ".gmlab"
MAX_FILE_BYTES = 512 * 1024 * 1024  # refuse bigger files before reading them
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSORS = 100_000
MAX_NDIM = 8
MAX_BATCH_CELLS = 200_000_000  # n_sequences * seq_len a session may ask us to rebuild

# safetensors dtype code <-> little-endian numpy dtype (BF16 has no numpy dtype: refused)
_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"), "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"), "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_CODES = {v.str: k for k, v in _DTYPES.items()}  # keyed by numpy's dtype text, e.g. "<f4"
_REQUIRED_META = ("format", "version", "config", "trainer", "extra", "checksum")


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


# -- errors ------------------------------------------------------------------------------------------------
class LabFileError(Exception):
    """A file could not be read or written; `message` is the user-facing text (also `str(e)`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SessionError(LabFileError):
    """A session could not be saved or opened."""


class ExportError(LabFileError):
    """An export could not be written."""


class _Problem(Exception):
    """Internal: a reason, turned into a SessionError with the path at the boundary."""


# -- the opened session ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    """An opened session: the config, the trainer rebuilt and restored, the caller's history and extra."""

    path: str
    version: int
    config: Config
    trainer: Any  # OnlineTrainer | BatchTrainer (whatever core.trainers.make_trainer builds for the config)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # e.g. "CUDA was requested but no CUDA device is available; ..."


# -- paths and atomic writes -------------------------------------------------------------------------------
def check_writable(path) -> str | None:
    """Why `path` could not be written (the folder is missing or not writable, the path is a folder), or None."""
    try:
        p = os.fspath(path)
    except TypeError:
        return f"not a file path: {path!r}"
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if not p or p.endswith(os.sep):
        return "no file name given"
    if "\0" in p:
        return "the file name contains a NUL character"
    folder = os.path.dirname(os.path.abspath(p)) or os.sep
    if os.path.isdir(p):
        return f"{p} is a folder, not a file"
    if not os.path.exists(folder):
        return f"the folder {folder} does not exist"
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable (permission denied)"
    if os.path.exists(p) and not os.path.isfile(p):
        return f"{p} is not a regular file"
    return None


def _os_reason(e: OSError) -> str:
    text = e.strerror or str(e) or type(e).__name__
    return text[:1].lower() + text[1:]


def _atomic_write(path: str, data: bytes, error: type[LabFileError]) -> None:
    """Write `data` to a temporary file next to `path`, then replace `path` with it; nothing half-written."""
    p = os.fsdecode(os.fspath(path))
    why = check_writable(p)
    if why is not None:
        raise error(f"cannot write {p}: {why}")
    target = os.path.realpath(p) if os.path.islink(p) else p
    folder = os.path.dirname(os.path.abspath(target)) or os.sep
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else 0o666 & ~_UMASK
    except OSError:
        mode = 0o666 & ~_UMASK
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise error(f"cannot write {p}: {_os_reason(e)}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:  # make the rename itself durable; harmless where folders cannot be opened
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# -- the container -----------------------------------------------------------------------------------------
def _checksum(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> str:
    """sha256 over every tensor (name, dtype, shape, bytes, in name order) and the metadata except the checksum."""
    h = hashlib.sha256()
    meta = sorted((k, v) for k, v in metadata.items() if k != "checksum")
    h.update(json.dumps(meta).encode("utf-8"))
    for name in sorted(tensors):
        a = tensors[name]
        h.update(b"\0" + json.dumps([name, _CODES[a.dtype.str], list(a.shape)]).encode("utf-8") + b"\0")
        h.update(a.tobytes(order="C"))
    return "sha256:" + h.hexdigest()


def _as_storable(name: str, value) -> np.ndarray:
    """A contiguous little-endian numpy array of a storable dtype, or a _Problem naming `name`."""
    if torch.is_tensor(value):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        value = value.contiguous().numpy()
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise _Problem(f"{name}: cannot store values of type {a.dtype} (numbers and booleans only)")
    le = a.dtype.newbyteorder("<")
    if le.str not in _CODES:
        if a.dtype.kind != "f":
            raise _Problem(f"{name}: cannot store values of type {a.dtype}")
        le = np.dtype("<f8")  # e.g. float128
    a = a.astype(le, copy=False)
    return a if a.flags.c_contiguous else a.copy(order="C")  # not ascontiguousarray: it makes scalars 1-D


def _duplicate_check(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Problem(f"truncated or corrupt (the key {k!r} appears twice)")
        out[k] = v
    return out


def _parse_container(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Strictly parse a safetensors image: (tensors as writable numpy copies, metadata); _Problem if invalid."""
    if len(data) < 8:
        raise _Problem("truncated or corrupt (the file is empty)" if not data else
                       f"truncated or corrupt (the file is only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n < 2 or n > MAX_HEADER_BYTES or (len(data) > 8 and data[8:9] != b"{"):
        raise _Problem("not a GRU Memory Lab session")
    if len(data) < 8 + n:
        raise _Problem("truncated or corrupt (the header is incomplete)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=_duplicate_check)
    except _Problem:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Problem("truncated or corrupt (the header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise _Problem("not a GRU Memory Lab session")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise _Problem("truncated or corrupt (the header's metadata is not a table of texts)")
    if metadata.get("format") != FORMAT_NAME:
        raise _Problem("not a GRU Memory Lab session")
    version_text = metadata.get("version", "")
    if not re.fullmatch(r"[0-9]{1,9}", version_text):
        raise _Problem(f"truncated or corrupt (the format version {version_text[:40]!r} is not a number)")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise _Problem(f"made by a newer version ({version}); this app reads up to {FORMAT_VERSION}")
    if version < 1:
        raise _Problem(f"truncated or corrupt (unknown format version {version})")
    if len(header) > MAX_TENSORS:
        raise _Problem(f"truncated or corrupt (too many tensors: {len(header)})")
    body = memoryview(data)[8 + n:]
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _Problem(f"truncated or corrupt (bad entry for tensor {name[:80]!r})")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in _DTYPES:
            raise _Problem(f"truncated or corrupt (tensor {name[:80]!r} has unsupported type {str(code)[:20]!r})")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(type(d) is int and 0 <= d < 2**62 for d in shape)):
            raise _Problem(f"truncated or corrupt (tensor {name[:80]!r} has a bad shape)")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int and 0 <= o < 2**62 for o in offsets) or offsets[0] > offsets[1]):
            raise _Problem(f"truncated or corrupt (tensor {name[:80]!r} has bad offsets)")
        if math.prod(shape) * _DTYPES[code].itemsize != offsets[1] - offsets[0]:
            raise _Problem(f"truncated or corrupt (tensor {name[:80]!r} has a size that does not match its shape)")
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for b, e, _name in sorted(spans):
        if b != end:
            raise _Problem("truncated or corrupt (tensor data overlaps or leaves gaps)")
        end = e
    if end > len(body):
        raise _Problem("truncated or corrupt (the tensor data is incomplete)")
    if end < len(body):
        raise _Problem(f"truncated or corrupt ({len(body) - end} unexpected bytes at the end)")
    tensors: dict[str, np.ndarray] = {}
    for b, e, name in spans:
        entry = header[name]
        dt = _DTYPES[entry["dtype"]]
        if e == b:
            arr = np.zeros(tuple(entry["shape"]), dtype=dt)
        else:
            arr = np.frombuffer(body[b:e], dtype=dt).copy()
            arr.shape = tuple(entry["shape"])
        tensors[name] = arr
    return tensors, metadata


def _build_file(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    from safetensors.numpy import save as st_save

    metadata = dict(metadata)
    metadata["checksum"] = _checksum(tensors, metadata)
    return st_save(tensors, metadata=metadata)


# -- saving ------------------------------------------------------------------------------------------------
def _json_text(value, what: str) -> str:
    try:
        text = json.dumps(value, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as e:
        raise _Problem(f"{what} cannot be stored as JSON ({e})") from None
    return text


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
    except SessionError:
        raise
    except _Problem as e:
        raise SessionError(f"cannot save {p}: {e}") from None
    except MemoryError:
        raise SessionError(f"cannot save {p}: not enough memory") from None
    except Exception as e:  # the boundary: one error type with a message
        raise SessionError(f"cannot save {p}: unexpected problem ({type(e).__name__}: {e})") from None
    _atomic_write(p, data, SessionError)


def _session_bytes(trainer, history, extra) -> bytes:
    cfg = trainer.cfg.validate()
    config_text = tomli_w.dumps(cfg.to_dict())
    t_tensors, t_meta = trainer.state_dict()
    tensors: dict[str, np.ndarray] = {}
    for name, t in t_tensors.items():
        a = _as_storable(f"trainer.{name}", t)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise _Problem(f"the trainer state contains NaN or infinity ({name}); training has diverged, "
                           "so this state could not be opened again")
        tensors[f"trainer.{name}"] = a
    meta_text = _json_text(t_meta, "the trainer state")
    if extra is None:
        extra = {}
    if not isinstance(extra, Mapping):
        raise _Problem(f"extra must be a dict, got {type(extra).__name__}")
    extra_text = _json_text(dict(extra), "extra")
    if history is None:
        history = {}
    if not isinstance(history, Mapping):
        raise _Problem(f"history must be a dict of arrays, got {type(history).__name__}")
    for name, arr in history.items():
        if not isinstance(name, str) or not name:
            raise _Problem(f"history names must be non-empty texts, got {name!r}")
        a = _as_storable(f"history {name!r}", arr)
        if a.ndim > MAX_NDIM:
            raise _Problem(f"history {name!r} has {a.ndim} dimensions (at most {MAX_NDIM})")
        tensors[f"history.{name}"] = a
    metadata = {"format": FORMAT_NAME, "version": str(FORMAT_VERSION), "config": config_text,
                "trainer": meta_text, "extra": extra_text}
    data = _build_file(tensors, metadata)
    if len(data) > MAX_FILE_BYTES:
        raise _Problem(f"the session would be {len(data) / 2**20:.0f} MB; sessions are limited to "
                       f"{MAX_FILE_BYTES // 2**20} MB (keep less history)")
    return data


# -- opening -----------------------------------------------------------------------------------------------
def open_session(path) -> Session:
    """Open a session saved by `save_session`: validate it, rebuild the trainer, restore its exact position.

    Raises SessionError (and nothing else) with a user-facing message; changes nothing outside the result.
    """
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        raise SessionError(f"cannot open the session: not a file path: {path!r}") from None
    try:
        return _open(p)
    except SessionError:
        raise
    except _Problem as e:
        raise SessionError(f"cannot open {p}: {e}") from None
    except MemoryError:
        raise SessionError(f"cannot open {p}: not enough memory to open this session") from None
    except Exception as e:  # the boundary: one error type with a message
        raise SessionError(f"cannot open {p}: truncated or corrupt ({type(e).__name__}: {e})") from None


def _read_bounded(p: str) -> bytes:
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise _Problem("no such file") from None
    except OSError as e:
        raise _Problem(_os_reason(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise _Problem("it is a folder, not a session file")
    if not stat.S_ISREG(st.st_mode):
        raise _Problem("not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise _Problem(f"the file is {st.st_size / 2**20:.0f} MB, more than a session can be "
                       f"({MAX_FILE_BYTES // 2**20} MB); not a GRU Memory Lab session, or corrupt")
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise _Problem(_os_reason(e)) from None
    if len(data) > MAX_FILE_BYTES:
        raise _Problem(f"the file is larger than a session can be ({MAX_FILE_BYTES // 2**20} MB)")
    return data


def _open(p: str) -> Session:
    data = _read_bounded(p)
    tensors, metadata = _parse_container(data)
    del data
    missing = [k for k in _REQUIRED_META if k not in metadata]
    if missing:
        raise _Problem(f"truncated or corrupt (the header lacks {', '.join(missing)})")
    if _checksum(tensors, metadata) != metadata["checksum"]:
        raise _Problem("truncated or corrupt (the checksum does not match: the file was damaged or edited)")
    version = int(metadata["version"])
    try:
        raw_cfg = tomllib.loads(metadata["config"])
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as e:
        raise _Problem(f"config: not valid TOML ({e})") from None
    try:
        cfg = Config.from_dict(raw_cfg)
    except ConfigError as e:
        raise _Problem(f"config: {e.message}" if e.field == "config" else f"config: {e.field} {e.message}") \
            from None
    except (TypeError, ValueError) as e:
        raise _Problem(f"config: {e}") from None
    meta = _json_value(metadata["trainer"], "the trainer position")
    if not isinstance(meta, dict):
        raise _Problem("truncated or corrupt (the trainer position is not a JSON object)")
    extra = _json_value(metadata["extra"], "extra")
    if not isinstance(extra, dict):
        raise _Problem("truncated or corrupt (extra is not a JSON object)")
    t_tensors, history = {}, {}
    for name, arr in tensors.items():
        if name.startswith("trainer.") and len(name) > len("trainer."):
            t_tensors[name[len("trainer."):]] = arr
        elif name.startswith("history.") and len(name) > len("history."):
            history[name[len("history."):]] = arr
        else:
            raise _Problem(f"truncated or corrupt (unexpected tensor {name[:80]!r})")
    trainer = _restore_trainer(cfg, t_tensors, meta)
    warnings = tuple(w for w in (getattr(trainer, "device_warning", None),) if w)
    return Session(path=p, version=version, config=cfg, trainer=trainer, history=history, extra=extra,
                   warnings=warnings)


def _json_value(text: str, what: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _Problem(f"truncated or corrupt ({what} is not valid JSON)") from None


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


def _np_dtype(t: torch.Tensor) -> np.dtype:
    return np.dtype(torch.empty(0, dtype=t.dtype).numpy().dtype.str.replace("=", "<"))


def _shape(s) -> str:
    s = tuple(s)
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _precheck(cfg: Config, tensors: dict[str, np.ndarray]) -> None:
    """Cheap checks before building the trainer: model shapes from the config, the batch data set's size."""
    from .model import GRUModel

    with torch.device("meta"):
        model = GRUModel(cfg.model)
    for k, v in model.state_dict().items():
        name = f"model.{k}"
        if name not in tensors:
            raise _Problem(f"the trainer state lacks trainer.{name}")
        if tuple(tensors[name].shape) != tuple(v.shape):
            raise _Problem(f"trainer.{name} has shape {_shape(tensors[name].shape)}, but this config "
                           f"(model.units = {cfg.model.units}, readout {cfg.model.readout}) needs {_shape(v.shape)}")
    t = cfg.train
    if t.mode == "batch":
        cells = t.n_sequences * t.seq_len
        if cells > MAX_BATCH_CELLS:
            raise _Problem(f"the batch data set ({t.n_sequences} x {t.seq_len} steps) is too large to rebuild "
                           f"(at most {MAX_BATCH_CELLS:,} steps)")
        from .tasks import keras_split_at

        n_train = keras_split_at(t.n_sequences, t.validation_split)
        if "perm" not in tensors:
            raise _Problem("the trainer state lacks trainer.perm (a batch run's shuffle order)")
        if tuple(tensors["perm"].shape) != (n_train,):
            raise _Problem(f"trainer.perm has shape {_shape(tensors['perm'].shape)}, but this config has "
                           f"{n_train} training sequences")


def _is_int(v) -> bool:
    return type(v) is int


def _bits(v, what: str, length: int | None = None) -> list:
    if not isinstance(v, list) or not all(_is_int(b) and b in (0, 1) for b in v):
        raise _Problem(f"truncated or corrupt ({what} must be a list of 0/1 bits)")
    if length is not None and len(v) != length:
        raise _Problem(f"truncated or corrupt ({what} has {len(v)} bits, expected {length})")
    return v


def _int_in(meta: dict, key: str, lo: int, hi: int, what: str) -> int:
    v = meta.get(key)
    if not _is_int(v) or not lo <= v <= hi:
        raise _Problem(f"truncated or corrupt ({what} {key} = {str(v)[:40]} is not an integer in [{lo}, {hi}])")
    return v


def _number(v) -> bool:
    return type(v) in (int, float)


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def _check_param_groups(saved, template) -> None:
    """The optimizer's settings: only the learning rate may differ from a fresh optimizer's (it changes live)."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    fresh = template.get("param_groups", [])
    if not isinstance(groups, list) or len(groups) != len(fresh) or not all(isinstance(g, dict) for g in groups):
        raise _Problem("truncated or corrupt (the optimizer settings are malformed)")
    for g, tg in zip(groups, fresh):
        for key, value in g.items():
            if key == "lr":
                if not _number(value) or not (0 < value <= 100):
                    raise _Problem(f"truncated or corrupt (the optimizer's learning rate is {str(value)[:40]})")
            elif key in tg:
                if _canonical(value) != _canonical(tg[key]):
                    raise _Problem(f"the optimizer setting {key!r} is {_canonical(value)[:40]}; this app uses "
                                   f"{_canonical(tg[key])[:40]}")
            elif value is not None and type(value) not in (bool, int, float, str):
                raise _Problem(f"truncated or corrupt (the optimizer setting {key[:40]!r} is malformed)")


def _check_meta(trainer, cfg: Config, tensors: dict[str, np.ndarray], meta: dict, template_meta: dict) -> None:
    """Semantic checks of the position, so a restored trainer never fails later on its next step."""
    if set(meta) != set(template_meta):
        missing, unknown = set(template_meta) - set(meta), set(meta) - set(template_meta)
        parts = ([f"lacks {', '.join(sorted(missing))}"] if missing else []) + \
                ([f"has unknown {', '.join(sorted(k[:40] for k in unknown))}"] if unknown else [])
        raise _Problem(f"the trainer position {'; '.join(parts)} (made for another trainer?)")
    if "optimizer" in meta:
        _check_param_groups(meta["optimizer"], template_meta["optimizer"])
    if "t" in meta:
        _int_in(meta, "t", 0, 2**62, "the step count")
    if "stream" in meta:
        s = meta["stream"]
        if not isinstance(s, dict) or not isinstance(s.get("rng"), dict):
            raise _Problem("truncated or corrupt (the bit stream's state is malformed)")
        _bits(s.get("past"), "the stream's past inputs", cfg.task.lag)
        x = _bits(s.get("x"), "the stream's buffered inputs")
        _bits(s.get("y"), "the stream's buffered targets", len(x))
        _int_in(s, "i", 0, len(x), "the stream's")
        _int_in(s, "t", 0, 2**62, "the stream's")
    if "window_x" in meta:
        wx = _bits(meta["window_x"], "the window's inputs")
        if len(wx) > cfg.train.window:
            raise _Problem(f"truncated or corrupt (the window holds {len(wx)} steps; window is {cfg.train.window})")
        have = {k for k in tensors if k.startswith("window.")}
        want = {f"window.{i}" for i in range(len(wx))}
        if have != want:
            raise _Problem("truncated or corrupt (the window's saved states do not match its inputs)")
    if getattr(trainer, "mode", None) == "batch" and "epoch" in meta:
        epoch = _int_in(meta, "epoch", 0, cfg.train.epochs, "the batch position's")
        _int_in(meta, "batch", 0, max(trainer.batches_per_epoch - 1, 0), "the batch position's")
        _int_in(meta, "sum_n", 0, trainer.n_train, "the batch position's")
        for key in ("sum_loss", "sum_correct"):
            if not _number(meta.get(key)):
                raise _Problem(f"truncated or corrupt (the batch position's {key} is not a number)")
        hist = meta.get("history")
        if (not isinstance(hist, dict) or set(hist) != set(template_meta.get("history", {}))
                or not all(isinstance(v, list) and len(v) == epoch and all(_number(x) for x in v)
                           for v in hist.values())):
            raise _Problem("truncated or corrupt (the epoch history is malformed)")
        if "perm" in tensors:
            perm = tensors["perm"]
            if not np.array_equal(np.sort(perm.astype(np.int64, copy=False)), np.arange(trainer.n_train)):
                raise _Problem("truncated or corrupt (the shuffle order is not a permutation of the sequences)")


def _optimizer_state_keys(opt) -> set[str] | None:
    """The state keys this optimizer keeps per parameter once it has stepped (a dry step on a scratch copy)."""
    try:
        p = torch.nn.Parameter(torch.zeros(1))
        scratch = type(opt)([p], **opt.defaults)
        p.grad = torch.zeros(1)
        scratch.step()
        return set(scratch.state[p].keys())
    except Exception:  # an optimizer we cannot rebuild: the exact re-export check still applies
        return None


def _check_optimizer_completeness(opt, n_params: int, saved: dict[str, np.ndarray]) -> None:
    """Each parameter's optimizer state is whole (all its entries) and either every parameter has one or none."""
    keys = _optimizer_state_keys(opt)
    if keys is None:
        return
    have: dict[int, set[str]] = {}
    for name in saved:
        m = re.fullmatch(r"opt\.([0-9]{1,6})\.(\w+)", name)
        if m:
            have.setdefault(int(m.group(1)), set()).add(m.group(2))
    if not have:
        return
    if set(have) != set(range(n_params)) or any(v != keys for v in have.values()):
        raise _Problem("truncated or corrupt (the optimizer state is incomplete: every parameter needs "
                       f"{', '.join(sorted(keys)) or 'no entries'})")


def _restore_trainer(cfg: Config, saved: dict[str, np.ndarray], meta: dict):
    from .trainers import make_trainer

    for name, a in saved.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise _Problem(f"the saved weights contain NaN or infinity (trainer.{name}); this session cannot be "
                           "restored")
    with _torch_rng_kept():
        _precheck(cfg, saved)
        trainer = make_trainer(cfg)
        template, template_meta = trainer.state_dict()
        for name, t in template.items():
            if name not in saved:
                raise _Problem(f"the trainer state lacks trainer.{name}")
            a = saved[name]
            if tuple(a.shape) != tuple(t.shape):
                raise _Problem(f"trainer.{name} has shape {_shape(a.shape)}, but this config needs "
                               f"{_shape(t.shape)}")
            if a.dtype != _np_dtype(t):
                raise _Problem(f"trainer.{name} holds {a.dtype} values, expected {_np_dtype(t)}")
        params = list(trainer.model.parameters())
        h_shape = tuple(template["h"].shape) if "h" in template else None
        for name in saved.keys() - template.keys():
            a = saved[name]
            m = re.fullmatch(r"opt\.([0-9]{1,6})\.(\w+)", name)
            if m:
                idx = int(m.group(1))
                if idx >= len(params):
                    raise _Problem(f"trainer.{name}: the optimizer state names parameter {idx}, but the model has "
                                   f"{len(params)}")
                step = m.group(2) == "step"
                want = () if step else tuple(params[idx].shape)
                want_dtype = np.dtype("<f4") if step else _np_dtype(params[idx])
                if tuple(a.shape) != want:
                    raise _Problem(f"trainer.{name} has shape {_shape(a.shape)}, but this config needs "
                                   f"{_shape(want)}")
                if a.dtype != want_dtype:
                    raise _Problem(f"trainer.{name} holds {a.dtype} values, expected {want_dtype}")
                if m.group(2) == "step" and not (a >= 1 and a == np.floor(a)):
                    raise _Problem(f"truncated or corrupt (trainer.{name}, an optimizer step count, is {a})")
                if m.group(2).endswith("exp_avg_sq") and (a < 0).any():
                    raise _Problem(f"truncated or corrupt (trainer.{name}, squared averages, has negative values)")
            elif re.fullmatch(r"window\.[0-9]{1,6}", name) and h_shape is not None:
                if tuple(a.shape) != h_shape or a.dtype != np.dtype("<f4"):
                    raise _Problem(f"trainer.{name} has shape {_shape(a.shape)}, but this config needs "
                                   f"{_shape(h_shape)}")
            # anything else must be consumed by load_state_dict: checked by the exact re-export below
        _check_optimizer_completeness(trainer.opt, len(params), saved)
        _check_meta(trainer, cfg, saved, meta, template_meta)
        tt = {k: torch.from_numpy(v) for k, v in saved.items()}
        try:
            trainer.load_state_dict(tt, meta)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, OverflowError) as e:
            raise _Problem(f"the trainer state does not fit its config ({type(e).__name__}: {str(e)[:200]})") \
                from None
        back, back_meta = trainer.state_dict()
    if set(back) != set(saved):
        odd = sorted(set(back) ^ set(saved))
        raise _Problem(f"the trainer state does not fit its config (unexpected or missing trainer.{odd[0][:80]})")
    for name, t in back.items():
        a = saved[name]
        b = t.detach().cpu().numpy()
        if b.shape != a.shape or b.dtype.str.replace("=", "<") != a.dtype.str or not np.array_equal(a, b):
            raise _Problem(f"the trainer state does not restore exactly (trainer.{name})")
    # the optimizer's settings were checked above (torch versions may add or drop settings); the rest is exact
    differ = sorted(k for k in set(back_meta) | set(meta)
                    if k != "optimizer" and _canonical(back_meta.get(k)) != _canonical(meta.get(k)))
    if differ:
        raise _Problem(f"the trainer position does not restore exactly ({', '.join(k[:40] for k in differ[:3])} "
                       "does not fit the config)")
    return trainer


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
        if capacity != int(capacity) or not (2 <= capacity <= 2**31) or stride < 1 or acc_n < 0 or count < 0:
            raise ValueError("malformed")
        series = DecimatingSeries(int(capacity))
        series.load_state_dict({"values": values, "stride": int(stride), "acc": acc, "acc_n": int(acc_n),
                                "count": int(count)})
        return series
    except (KeyError, TypeError, ValueError) as e:
        raise SessionError(f"the history series {name!r} is missing or malformed ({e})") from None


# -- CSV export --------------------------------------------------------------------------------------------
def _cells(a: np.ndarray) -> list[str]:
    if a.dtype.kind == "b":
        return ["1" if v else "0" for v in a.tolist()]
    if a.dtype.kind in "iu":
        return [str(v) for v in a.tolist()]
    if a.dtype == np.float64:
        return [repr(v) for v in a.tolist()]  # shortest text that reads back exactly; nan, inf, -inf
    return [str(v) for v in a]  # numpy's shortest text for float32/float16


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
    except ExportError:
        raise
    except _Problem as e:
        raise ExportError(f"cannot export {p}: {e}") from None
    except Exception as e:
        raise ExportError(f"cannot export {p}: unexpected problem ({type(e).__name__}: {e})") from None
    _atomic_write(p, text.encode("utf-8"), ExportError)


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
