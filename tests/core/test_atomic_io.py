"""core.atomic_io: the one atomic write path. A failed write keeps the old file and leaves no temporary file;
temporary files left by a killed writer are swept by the next write into the folder, live ones never."""

import errno
import io
import os
import subprocess
import sys
import time

import pytest

from core import atomic_io as A
from core.atomic_io import LabFileError, write_bytes, write_with


class MyError(LabFileError):
    pass


def test_write_bytes_and_write_with(tmp_path):
    p = tmp_path / "a.txt"
    write_bytes(p, b"one")
    assert p.read_bytes() == b"one"

    def text(fh):
        t = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        t.write("two\n")
        t.flush()
        t.detach()  # leave fh open: write_with still syncs and closes it
    write_with(p, text)
    assert p.read_text() == "two\n" and os.listdir(tmp_path) == ["a.txt"]


def test_a_failing_callback_keeps_the_old_file(tmp_path):
    p = tmp_path / "keep.csv"
    write_bytes(p, b"old")

    def half(fh):
        fh.write(b"half of it")
        raise KeyError("the writer's own bug")
    with pytest.raises(KeyError):  # not an I/O problem: propagates unchanged
        write_with(p, half)

    def disk_full(fh):
        fh.write(b"half of it")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(MyError, match=f"cannot write {p}: no space left on device"):
        write_with(p, disk_full, error=MyError)
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["keep.csv"]


def test_unwritable_paths_name_the_reason(tmp_path):
    with pytest.raises(LabFileError, match="does not exist"):
        write_bytes(tmp_path / "no" / "x.png", b"x")
    with pytest.raises(LabFileError, match="is a folder"):
        write_bytes(tmp_path, b"x")
    with pytest.raises(LabFileError, match="not a file path"):
        write_bytes(None, b"x")


def test_temporary_name_keeps_the_suffix_and_is_hidden(tmp_path):
    seen = []
    write_with(tmp_path / "plot.png", lambda fh: seen.extend(os.listdir(tmp_path)))
    (name,) = seen
    assert name.startswith(".plot.png.") and name.endswith(A.TEMP_MARK + ".png") and A._TEMP_NAME.fullmatch(name)


def test_stale_temporary_files_are_swept_by_the_next_write(tmp_path):
    stale = tmp_path / f".run.gmlab.abcd1234{A.TEMP_MARK}.gmlab"
    fresh = tmp_path / f".run.gmlab.efgh5678{A.TEMP_MARK}.gmlab"
    other = tmp_path / ".run.gmlab.abcd1234.tmp"  # not ours (another tool's pattern): never touched
    for f in (stale, fresh, other):
        f.write_bytes(b"partial")
    old = time.time() - 2 * A.STALE_AFTER_S
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_bytes(tmp_path / "other.csv", b"x")  # any write into the folder sweeps it
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, other.name, "other.csv"])


@pytest.mark.skipif(A.fcntl is None, reason="no advisory locks on this platform")
def test_a_live_writers_temporary_file_is_never_swept(tmp_path):
    """A writer that is still writing (however long) holds its lock: an old temporary file it holds stays."""
    held = tmp_path / f".big.gmlab.live0000{A.TEMP_MARK}.gmlab"
    held.write_bytes(b"writing")
    old = time.time() - 10 * A.STALE_AFTER_S
    os.utime(held, (old, old))
    code = ("import fcntl, sys, time; f = open(sys.argv[1], 'rb'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('locked', flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code, str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        assert A.remove_stale_temp_files(str(tmp_path)) == []
        assert held.exists()
    finally:
        child.kill()
        child.wait()
    assert A.remove_stale_temp_files(str(tmp_path)) == [held.name]


def test_a_killed_writer_leaves_a_file_the_next_write_removes(tmp_path):
    """Kill a process in the middle of write_with: the target is untouched, the temporary file is left; once
    stale, the next write into the folder removes it."""
    target = tmp_path / "s.gmlab"
    target.write_bytes(b"old")
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from core.atomic_io import write_with\n"
            "def w(fh):\n    fh.write(b'half'); fh.flush(); print('writing', flush=True); time.sleep(30)\n"
            "write_with(sys.argv[1], w)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, "-c", code, str(target), root], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    child.kill()
    child.wait()
    left = [n for n in os.listdir(tmp_path) if n != "s.gmlab"]
    assert target.read_bytes() == b"old" and len(left) == 1 and A.TEMP_MARK in left[0]
    assert f".p{child.pid}." in left[0]  # the writer's pid is in the name
    write_bytes(tmp_path / "t.csv", b"x")  # its writer is provably gone: removed at once, whatever its age
    assert sorted(os.listdir(tmp_path)) == ["s.gmlab", "t.csv"] and target.read_bytes() == b"old"


def test_a_fresh_temp_file_of_a_live_writer_is_left_alone(tmp_path):
    """A young temporary file whose pid is alive may be a writer that has not locked yet: kept until stale."""
    mine = tmp_path / f".s.gmlab{A.temp_prefix('s.gmlab')[len('.s.gmlab'):]}abcd1234{A.TEMP_MARK}.gmlab"
    mine.write_bytes(b"writing")
    parent = tmp_path / f".s.gmlab.p{os.getppid()}.abcd1234{A.TEMP_MARK}.gmlab"
    parent.write_bytes(b"writing")
    assert A.remove_stale_temp_files(str(tmp_path)) == []
    old = time.time() - 2 * A.STALE_AFTER_S
    os.utime(parent, (old, old))
    assert A.remove_stale_temp_files(str(tmp_path)) == [parent.name]


def test_symlinks_are_written_through_and_permissions_kept(tmp_path):
    real = tmp_path / "real.json"
    write_bytes(real, b"{}")
    os.chmod(real, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_bytes(link, b"[1]")
    assert link.is_symlink() and real.read_bytes() == b"[1]" and oct(os.stat(real).st_mode & 0o777) == oct(0o600)
