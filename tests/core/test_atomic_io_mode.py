"""The permission bits of what core.atomic_io writes: a new file gets 0o666 less the process's umask (as open()
would give it; the temporary file itself is created 0o600), an existing file keeps its own bits, for each writer.
The oracle is the POSIX rule, and, in a fresh interpreter, the mode a plain open() gives a file under that umask."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import atomic_io

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process's umask for one test (atomic_io reads it once, at import: read it again the same way)."""
    before = os.umask(0o022)
    os.umask(before)

    def set_mask(mask, monkeypatch):
        os.umask(mask)
        monkeypatch.setattr(atomic_io, "_UMASK", atomic_io._read_umask())
        assert os.umask(mask) == mask  # reading it left it as set
    yield set_mask
    os.umask(before)


def _mode(p) -> int:
    return os.stat(p).st_mode & 0o777


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027, 0o000])
def test_a_new_file_gets_0o666_less_the_umask(tmp_path, umask, monkeypatch, mask):
    umask(mask, monkeypatch)
    want = 0o666 & ~mask
    atomic_io.write_bytes(tmp_path / "a.bin", b"1")
    atomic_io.write_with(tmp_path / "b.csv", lambda fh: fh.write(b"x,y\n"))
    atomic_io.write_files([(tmp_path / "c.json", b"{}"), (tmp_path / "d.txt", b"d")])
    for name in ("a.bin", "b.csv", "c.json", "d.txt"):
        assert oct(_mode(tmp_path / name)) == oct(want), name


def test_an_existing_file_keeps_its_bits_whatever_the_umask(tmp_path, umask, monkeypatch):
    umask(0o077, monkeypatch)
    p = tmp_path / "kept.bin"
    p.write_bytes(b"old")
    os.chmod(p, 0o644)
    atomic_io.write_bytes(p, b"new")
    assert p.read_bytes() == b"new" and oct(_mode(p)) == oct(0o644)
    os.chmod(p, 0o600)
    atomic_io.write_files([(p, b"newer")])
    assert oct(_mode(p)) == oct(0o600)


@pytest.mark.slow
@pytest.mark.parametrize("mask", [0o027, 0o002])
def test_the_umask_read_at_import_is_the_process_umask(tmp_path, mask):
    """In a fresh interpreter started under `mask`: the file atomic_io writes has the mode of one open() made."""
    code = ("import os, sys; from core import atomic_io; "
            "atomic_io.write_bytes(sys.argv[1] + '/atomic', b'1'); open(sys.argv[1] + '/plain', 'wb').close(); "
            "print(oct(os.stat(sys.argv[1] + '/atomic').st_mode & 0o777), "
            "oct(os.stat(sys.argv[1] + '/plain').st_mode & 0o777))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, preexec_fn=lambda: os.umask(mask), check=True).stdout.split()
    assert out == [oct(0o666 & ~mask)] * 2
