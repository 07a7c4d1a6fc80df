"""Issue 21 (6): a session path that is not a session's regular file is refused at once, with one message, before
anything could block: a symlink to /proc/kmsg (a "regular" kernel file whose read waits for the next kernel
message), a FIFO (directly or through a symlink), a character device. Each open runs in a thread joined with a
generous timeout (a safety net: a blocked open fails the test instead of hanging it)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from core.sessions.gmlab import SessionError, open_session


def _open_now(path: Path, fifo: Path | None = None) -> str:
    out: list[BaseException] = []

    def run():
        try:
            open_session(path)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=30)
    if t.is_alive():
        if fifo is not None:  # let the blocked reader go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"opening {path} blocked")
    assert len(out) == 1 and isinstance(out[0], SessionError), out
    return str(out[0])


@pytest.mark.skipif(not Path("/proc/kmsg").exists(), reason="no /proc/kmsg")
def test_a_symlink_to_proc_kmsg_is_refused_at_once(tmp_path):
    link = tmp_path / "s.gmlab"
    link.symlink_to("/proc/kmsg")
    assert _open_now(link) == f"cannot open {link}: /proc/kmsg is a kernel file, not a session file"


def test_other_kernel_files_are_refused(tmp_path):
    link = tmp_path / "status.gmlab"
    link.symlink_to("/proc/self/status")
    assert "is a kernel file, not a session file" in _open_now(link)


@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_refused_without_opening_it(tmp_path, through_link):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = fifo
    if through_link:
        path = tmp_path / "s.gmlab"
        path.symlink_to(fifo)
    assert _open_now(path, fifo) == f"cannot open {path}: not a regular file (a FIFO), not a session file"


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_character_device_is_refused(tmp_path):
    dev = tmp_path / "zero.gmlab"
    os.mknod(dev, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero: a read never ends
    assert "not a regular file (a character device)" in _open_now(dev)


def test_an_empty_file_is_refused_before_reading(tmp_path):
    empty = tmp_path / "e.gmlab"
    empty.write_bytes(b"")
    assert _open_now(empty) == f"cannot open {empty}: truncated or corrupt (the file is empty)"
