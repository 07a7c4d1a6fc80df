"""What the session container refuses before and around parsing: files that are not regular files or are too big
(read_bounded), values that cannot be stored (as_storable), and JSON fields too big, too deep or not JSON."""

import errno
import json
import os
import socket

import numpy as np
import pytest
import torch

from core.atomic_io import os_reason
from core.sessions import container as C
from core.sessions.container import Problem, as_storable, json_depth, json_text, json_value, read_bounded


def says(fn, *args, sentence):
    with pytest.raises(Problem) as ei:
        fn(*args)
    assert str(ei.value) == sentence


# -- read_bounded ----------------------------------------------------------------------------------------------
def test_a_missing_file_a_folder_and_an_empty_file_each_say_what_they_are(tmp_path):
    says(read_bounded, str(tmp_path / "nope"), sentence="no such file")
    says(read_bounded, str(tmp_path), sentence="it is a folder, not a session file")
    (tmp_path / "empty").write_bytes(b"")
    says(read_bounded, str(tmp_path / "empty"), sentence="truncated or corrupt (the file is empty)")


def test_a_path_through_a_file_gives_the_system_reason(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    p = str(tmp_path / "f" / "inside")
    with pytest.raises(OSError) as ei:
        os.stat(p)
    assert ei.value.errno == errno.ENOTDIR
    says(read_bounded, p, sentence=os_reason(ei.value))


def test_a_fifo_a_device_and_a_socket_are_named_and_not_read(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    says(read_bounded, str(fifo), sentence="not a regular file (a FIFO), not a session file")
    says(read_bounded, "/dev/null", sentence="not a regular file (a character device), not a session file")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "s"))
        says(read_bounded, str(tmp_path / "s"), sentence="not a regular file (a socket), not a session file")
    finally:
        sock.close()


def test_a_block_device_is_named(tmp_path):
    blocks = [os.path.join("/dev", n) for n in sorted(os.listdir("/dev"))
              if os.path.exists(os.path.join("/dev", n)) and C.stat.S_ISBLK(os.stat(os.path.join("/dev", n)).st_mode)]
    if not blocks:
        pytest.skip("no block device here")
    says(read_bounded, blocks[0], sentence="not a regular file (a block device), not a session file")


def test_a_kernel_file_is_refused_through_a_link_with_its_real_path(tmp_path):
    real = os.path.realpath("/proc/self/status")
    link = tmp_path / "status.gmlab"
    link.symlink_to("/proc/self/status")
    assert real.startswith("/proc/") and os.path.isfile(real)
    with pytest.raises(Problem) as ei:
        read_bounded(str(link))
    text = str(ei.value)
    assert text.startswith("/proc/") and text.endswith(" is a kernel file, not a session file")
    says(read_bounded, "/proc/version", sentence="/proc/version is a kernel file, not a session file")


def test_a_file_under_sys_is_a_kernel_file():
    notes = "/sys/kernel/notes"
    if not os.path.isfile(notes):
        pytest.skip("no /sys/kernel/notes here")
    says(read_bounded, notes, sentence=f"{notes} is a kernel file, not a session file")


def test_the_size_limit_holds_at_its_edge(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "MAX_FILE_BYTES", 3 * 2**20)
    p = tmp_path / "f"
    with open(p, "wb") as fh:
        fh.truncate(3 * 2**20)
    assert read_bounded(str(p)) == bytes(3 * 2**20)
    with open(p, "wb") as fh:
        fh.truncate(3 * 2**20 + 1)
    says(read_bounded, str(p), sentence="the file is 3 MB, more than a session can be (3 MB); not a GRU Memory Lab "
                                        "session, or corrupt")
    with open(p, "wb") as fh:
        fh.truncate(int(4.6 * 2**20))
    says(read_bounded, str(p), sentence="the file is 5 MB, more than a session can be (3 MB); not a GRU Memory Lab "
                                        "session, or corrupt")


