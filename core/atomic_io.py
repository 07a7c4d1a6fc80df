"""The one way the app writes a file: into a temporary file in the same folder, flushed to disk, then renamed
over the target, so a reader (or the next start after a crash) finds either the old file or the new one, never
half of one.

    write_bytes(path, data)          write `data` (bytes) to `path`
    write_with(path, write)          call `write(fh)` with an open binary file and keep what it wrote
    write_files([(path, data), ...]) several files as one unit: all renamed only once all were written
    check_writable(path)             why `path` could not be written (a sentence), or None
    LabFileError                     the error both writers raise: `message` (also str(e)) names the path

Guarantees, for both writers: a write that fails, whatever the reason (no permission, disk full, the callback
raising), leaves any existing file at `path` exactly as it was and no temporary file behind; a new file gets the
old file's permission bits (else the umask's); a symlink is written through to its target. Temporary files are
named `.<name>.p<pid>.<random>.gml-tmp<suffix>` next to the target (hidden, and they keep the target's suffix),
and are locked while written. One left behind by a killed process is removed by the next write into the same
folder (every write calls `remove_stale_temp_files` first): at once when no process has its pid, otherwise
once it is STALE_AFTER_S old; never while a live writer holds its lock.

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
from functools import partial
from types import ModuleType
from typing import BinaryIO

fcntl: ModuleType | None
try:  # advisory locks where the platform has them; elsewhere staleness is judged by age alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["STALE_AFTER_S", "TEMP_MARK", "LabFileError", "check_writable", "write_all", "write_bytes", "write_files",
           "write_with"]

TEMP_MARK = ".gml-tmp"
NAME_MAX, PATH_MAX = 255, 4096  # bytes in one file name and in a path (Linux's; macOS's are 255 and 1024)
TEMP_NAME_EXTRA = 48  # what the temporary name adds to the target's: '.', '.p<pid>.', 8 random, the mark, suffix
STALE_AFTER_S = 60.0
_PID = re.compile(r"\.p([0-9]{1,10})\.[a-z0-9_]{8}" + re.escape(TEMP_MARK))
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
    if len(os.fsencode(p)) > PATH_MAX:
        return f"the path is too long ({len(os.fsencode(p)):,} bytes; at most {PATH_MAX:,})"
    if os.path.islink(p):
        try:
            os.stat(p)
        except FileNotFoundError:
            return f"{p} is a symlink to a missing file (a dangling symlink)"
        except OSError as e:
            return f"{p} is a symlink that cannot be followed ({os_reason(e)})"
        p = os.path.realpath(p)
    folder = os.path.dirname(os.path.abspath(p)) or os.sep
    name = os.fsencode(os.path.basename(p))
    if len(name) + TEMP_NAME_EXTRA > NAME_MAX:
        return (f"the file name is too long ({len(name):,} bytes; at most {NAME_MAX - TEMP_NAME_EXTRA} here, "
                "leaving room for the temporary name it is written under)")
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
    write_all([(path, write)], error=error)


def write_files(items: list[tuple[object, bytes]], *, error: type[LabFileError] = LabFileError) -> None:
    """Write several files as one unit (a report and its pictures): `write_all` with bytes."""
    jobs: list[tuple[object, Callable[[BinaryIO], object]]] = [(p, partial(_put, data)) for p, data in items]
    write_all(jobs, error=error)


def _put(data: bytes, fh: BinaryIO) -> None:
    fh.write(data)


def write_all(items: list[tuple[object, Callable[[BinaryIO], object]]], *,
              error: type[LabFileError] = LabFileError) -> None:
    """Write every (path, write) as one unit: each is written to its own temporary file next to its target and
    made durable; only when all of them exist are they renamed over their targets, in the order given (put the
    file that links to the others last). A failure before the renames (whatever the reason) leaves every target
    exactly as it was and no temporary file behind; `error`'s message names the path that failed."""
    planned = []
    for path, write in items:
        try:
            p = os.fsdecode(os.fspath(path))  # type: ignore[call-overload]
        except TypeError:
            raise error(f"cannot write: not a file path: {path!r}") from None
        why = check_writable(p)
        if why is not None:
            raise error(f"cannot write {p}: {why}")
        target = os.path.realpath(p) if os.path.islink(p) else p
        planned.append((p, target, write))
    temps: list[tuple[str, str, str, int]] = []  # (shown path, temp, target, mode)
    try:
        for p, target, write in planned:
            try:
                temps.append((p, _write_temp(target, write), target, _mode_for(target)))
            except OSError as e:
                raise error(f"cannot write {p}: {os_reason(e)}") from None
        for p, tmp, target, mode in temps:
            try:
                os.chmod(tmp, mode)
                os.replace(tmp, target)
            except OSError as e:  # pragma: no cover - a rename in one folder does not need space
                raise error(f"cannot write {p}: {os_reason(e)}") from None
            _sync_folder(os.path.dirname(os.path.abspath(target)) or os.sep)
    finally:
        for _, tmp, _, _ in temps:
            if os.path.exists(tmp):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _mode_for(target: str) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else 0o666 & ~_UMASK
    except OSError:
        return 0o666 & ~_UMASK


def temp_prefix(base: str) -> str:
    """The start of a temporary file's name for target `base`: '.<base>.p<pid>.'; the writer's pid lets a later
    sweep remove the file at once when that process is gone (`remove_stale_temp_files`)."""
    return f".{base}.p{os.getpid()}."


def _write_temp(target: str, write: Callable[[BinaryIO], object]) -> str:
    """A durable temporary file next to `target` holding what `write(fh)` wrote; its path. Removed on failure."""
    folder = os.path.dirname(os.path.abspath(target)) or os.sep
    base = os.path.basename(target)
    remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=temp_prefix(base), suffix=TEMP_MARK + os.path.splitext(base)[1])
    try:
        with _open_temp(fd, tmp) as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # renamed once closed (Windows cannot rename an open file); a sweeper leaves it alone meanwhile: its
        # writer (this process) is alive and its mtime is younger than STALE_AFTER_S
        return tmp
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _open_temp(fd: int, path: str) -> BinaryIO:
    """The temporary file's binary handle (a seam: the tests put a full disk here, tests/full_disk.py)."""
    return os.fdopen(fd, "wb")


def _sync_folder(folder: str) -> None:
    try:  # make the rename itself durable; harmless where folders cannot be opened
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def remove_stale_temp_files(folder: str, older_than_s: float = STALE_AFTER_S) -> list[str]:
    """Remove this module's temporary files in `folder` that a killed writer left: at once when the pid in its
    name is a process that no longer exists, else once it is older than `older_than_s` (a name without a pid,
    or a live pid that may be a reused one); never one whose lock a live writer holds. Returns the names
    removed; never raises."""
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
            if not stat.S_ISREG(st.st_mode):
                continue
            if not _writer_gone(entry.name) and now - st.st_mtime < older_than_s:
                continue
            if _held(entry.path):
                continue
            os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            continue
    return removed


def _writer_gone(name: str) -> bool:
    """Whether the temporary file's name carries a pid (temp_prefix) of a process that does not exist."""
    m = _PID.search(name)
    if m is None:
        return False
    pid = int(m.group(1))
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # alive (another user's) or cannot tell: the age rule decides
    return False


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
