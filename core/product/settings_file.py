"""The window's settings file, vetted before Qt's INI reader (QSettings) ever opens it: `vet(path)` says which file
the window may read and write, and why not the one named. Qt-free (the window passes the answer to QSettings).

QSettings reads its file as it is constructed and decodes `@Variant(...)`/`@DateTime(...)` values with
QDataStream while parsing: a FIFO there blocks start-up for ever, a device or folder is written over by its
temp-and-rename save, and a crafted `@Variant` (a list of 2^31 elements) aborts the process with std::bad_alloc.
So, before QSettings sees the path:

* not there: fine (QSettings makes it on the first save);
* there but not a regular file (a FIFO, a device, a folder, a socket; symlinks followed), unreadable, or larger
  than MAX_FILE_BYTES: never opened for reading beyond an os.stat (FIFOs never opened at all) and never written;
  a private empty stand-in file (removed at exit) is used instead, so the defaults apply and nothing is saved;
* a regular file: its text is decoded as Qt would (escapes, quotes, line continuations, list commas) and every
  value is bounded: a value element starting with `@` other than the forms Qt writes itself (`@@`,
  `@ByteArray(`, `@String(`, `@Rect(`, `@Size(`, `@Point(`, `@Invalid()`), a value longer than MAX_VALUE_CHARS,
  or one nesting `[`/`{` deeper than MAX_DEPTH makes the file unsafe: it is moved aside (to `<name>.damaged`,
  nothing of it lost) and the window starts from the defaults with a fresh file.

Each outcome that is not "use it" comes with one warning sentence (the caller logs it and shows it once).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass

MAX_FILE_BYTES = 1024 * 1024
MAX_VALUE_CHARS = 256 * 1024
MAX_DEPTH = 32  # as a session's JSON fields (core/sessions/container.py)
SAFE_AT_FORMS = ("@@", "@ByteArray(", "@String(", "@Rect(", "@Size(", "@Point(", "@Invalid()")
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"))
_OCTAL, _HEX = "01234567", "0123456789abcdefABCDEF"


@dataclass(frozen=True)
class Vetted:
    """`path`: the file QSettings may use; `warning`: one sentence when it is not the file named (else None)."""

    path: str
    warning: str | None = None


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def vet(path: str) -> Vetted:
    """Which file the window's settings may be read from and written to, instead of `path` when that one is not
    safe (module docstring); never blocks, never raises."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Vetted(path)
    except OSError as e:
        return _stand_in(path, f"cannot be looked at ({_reason(e)})")
    if not stat.S_ISREG(st.st_mode):
        return _stand_in(path, f"is {kind_of(st.st_mode)}, not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        return _stand_in(path, f"is too large to be a settings file ({st.st_size:,} bytes; at most {MAX_FILE_BYTES:,})")
    try:
        data = _read_regular(path)
    except OSError as e:
        return _stand_in(path, f"cannot be read ({_reason(e)})")
    why = unsafe_value(data.decode("utf-8", errors="replace"))
    if why is None:
        return Vetted(path)
    aside = _move_aside(path)
    if aside is None:
        return _stand_in(path, f"holds a value that cannot be read safely ({why})")
    return Vetted(path, f"warning: the settings file {path} held a value that cannot be read safely ({why}); it was "
                        f"moved to {aside} and the window starts from the defaults")


def _reason(e: OSError) -> str:
    text = e.strerror or type(e).__name__
    return text[:1].lower() + text[1:]


def _read_regular(path: str) -> bytes:
    """The file's bytes; opened without blocking and checked again once open (it may have been swapped)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, f"it became {kind_of(st.st_mode)}")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise OSError(0, f"it grew past {MAX_FILE_BYTES:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


_stand_ins: dict[str, str] = {}


def _stand_in(path: str, why: str) -> Vetted:
    """An empty private file for this process to use instead of `path` (the same one for the same path)."""
    if path not in _stand_ins:
        folder = tempfile.mkdtemp(prefix="gml-settings-")
        atexit.register(shutil.rmtree, folder, True)
        _stand_ins[path] = os.path.join(folder, "settings.ini")
    return Vetted(_stand_ins[path], f"warning: the settings file {path} {why}; the window uses the defaults and "
                                    "saves no settings this time (that file is left as it is)")


def _move_aside(path: str) -> str | None:
    """Rename `path` to the first free `<path>.damaged[-N]`; that name, or None when it cannot be moved."""
    for n in range(1, 100):
        aside = f"{path}.damaged" + (f"-{n}" if n > 1 else "")
        if os.path.lexists(aside):
            continue
        try:
            os.link(path, aside)  # never replaces a file already there
            os.unlink(path)
            return aside
        except OSError:
            try:
                if os.path.exists(path) and os.path.samefile(path, aside):
                    os.unlink(aside)  # linked, not unlinked: leave the original where it was
            except OSError:
                pass
            return None
    return None


# -- the INI text as QSettings reads it --------------------------------------------------------------------------
def unsafe_value(text: str) -> str | None:
    """Why this INI text holds a value QSettings should not decode ('[view] window: ...'), or None."""
    section = ""
    for line in _logical_lines(text):
        stripped = line.strip()
        if stripped.startswith("[") and "=" not in stripped.split("]", 1)[0]:
            section = stripped[1:].split("]", 1)[0][:40]
            continue
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        where = f"[{section}] {key.strip()[:40]}"
        if len(value) > MAX_VALUE_CHARS:
            return f"{where}: a value of {len(value):,} characters (at most {MAX_VALUE_CHARS:,})"
        for element in _elements(value):
            e = element.strip()
            if e.startswith("@") and not e.startswith(SAFE_AT_FORMS):
                return f"{where}: a {e[:9]!r}... value, which Qt would decode as binary data"
            depth = 0 if e.startswith("@ByteArray(") else _depth(e)  # binary data: its bytes are not brackets
            if depth > MAX_DEPTH:
                return f"{where}: nested {depth:,} deep (at most {MAX_DEPTH})"
    return None


def _logical_lines(text: str) -> list[str]:
    """Lines with Qt's continuations (a backslash before the line break) joined; the backslash pair removed."""
    out, cur, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "\r\n":
            i += 2
            if i < n and text[i] in "\r\n" and text[i] != text[i - 1]:
                i += 1
            continue
        if c == "\\" and i + 1 < n:
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c in "\r\n":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _elements(value: str) -> list[str]:
    """The value's list elements, unescaped as Qt does (\\x hex, octal, \\c), quotes grouping, commas splitting."""
    out: list[str] = []
    cur: list[str] = []
    in_quotes, i, n = False, 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            d = value[i + 1]
            digits, base, j = (_HEX, 16, i + 2) if d in "xX" else (_OCTAL, 8, i + 1) if d in _OCTAL else ("", 0, i)
            if base:
                k, code, at = j, 0, False
                while k < n and value[k] in digits:  # any prefix of the digits may be what a reader takes
                    code = code * base + int(value[k], 16)
                    at = at or 0x40 in (code, code & 0xFFFF, code & 0xFF)
                    k += 1
                cur.append("@" if at else chr(code & 0xFFFF))
                i = k
                continue
            cur.append(d)
            i += 2
            continue
        if c == '"':
            in_quotes = not in_quotes
        elif c == "," and not in_quotes:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    out.append(value.replace('"', ""))  # the whole value too: a reader that splits otherwise sees no other start
    return out


def _depth(text: str) -> int:
    deepest = depth = 0
    for c in text:
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}" and depth:
            depth -= 1
    return deepest
