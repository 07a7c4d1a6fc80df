"""The session file's container: a strict safetensors reader, the writer, the checksum and the storable types.

A session file is one safetensors image, so opening a file never runs code (no pickle):

    8 bytes  little-endian u64 N, the header length
    N bytes  JSON header: {tensor name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}
    rest     the tensors' raw little-endian bytes, back to back

The metadata's "format" is FORMAT_NAME; "checksum" is "sha256:<hex>" over every tensor (name, dtype, shape,
bytes) and the other metadata. What else the metadata and tensors hold, and which version, is core/sessions/gmlab.py's
business. The reader is this module's own parser (bounded sizes, no trailing or overlapping data, no duplicate
keys); the writer is the safetensors library, so other tools can read the files too. Every refusal raises
`Problem`, a reason the caller turns into its own error with the path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Mapping

import numpy as np
from safetensors.numpy import save as st_save

from core.atomic_io import os_reason

FORMAT_NAME = "gru-memory-lab-session"
SUFFIX = ".gmlab"
MAX_FILE_BYTES = 512 * 1024 * 1024  # refuse bigger files before reading them
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSORS = 100_000
MAX_NDIM = 8
MAX_JSON_DEPTH = 32  # how deeply a JSON field (the trainer position, extra) may nest: ours nest at most ~6 deep
# the most bytes each JSON field may take, by the name the caller gives it; others get MAX_HEADER_BYTES
MAX_JSON_BYTES = {"extra": 1024 * 1024, "the trainer position": 16 * 1024 * 1024,
                  "the trainer state": 16 * 1024 * 1024}
_JSON_NAMES = {"extra": "the session's extra data"}  # how a field is named in a message

# safetensors dtype code <-> little-endian numpy dtype (BF16 has no numpy dtype: refused)
DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"), "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"), "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_CODES = {v.str: k for k, v in DTYPES.items()}  # keyed by numpy's dtype text, e.g. "<f4"


class Problem(Exception):
    """Why a file cannot be read or written; the caller adds the path and its own error type."""


def checksum(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> str:
    """sha256 over every tensor (name, dtype, shape, bytes, in name order) and the metadata except the checksum."""
    h = hashlib.sha256()
    meta = sorted((k, v) for k, v in metadata.items() if k != "checksum")
    h.update(json.dumps(meta).encode("utf-8"))
    for name in sorted(tensors):
        a = tensors[name]
        h.update(b"\0" + json.dumps([name, _CODES[a.dtype.str], list(a.shape)]).encode("utf-8") + b"\0")
        h.update(a.tobytes(order="C"))
    return "sha256:" + h.hexdigest()


def as_storable(name: str, value) -> np.ndarray:
    """A contiguous little-endian numpy array of a storable dtype, or a Problem naming `name`."""
    if type(value).__module__.startswith("torch"):  # a tensor (only a trainer's state holds them: torch is loaded)
        import torch

        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        value = value.contiguous().numpy()
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise Problem(f"{name}: cannot store values of type {a.dtype} (numbers and booleans only)")
    le = a.dtype.newbyteorder("<")
    if le.str not in _CODES:
        if a.dtype.kind != "f":
            raise Problem(f"{name}: cannot store values of type {a.dtype}")
        le = np.dtype("<f8")  # e.g. float128
    a = a.astype(le, copy=False)
    return a if a.flags.c_contiguous else a.copy(order="C")  # not ascontiguousarray: it makes scalars 1-D


def build_container(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The file's bytes: the tensors (storable arrays) and the metadata, with the checksum added."""
    metadata = dict(metadata)
    metadata["checksum"] = checksum(tensors, metadata)
    return st_save(tensors, metadata=metadata)


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Problem(f"truncated or corrupt (the key {k!r} appears twice)")
        out[k] = v
    return out