def test_the_real_limit_is_512_mb(tmp_path):
    p = tmp_path / "f"
    with open(p, "wb") as fh:  # sparse: no disk used
        fh.truncate(512 * 2**20 + 1)
    says(read_bounded, str(p), sentence="the file is 512 MB, more than a session can be (512 MB); not a GRU Memory Lab "
                                        "session, or corrupt")


def _stat_says(monkeypatch, path, **change):
    """os.stat reports `path` with the given fields changed (a file swapped or grown after the stat)."""
    real_stat = os.stat

    def fake(p, *a, **k):
        st = real_stat(p, *a, **k)
        if os.fspath(p) != path:
            return st
        fields = list(st[:10])
        for name, value in change.items():
            fields[["st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size"].index(name)] = value
        return os.stat_result(fields)
    monkeypatch.setattr(C.os, "stat", fake)


def test_a_file_that_grew_past_the_limit_after_the_stat_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "f"
    p.write_bytes(bytes(2**20 + 1))
    monkeypatch.setattr(C, "MAX_FILE_BYTES", 2**20)
    _stat_says(monkeypatch, str(p), st_size=10)
    says(read_bounded, str(p), sentence="the file is larger than a session can be (1 MB)")


def test_a_file_that_grew_to_exactly_the_limit_is_read_whole(tmp_path, monkeypatch):
    p = tmp_path / "f"
    p.write_bytes(b"ab" * 2**19)
    monkeypatch.setattr(C, "MAX_FILE_BYTES", 2**20)
    _stat_says(monkeypatch, str(p), st_size=10)
    assert read_bounded(str(p)) == b"ab" * 2**19


def test_a_file_swapped_for_a_fifo_after_the_stat_is_not_read_and_not_waited_on(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _stat_says(monkeypatch, str(fifo), st_mode=0o100644, st_size=10)
    real_open = os.open

    def open_(p, flags, *a, **k):  # a FIFO opened for reading without O_NONBLOCK waits for a writer: forever here
        assert os.fspath(p) != str(fifo) or flags & os.O_NONBLOCK, "would wait for a writer"
        return real_open(p, flags, *a, **k)
    monkeypatch.setattr(C.os, "open", open_)
    says(read_bounded, str(fifo), sentence="not a regular file, not a session file")


def test_an_unreadable_file_gives_the_system_reason(tmp_path, monkeypatch):
    p = tmp_path / "f"
    p.write_bytes(b"abc")

    def no(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(p))
    monkeypatch.setattr(C.os, "open", no)
    says(read_bounded, str(p), sentence=os_reason(PermissionError(errno.EACCES, "Permission denied", str(p))))


def test_a_regular_file_is_read_whole(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(range(256)) * 3)
    assert read_bounded(str(p)) == bytes(range(256)) * 3


# -- as_storable -----------------------------------------------------------------------------------------------
def test_values_that_are_not_numbers_are_refused_with_their_type():
    says(as_storable, "x", np.array([1j]), sentence="x: cannot store values of type complex128 (numbers and booleans "
                                                    "only)")
    says(as_storable, "h", ["a"], sentence="h: cannot store values of type <U1 (numbers and booleans only)")
    says(as_storable, "o", np.array([None]), sentence="o: cannot store values of type object (numbers and booleans "
                                                      "only)")


def test_big_endian_and_strided_arrays_are_stored_little_endian_and_contiguous():
    be = np.arange(6, dtype=">i4").reshape(2, 3)
    a = as_storable("x", be)
    assert a.dtype.str == "<i4" and a.tolist() == be.tolist()
    f = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = as_storable("x", f)
    assert b.flags.c_contiguous and b.tolist() == f.tolist()
    c = as_storable("x", np.arange(10, dtype=np.int16)[::3])
    assert c.flags.c_contiguous and c.tolist() == [0, 3, 6, 9] and c.dtype.str == "<i2"


def test_a_scalar_stays_zero_dimensional_and_lists_become_arrays():
    s = as_storable("x", np.float64(2.5))
    assert s.shape == () and s.item() == 2.5
    assert as_storable("x", 3).shape == () and as_storable("x", [True, False]).dtype.str == "|b1"


def test_extended_precision_floats_are_stored_as_float64():
    if np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 here")
    a = as_storable("x", np.array([1.5, -2.0], dtype=np.longdouble))
    assert a.dtype.str == "<f8" and a.tolist() == [1.5, -2.0]


def test_torch_tensors_are_detached_and_bfloat16_becomes_float32():
    t = torch.tensor([[1.5, 2.0]], requires_grad=True) * 2
    a = as_storable("w", t)
    assert isinstance(a, np.ndarray) and a.dtype.str == "<f4" and a.tolist() == [[3.0, 4.0]]
    b = as_storable("w", torch.tensor([0.5, -3.0], dtype=torch.bfloat16))
    assert b.dtype.str == "<f4" and b.tolist() == [0.5, -3.0]
    c = as_storable("w", torch.arange(6, dtype=torch.int64).reshape(2, 3).t())
    assert c.flags.c_contiguous and c.tolist() == [[0, 3], [1, 4], [2, 5]]


# -- JSON fields -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,depth", [("3", 0), ('"[{"', 0), ("[1]", 1), ('{"a": [1]}', 2), ("[][][]", 1),
                                        ('[[["]]]"]]]', 3), ('["\\"[", [2]]', 2), ('{"a": {"b": {}}, "c": []}', 3),
                                        ('"\\\\" [ "x"', 1), ("[[1], [[2]]]", 3)])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_json_text_sorts_keys_and_keeps_nan():
    assert json_text({"b": 1, "a": [float("nan"), float("inf")]}, "x") == '{"a": [NaN, Infinity], "b": 1}'


