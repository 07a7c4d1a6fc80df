"""core.atomic_io's answers before and after a write, word for word and at their limits (written against
`make mutation`'s survivors): what check_writable says for each bad path, the name-length limit that leaves room
for the temporary name, the path-length limit, and the error class and message each writer raises."""

import errno
import os

import pytest

from core import atomic_io
from core.atomic_io import NAME_MAX, PATH_MAX, TEMP_NAME_EXTRA, LabFileError, check_writable, os_reason


def test_the_words_for_each_bad_path(tmp_path):
    assert check_writable("") == "no file name given"
    assert check_writable(str(tmp_path) + os.sep) == "no file name given"
    assert check_writable(b"") == "no file name given"  # bytes paths are decoded, not refused
    assert check_writable(str(tmp_path / "a\0b")) == "the file name contains a NUL character"
    assert check_writable(42) == "not a file path: 42"
    assert check_writable(tmp_path / "ok.txt") is None and check_writable(os.fsencode(tmp_path / "ok.txt")) is None


def test_the_name_limit_leaves_room_for_the_temporary_name(tmp_path):
    most = NAME_MAX - TEMP_NAME_EXTRA  # bytes a target's own name may have
    assert check_writable(tmp_path / ("a" * most)) is None
    atomic_io.write_bytes(tmp_path / ("a" * most), b"1")  # and it really can be written
    assert check_writable(tmp_path / ("a" * (most + 1))) == (
        f"the file name is too long ({most + 1:,} bytes; at most {most} here, leaving room for the temporary "
        "name it is written under)")


def test_the_path_limit(tmp_path):
    base = os.fsencode(str(tmp_path)) + b"/"
    at_limit = base + b"d/" * ((PATH_MAX - len(base)) // 2)
    at_limit += b"x" * (PATH_MAX - len(at_limit))
    assert len(at_limit) == PATH_MAX
    assert "the path is too long" not in (check_writable(at_limit) or "")  # exactly PATH_MAX is allowed
    assert check_writable(at_limit + b"y") == f"the path is too long ({PATH_MAX + 1:,} bytes; at most {PATH_MAX:,})"


def test_os_reason_is_the_end_of_a_sentence():
    assert os_reason(OSError(errno.ENOSPC, "No space left on device")) == "no space left on device"
    assert os_reason(OSError("Something odd")) == "something odd"
    assert os_reason(OSError()).lower() == "oserror"  # nothing said: the class's name


def test_each_writer_raises_the_error_class_asked_with_its_message(tmp_path):
    class SessionishError(LabFileError):
        pass

    missing = tmp_path / "no" / "f.bin"
    for write in (lambda: atomic_io.write_bytes(missing, b"1", error=SessionishError),
                  lambda: atomic_io.write_files([(missing, b"1")], error=SessionishError)):
        with pytest.raises(SessionishError) as ei:
            write()
        want = f"cannot write {missing}: the folder {missing.parent} does not exist"
        assert ei.value.message == str(ei.value) == want
    with pytest.raises(LabFileError) as ei:
        atomic_io.write_files([(missing, b"1")])
    assert type(ei.value) is LabFileError


def test_a_symlink_loop_is_named_as_one(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert check_writable(loop) == f"{loop} is a symlink that cannot be followed (too many levels of symbolic links)"


def test_a_full_disk_while_writing_says_so_and_names_the_file(tmp_path, full_disk):
    p = tmp_path / "f.bin"
    with pytest.raises(LabFileError) as ei:
        atomic_io.write_bytes(p, b"1")
    assert ei.value.message == f"cannot write {p}: no space left on device"
    assert not p.exists() and os.listdir(tmp_path) == []


def test_a_writer_that_raises_leaves_no_temporary_file_and_its_error_stands(tmp_path):
    def boom(fh):
        raise ValueError("the callback failed")

    with pytest.raises(ValueError, match="the callback failed"):
        atomic_io.write_all([(tmp_path / "a.bin", lambda fh: fh.write(b"a")), (tmp_path / "b.bin", boom)])
    assert os.listdir(tmp_path) == []


def test_a_file_that_cannot_be_looked_at_gets_the_umask_mode(tmp_path, monkeypatch):
    p = tmp_path / "f.bin"
    p.write_bytes(b"1")
    real_stat = os.stat

    def stat(path, *a, **k):
        if os.fspath(path) == str(p):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_stat(path, *a, **k)

    monkeypatch.setattr(atomic_io.os, "stat", stat)
    monkeypatch.setattr(atomic_io.os.path, "exists", lambda path: True)  # it is there, but stat fails on it
    assert atomic_io._mode_for(str(p)) == 0o666 & ~atomic_io._UMASK


def test_a_failed_rename_says_why_and_names_the_file(tmp_path, monkeypatch):
    def replace(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(atomic_io.os, "replace", replace)
    p = tmp_path / "f.bin"
    with pytest.raises(LabFileError) as ei:
        atomic_io.write_bytes(p, b"1")
    assert ei.value.message == f"cannot write {p}: invalid cross-device link"
    assert os.listdir(tmp_path) == []  # the temporary file is removed