def read_metadata(data: bytes) -> tuple[dict, dict[str, str], int]:
    """(tensor entries, metadata, where the tensor data starts): the header only, checked to be a session's."""
    if len(data) < 8:
        raise Problem("truncated or corrupt (the file is empty)" if not data else
                      f"truncated or corrupt (the file is only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n < 2 or n > MAX_HEADER_BYTES or (len(data) > 8 and data[8:9] != b"{"):
        raise Problem("not a GRU Memory Lab session")
    if len(data) < 8 + n:
        raise Problem("truncated or corrupt (the header is incomplete)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except Problem:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Problem("truncated or corrupt (the header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise Problem("not a GRU Memory Lab session")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise Problem("truncated or corrupt (the header's metadata is not a table of texts)")
    if metadata.get("format") != FORMAT_NAME:
        raise Problem("not a GRU Memory Lab session")
    return header, metadata, 8 + n


def read_tensors(data: bytes, entries: dict, start: int) -> dict[str, np.ndarray]:
    """The tensors the header's entries describe, as writable numpy copies; every byte accounted for."""
    if len(entries) > MAX_TENSORS:
        raise Problem(f"truncated or corrupt (too many tensors: {len(entries)})")
    body = memoryview(data)[start:]
    spans = []
    for name, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise Problem(f"truncated or corrupt (bad entry for tensor {name[:80]!r})")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in DTYPES:
            raise Problem(f"truncated or corrupt (tensor {name[:80]!r} has unsupported type {str(code)[:20]!r})")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(type(d) is int and 0 <= d < 2**62 for d in shape)):
            raise Problem(f"truncated or corrupt (tensor {name[:80]!r} has a bad shape)")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int and 0 <= o < 2**62 for o in offsets) or offsets[0] > offsets[1]):
            raise Problem(f"truncated or corrupt (tensor {name[:80]!r} has bad offsets)")
        if math.prod(shape) * DTYPES[code].itemsize != offsets[1] - offsets[0]:
            raise Problem(f"truncated or corrupt (tensor {name[:80]!r} has a size that does not match its shape)")
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for b, e, _name in sorted(spans):
        if b != end:
            raise Problem("truncated or corrupt (tensor data overlaps or leaves gaps)")
        end = e
    if end > len(body):
        raise Problem("truncated or corrupt (the tensor data is incomplete)")
    if end < len(body):
        raise Problem(f"truncated or corrupt ({len(body) - end} unexpected bytes at the end)")
    tensors: dict[str, np.ndarray] = {}
    for b, e, name in spans:
        entry = entries[name]
        dt = DTYPES[entry["dtype"]]
        if e == b:
            arr = np.zeros(tuple(entry["shape"]), dtype=dt)
        else:
            arr = np.frombuffer(body[b:e], dtype=dt).copy()
            arr.shape = tuple(entry["shape"])
        tensors[name] = arr
    return tensors


KERNEL_FOLDERS = ("/proc/", "/sys/")  # their files may block a reader (/proc/kmsg) or never end


def read_bounded(path: str) -> bytes:
    """The file's bytes, refusing at once (before any read that could block) folders, FIFOs, devices, sockets,
    kernel files (/proc/kmsg, through a symlink too), an empty file and anything over MAX_FILE_BYTES."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Problem("no such file") from None
    except OSError as e:
        raise Problem(os_reason(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise Problem("it is a folder, not a session file")
    if not stat.S_ISREG(st.st_mode):
        raise Problem(f"not a regular file ({_kind(st.st_mode)}), not a session file")
    real = os.path.realpath(path)
    if real.startswith(KERNEL_FOLDERS):
        raise Problem(f"{real} is a kernel file, not a session file")
    if st.st_size == 0:
        raise Problem("truncated or corrupt (the file is empty)")
    if st.st_size > MAX_FILE_BYTES:
        raise Problem(f"the file is {st.st_size / 2**20:.0f} MB, more than a session can be "
                      f"({MAX_FILE_BYTES // 2**20} MB); not a GRU Memory Lab session, or corrupt")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the stat
                raise Problem("not a regular file, not a session file")
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Problem(os_reason(e)) from None
    if len(data) > MAX_FILE_BYTES:
        raise Problem(f"the file is larger than a session can be ({MAX_FILE_BYTES // 2**20} MB)")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply the JSON in `text` nests (a scalar 0, [1] 1, {"a": [1]} 2), counted without parsing it, so
    that a file nested thousands deep is measured, not a RecursionError."""
    depth = deepest = 0
    for m in _JSON_BRACKETS.finditer(_JSON_STRINGS.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_json_text(text: str, what: str) -> None:
    """Problem unless `text` is within the size and depth a JSON field named `what` may have."""
    name = _JSON_NAMES.get(what, what)
    limit = MAX_JSON_BYTES.get(what, MAX_HEADER_BYTES)
    if len(text) > limit:
        raise Problem(f"{name} takes {len(text) / 2**20:.1f} MB (at most {limit / 2**20:.0f} MB)")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise Problem(f"{name} is nested {depth} deep (at most {MAX_JSON_DEPTH})")


def json_text(value, what: str) -> str:
    """`value` as JSON text (NaN allowed, keys sorted); Problem naming `what` if it cannot be, or if it is deeper
    or bigger than json_value would accept (a session this app could not open back is never written)."""
    try:
        text = json.dumps(value, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as e:
        raise Problem(f"{what} cannot be stored as JSON ({e})") from None
    _check_json_text(text, what)
    return text


def json_value(text: str, what: str):
    """The JSON value in `text`; Problem naming `what` if it is not valid JSON, or bigger or more deeply nested
    than a session's field may be (MAX_JSON_BYTES, MAX_JSON_DEPTH): checked before parsing."""
    _check_json_text(text, what)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Problem(f"truncated or corrupt ({_JSON_NAMES.get(what, what)} is not valid JSON)") from None