def test_values_that_are_not_json_say_why():
    says(json_text, {1, 2}, "extra", sentence="extra cannot be stored as JSON (Object of type set is not JSON "
                                              "serializable)")
    loop = []
    loop.append(loop)
    says(json_text, loop, "the trainer state", sentence="the trainer state cannot be stored as JSON (Circular "
                                                        "reference detected)")
    deep = 0
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(Problem) as ei:
        json_text(deep, "extra")
    assert str(ei.value).startswith("extra cannot be stored as JSON (")


def nest(n):
    return "[" * n + "]" * n


def test_depth_32_is_kept_and_33_is_refused_by_field_name():
    assert json_value(nest(32), "extra") == json.loads(nest(32))
    assert json_text(json.loads(nest(32)), "extra") == nest(32)
    says(json_value, nest(33), "extra", sentence="the session's extra data is nested 33 deep (at most 32)")
    says(json_text, json.loads(nest(40)), "the trainer state", sentence="the trainer state is nested 40 deep (at "
                                                                        "most 32)")


def test_each_field_has_its_size_limit():
    mib = 2**20
    exactly = '"' + "a" * (mib - 2) + '"'
    assert json_value(exactly, "extra") == "a" * (mib - 2)
    says(json_value, exactly + " ", "extra", sentence="the session's extra data takes 1.0 MB (at most 1 MB)")
    says(json_value, " " * (3 * mib // 2) + "1", "extra", sentence="the session's extra data takes 1.5 MB (at most "
                                                                   "1 MB)")
    big = " " * (16 * mib) + "1"
    says(json_value, big, "the trainer position", sentence="the trainer position takes 16.0 MB (at most 16 MB)")
    says(json_value, big, "the trainer state", sentence="the trainer state takes 16.0 MB (at most 16 MB)")
    assert json_value(big[1:], "the trainer position") == 1
    assert json_value(big, "t") == 1  # other fields: the header's limit, 64 MB
    says(json_value, " " * (64 * mib) + "1", "t", sentence="t takes 64.0 MB (at most 64 MB)")


def test_text_that_is_not_json_names_the_field():
    says(json_value, "{", "extra", sentence="truncated or corrupt (the session's extra data is not valid JSON)")
    says(json_value, "[1,]", "the trainer position", sentence="truncated or corrupt (the trainer position is not "
                                                              "valid JSON)")
    assert json_value('{"a": NaN}', "extra")["a"] != json_value('{"a": NaN}', "extra")["a"]
