"""Issue 21 (2): the settings file is a regular file or nothing. core.product.settings_file.vet decides, before Qt's
QSettings opens anything, which file the window may use: a FIFO is never opened (a thread would block), a device
or folder is never written, and a value Qt would decode as binary data (`@Variant`, however it is escaped or split)
or nest too deeply is refused before any decoder sees it; the damaged file is moved aside, byte for byte."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from core.product import settings_file
from core.product.settings_file import MAX_DEPTH, unsafe_value, vet

VARIANT = r"@Variant(\0\0\0\t\x7f\xff\xff\xff)"  # a QVariantList of 2^31-1 elements: std::bad_alloc in Qt


def test_a_fifo_is_never_opened(tmp_path):
    fifo = tmp_path / "settings.ini"
    os.mkfifo(fifo)
    out: list = []
    t = threading.Thread(target=lambda: out.append(vet(str(fifo))), daemon=True)
    t.start()
    t.join(timeout=30)  # a safety net only: vet answers at once
    if t.is_alive():  # opened for reading: let it go (a writer opening releases it) and fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("vet opened the FIFO and blocked")
    v = out[0]
    assert v.path != str(fifo) and not os.path.exists(v.path)
    assert "is a FIFO (named pipe), not a regular file" in v.warning and "left as it is" in v.warning
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert vet(str(fifo)).path == v.path  # one stand-in per path


def test_a_folder_and_a_too_large_file_are_left_alone(tmp_path):
    assert "is a folder" in vet(str(tmp_path)).warning
    big = tmp_path / "big.ini"
    big.write_bytes(b"[a]\nb=1\n" + b";" * settings_file.MAX_FILE_BYTES)
    v = vet(str(big))
    assert "too large" in v.warning and v.path != str(big) and big.stat().st_size > settings_file.MAX_FILE_BYTES


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_character_device_is_left_alone(tmp_path):
    dev = tmp_path / "null"
    os.mknod(dev, stat.S_IFCHR | 0o644, os.makedev(1, 3))
    v = vet(str(dev))
    assert "is a character device" in v.warning and v.path != str(dev)
    assert stat.S_ISCHR(os.stat(dev).st_mode) and os.stat(dev).st_rdev == os.makedev(1, 3)


def test_missing_and_good_files_are_used(tmp_path):
    assert vet(str(tmp_path / "none.ini")) == settings_file.Vetted(str(tmp_path / "none.ini"))
    good = tmp_path / "good.ini"
    good.write_text('[window]\ngeometry="@ByteArray(a,@Variant(x\\0\\x1\\xff\\"q;=\\\\)"\n[view]\nsmoothing=12\n'
                    'l=p, @@q\n[session]\nrecent="[\\"/a b/s.gmlab\\"]"\n')
    assert vet(str(good)) == settings_file.Vetted(str(good))


@pytest.mark.parametrize("value", [
    VARIANT,
    '"' + VARIANT + '"',                                   # quoted
    "a, " + VARIANT,                                       # a list element
    r"\x40Variant(\0\0\0\t\x7f\xff\xff\xff)",              # '@' as a hex escape
    r"\100Variant(\0\0\0\t\x7f\xff\xff\xff)",              # ... as an octal escape
    r"\x10040Variant(\0)",                                 # ... as a hex escape that a 16-bit reader truncates
    r"@\x56ariant(\0)",                                    # the type name escaped
    "@Vari\\\nant(\\0\\0\\0\\t\\x7f\\xff\\xff\\xff)",      # split over a line continuation
    r"@DateTime(\0\0\0\t)",
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    '"' + "[" * 5000 + "]" * 5000 + '"',
    "x" * (settings_file.MAX_VALUE_CHARS + 1),
])
def test_values_a_decoder_could_choke_on_are_refused(value):
    assert unsafe_value(f"[view]\nwindow={value}\n").startswith("[view] window: ")


def test_a_damaged_file_is_moved_aside_whole(tmp_path):
    ini = tmp_path / "settings.ini"
    body = f"[config]\nlast=x\n[view]\nwindow={VARIANT}\n".encode()
    ini.write_bytes(body)
    (tmp_path / "settings.ini.damaged").write_bytes(b"an older one")
    v = vet(str(ini))
    assert v.path == str(ini) and not ini.exists()
    assert (tmp_path / "settings.ini.damaged").read_bytes() == b"an older one"
    assert (tmp_path / "settings.ini.damaged-2").read_bytes() == body
    assert "[view] window: a '@Variant('" in v.warning and "settings.ini.damaged-2" in v.warning
