"""The one way the app writes a file: into a temporary file in the same folder, flushed to disk, then renamed
over the target, so a reader (or the next start after a crash) finds either the old file or the new one, never
half of one.

    write_bytes(path, data)          write `data` (bytes) to `path`
    write_with(path, write)          call `write(fh)` with an open binary file and keep what it wrote
    check_writable(path)             why `path` could not be written (a sentence), or None
    LabFileError                     the error both writers raise: `message` (also str(e)) names the path

Guarantees, for both writers: a write that fails, whatever the reason (no permission, disk full, the callback
raising), leaves any existing file at `path` exactly as it was and no temporary file behind; a new file gets the
old file's permission bits (else the umask's); a symlink is written through to its target. Temporary files are
named `.<name>.<random>.gml-tmp<suffix>` next to the target (hidden, and they keep the target's suffix), and are
locked while written. One left behind by a killed process is removed by the next write into the same folder once
it is STALE_AFTER_S old and nobody holds its lock.

Writers that only produce bytes through their own API (Qt images, pyqtgraph's exporters with toBytes=True) hand
the bytes to `write_bytes`; writers that stream (csv, json.dump) use `write_with`; for text, wrap `fh` in an
io.TextIOWrapper and `detach()` it when done (closing the wrapper would close `fh` before it is synced).
`error=` picks the LabFileError subclass raised (SessionError, ExportError, ...).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from types import ModuleType
from typing import BinaryIO

fcntl: ModuleType | None
try:  # advisory locks where the platform has them; elsewhere staleness is judged by age alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["STALE_AFTER_S", "TEMP_MARK", "LabFileError", "check_writable", "write_bytes", "write_with"]

TEMP_MARK = ".gml-tmp"
STALE_AFTER_S = 60.0
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TEMP_MARK) + r"(\.[^./]{1,16})?")


class LabFileError(Exception):
    """A file could not be read or written; `message` is the user-facing text (also `str(e)`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


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


def os_reason(e: OSError) -> str:
    """An OSError as the end of a sentence: 'permission denied', 'no space left on device'."""
    text = e.strerror or str(e) or type(e).__name__
    return text[:1].lower() + text[1:]


def write_bytes(path, data: bytes, *, error: type[LabFileError] = LabFileError) -> None:
    """Write `data` to `path` atomically; raises `error` (a LabFileError) with a message naming the path."""
    write_with(path, lambda fh: fh.write(data), error=error)


def write_with(path, write: Callable[[BinaryIO], object], *, error: type[LabFileError] = LabFileError) -> None:
    """Call `write(fh)` with a binary file opened on a temporary file next to `path`; when it returns, make that
    file durable and rename it over `path`. An OSError anywhere (the callback's included) raises `error` with
    the reason; any other exception from the callback propagates unchanged. Either way nothing is left behind."""
    try:
        p = os.fsdecode(os.fspath(path))
    except TypeError:
        raise error(f"cannot write: not a file path: {path!r}") from None
    why = check_writable(p)
    if why is not None:
        raise error(f"cannot write {p}: {why}")
    target = os.path.realpath(p) if os.path.islink(p) else p
    folder = os.path.dirname(os.path.abspath(target)) or os.sep
    base = os.path.basename(target)
    remove_stale_temp_files(folder)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else 0o666 & ~_UMASK
    except OSError:
        mode = 0o666 & ~_UMASK
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=TEMP_MARK + os.path.splitext(base)[1])
        with os.fdopen(fd, "wb") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # renamed once closed (Windows cannot rename an open file); the file's mtime is now, so no sweeper
        # (which wants STALE_AFTER_S of age) takes it in the moment between the lock's release and the rename
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise error(f"cannot write {p}: {os_reason(e)}") from None
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


def remove_stale_temp_files(folder: str, older_than_s: float = STALE_AFTER_S) -> list[str]:
    """Remove this module's temporary files in `folder` that a killed writer left: older than `older_than_s`
    and not locked by a live writer. Returns the names removed; never raises."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if TEMP_MARK not in entry.name or not _TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < older_than_s:
                continue
            if _held(entry.path):
                continue
            os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            continue
    return removed


def _held(path: str) -> bool:
    """Whether a live writer holds the file's lock (False where the platform has no locks)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # cannot look: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
