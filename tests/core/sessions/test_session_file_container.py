"""The session container read from bytes written by hand to the layout in core/sessions/container.py's docstring
(an 8-byte little-endian header length, a JSON header, the tensors' raw bytes): each check, each limit at its
edge, and the exact sentence each refusal gives."""

import hashlib
import json
import struct

import numpy as np
import pytest

from core.sessions import container as C
from core.sessions.container import Problem, build_container, checksum, read_metadata, read_tensors

FORMAT = "gru-memory-lab-session"


def image(entries=None, body=b"", metadata=None, *, raw_header=None):
    """A container image: the header JSON (entries plus "__metadata__") after its length as "<Q", then `body`."""
    if raw_header is None:
        header = dict(entries or {})
        header["__metadata__"] = {"format": FORMAT} if metadata is None else metadata
        raw_header = json.dumps(header).encode()
    return struct.pack("<Q", len(raw_header)) + raw_header + body


def refused(data, sentence):
    """read_metadata then read_tensors on `data` raise Problem whose text is exactly `sentence`."""
    with pytest.raises(Problem) as ei:
        entries, _meta, start = read_metadata(data)
        read_tensors(data, entries, start)
    assert str(ei.value) == sentence
    return ei.value


def tensors_of(entries, body):
    data = image(entries, body)
    e, _meta, start = read_metadata(data)
    return read_tensors(data, e, start)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


# -- the header ------------------------------------------------------------------------------------------------
def test_an_empty_or_short_image_says_how_short_it_is():
    refused(b"", "truncated or corrupt (the file is empty)")
    refused(b"\x05", "truncated or corrupt (the file is only 1 bytes)")
    refused(b"abcdefg", "truncated or corrupt (the file is only 7 bytes)")


def test_a_header_length_below_two_is_not_a_session():
    refused(struct.pack("<Q", 0) + b"{}", "not a GRU Memory Lab session")
    refused(struct.pack("<Q", 1) + b"{", "not a GRU Memory Lab session")


def test_a_two_byte_header_is_parsed():
    refused(struct.pack("<Q", 2) + b"{x", "truncated or corrupt (the header is not valid JSON)")
    refused(struct.pack("<Q", 2) + b"{}", "not a GRU Memory Lab session")


def test_one_byte_after_the_length_is_enough_to_tell_it_is_not_a_session():
    refused(struct.pack("<Q", 5) + b"[", "not a GRU Memory Lab session")
    refused(struct.pack("<Q", 5) + b"{", "truncated or corrupt (the header is incomplete)")


def test_a_header_length_up_to_the_limit_is_read_on_and_one_more_is_not_a_session():
    refused(struct.pack("<Q", C.MAX_HEADER_BYTES) + b"{}", "truncated or corrupt (the header is incomplete)")
    refused(struct.pack("<Q", C.MAX_HEADER_BYTES + 1) + b"{}", "not a GRU Memory Lab session")


def test_eight_bytes_of_length_alone_say_the_header_is_incomplete():
    refused(struct.pack("<Q", 10), "truncated or corrupt (the header is incomplete)")


def test_a_header_not_starting_with_a_brace_is_not_a_session():
    refused(struct.pack("<Q", 4) + b"[1] ", "not a GRU Memory Lab session")
    refused(struct.pack("<Q", 4) + b" {} ", "not a GRU Memory Lab session")


def test_a_header_one_byte_short_is_incomplete_and_exactly_whole_is_read():
    whole = image()
    assert read_metadata(whole) == ({}, {"format": FORMAT}, len(whole))
    refused(whole[:-1], "truncated or corrupt (the header is incomplete)")


def test_the_returned_start_is_where_the_tensor_bytes_begin():
    raw = json.dumps({"__metadata__": {"format": FORMAT}}).encode()
    data = struct.pack("<Q", len(raw)) + raw + b"tail"
    assert read_metadata(data)[2] == 8 + len(raw)


def test_a_header_that_is_not_json_or_not_utf8_says_so():
    for raw in (b"{not json}", b'{"a": "\xff\xfe"}', b"{" + b"[" * 100_000):
        refused(image(raw_header=raw), "truncated or corrupt (the header is not valid JSON)")


def test_a_key_given_twice_is_named():
    raw = b'{"__metadata__": {"format": "gru-memory-lab-session"}, "w": 1, "w": 2}'
    refused(image(raw_header=raw), "truncated or corrupt (the key 'w' appears twice)")
    raw = b'{"__metadata__": {"format": "gru-memory-lab-session", "format": "x"}}'
    refused(image(raw_header=raw), "truncated or corrupt (the key 'format' appears twice)")


def test_a_header_without_metadata_is_not_a_session():
    refused(image(raw_header=b"{}"), "not a GRU Memory Lab session")
    refused(image(raw_header=b'{"w": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}'),
            "not a GRU Memory Lab session")


def test_metadata_that_is_not_a_table_of_texts_says_so():
    table = "truncated or corrupt (the header's metadata is not a table of texts)"
    refused(image(metadata=[FORMAT]), table)
    refused(image(metadata="x"), table)
    refused(image(metadata={"format": FORMAT, "n": 1}), table)
    refused(image(metadata={"format": FORMAT, "n": None}), table)


def test_the_format_name_must_be_exact():
    for name in (FORMAT.upper(), FORMAT + " ", "safetensors", ""):
        refused(image(metadata={"format": name}), "not a GRU Memory Lab session")
    assert read_metadata(image(metadata={"format": FORMAT, "other": "x"}))[1] == {"format": FORMAT, "other": "x"}


def test_the_tensor_entries_come_back_without_the_metadata():
    w = entry("F32", [2], 0, 8)
    entries, meta, _start = read_metadata(image({"w": w}, bytes(8)))
    assert entries == {"w": w} and meta == {"format": FORMAT}


# -- the tensors -------------------------------------------------------------------------------------------------
VALUES = {"BOOL": ("?", [True, False, True]), "U8": ("B", [0, 200, 255]), "I8": ("b", [-128, 0, 127]),
          "I16": ("h", [-30000, 1, 2]), "U16": ("H", [65535, 0, 7]), "I32": ("i", [-2**31, 5, 2**31 - 1]),
          "U32": ("I", [2**32 - 1, 0, 3]), "I64": ("q", [-2**63, 0, 2**63 - 1]),
          "U64": ("Q", [2**64 - 1, 1, 0]), "F16": ("e", [0.5, -2.0, 65504.0]),
          "F32": ("f", [1.5, -0.25, 2.0**100]), "F64": ("d", [1e-300, -7.125, 1e300])}


@pytest.mark.parametrize("code", sorted(VALUES))
def test_every_storable_type_reads_back_little_endian(code):
    fmt, vals = VALUES[code]
    body = struct.pack("<3" + fmt, *vals)
    got = tensors_of({"t": entry(code, [3], 0, len(body))}, body)["t"]
    assert got.tolist() == vals and got.dtype == np.dtype("<" + fmt) and got.shape == (3,)
    assert got.dtype.byteorder in "<|="


def test_tensors_are_shaped_back_to_back_and_writable():
    a = struct.pack("<6f", *range(6))
    b = struct.pack("<2q", -1, 9)
    got = tensors_of({"b": entry("I64", [2], 24, 40), "a": entry("F32", [2, 3], 0, 24),
                      "s": entry("F64", [], 40, 48)}, a + b + struct.pack("<d", 2.5))
    assert got["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and got["b"].tolist() == [-1, 9]
    assert got["s"].shape == () and got["s"].item() == 2.5
    got["a"][0, 0] = 7.0
    assert got["a"].flags.writeable and got["a"].flags.c_contiguous


def test_empty_tensors_keep_their_shape_and_type():
    got = tensors_of({"e": entry("F32", [0, 3], 0, 0), "z": entry("I8", [4, 0, 2], 0, 0),
                      "w": entry("U8", [2], 0, 2)}, b"\x01\x02")
    assert got["e"].shape == (0, 3) and got["e"].dtype == np.float32
    assert got["z"].shape == (4, 0, 2) and got["z"].dtype == np.int8
    assert got["w"].tolist() == [1, 2]


def test_too_many_tensors_is_refused_by_count_before_their_entries_are_read():
    many = {f"t{i}": None for i in range(C.MAX_TENSORS + 1)}
    with pytest.raises(Problem) as ei:
        read_tensors(b"", many, 0)
    assert str(ei.value) == f"truncated or corrupt (too many tensors: {C.MAX_TENSORS + 1})"
    del many["t0"]
    with pytest.raises(Problem, match="bad entry for tensor 't1'"):
        read_tensors(b"", many, 0)


LONG = "n" * 100
SHORT = repr("n" * 80)


@pytest.mark.parametrize("bad", [None, [1], {}, {"dtype": "F32", "shape": []},
                                 {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "x": 1}])
def test_a_malformed_entry_is_named_by_its_first_80_characters(bad):
    refused(image({LONG: bad}, bytes(4)), f"truncated or corrupt (bad entry for tensor {SHORT})")


@pytest.mark.parametrize("code", ["BF16", "f32", "F128", 7, None, "X" * 30])
def test_an_unknown_type_is_named_by_its_first_20_characters(code):
    refused(image({LONG: entry(code, [1], 0, 4)}, bytes(4)),
            f"truncated or corrupt (tensor {SHORT} has unsupported type {str(code)[:20]!r})")


@pytest.mark.parametrize("shape", ["3", None, [1] * 9, [-1], [True], [1.0], [2**62], ["1"]])
def test_a_bad_shape_is_refused(shape):
    refused(image({LONG: entry("U8", shape, 0, 1)}, bytes(1)),
            f"truncated or corrupt (tensor {SHORT} has a bad shape)")


def test_shapes_up_to_eight_dimensions_and_sizes_below_2_to_62_pass_the_shape_check():
    got = tensors_of({"t": entry("U8", [1] * 8, 0, 1)}, b"\x09")
    assert got["t"].shape == (1,) * 8 and got["t"].item() == 9
    refused(image({"t": entry("U8", [2**62 - 1], 0, 1)}, bytes(1)),
            "truncated or corrupt (tensor 't' has a size that does not match its shape)")


@pytest.mark.parametrize("offsets", ["0,1", None, [0], [0, 1, 1], [-1, 0], [0, 2**62], [True, 1], [0.0, 1],
                                     [1, 0]])
def test_bad_offsets_are_refused(offsets):
    e = {"dtype": "U8", "shape": [1], "data_offsets": offsets}
    refused(image({LONG: e}, bytes(1)), f"truncated or corrupt (tensor {SHORT} has bad offsets)")


def test_offsets_just_below_2_to_62_pass_the_offset_check():
    refused(image({"t": entry("U8", [1], 2**62 - 2, 2**62 - 1)}, bytes(1)),
            "truncated or corrupt (tensor data overlaps or leaves gaps)")


@pytest.mark.parametrize("code,shape,size", [("F32", [3], 8), ("F32", [3], 16), ("I16", [2, 2], 4), ("U8", [], 0)])
def test_a_size_that_does_not_fit_the_shape_and_type_is_refused(code, shape, size):
    refused(image({LONG: entry(code, shape, 0, size)}, bytes(size)),
            f"truncated or corrupt (tensor {SHORT} has a size that does not match its shape)")


@pytest.mark.parametrize("spans", [[(0, 4), (2, 6)], [(0, 4), (5, 9)], [(1, 5)], [(0, 4), (0, 4)]])
def test_overlaps_and_gaps_are_refused(spans):
    entries = {f"t{i}": entry("U8", [e - b], b, e) for i, (b, e) in enumerate(spans)}
    refused(image(entries, bytes(max(e for _b, e in spans))),
            "truncated or corrupt (tensor data overlaps or leaves gaps)")


def test_missing_and_extra_tensor_bytes_are_told_apart():
    e = {"t": entry("U8", [4], 0, 4)}
    refused(image(e, bytes(3)), "truncated or corrupt (the tensor data is incomplete)")
    refused(image(e, bytes(5)), "truncated or corrupt (1 unexpected bytes at the end)")
    refused(image(e, bytes(11)), "truncated or corrupt (7 unexpected bytes at the end)")
    refused(image({}, b"x"), "truncated or corrupt (1 unexpected bytes at the end)")
    assert tensors_of(e, b"abcd")["t"].tobytes() == b"abcd"


# -- the checksum and the writer ---------------------------------------------------------------------------------
def spec_checksum(tensors, metadata):
    """The checksum as documented, computed here: sha256 of the sorted (key, value) metadata pairs but the checksum
    as JSON, then per tensor in name order NUL, JSON [name, code, shape], NUL and its C-order bytes."""
    h = hashlib.sha256(json.dumps(sorted([k, v] for k, v in metadata.items() if k != "checksum")).encode())
    for name in sorted(tensors):
        code, shape, raw = tensors[name]
        h.update(b"\0" + json.dumps([name, code, shape]).encode() + b"\0" + raw)
    return "sha256:" + h.hexdigest()


def split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def test_the_writer_lays_out_the_documented_container_with_its_checksum():
    w = np.arange(6, dtype="<f4").reshape(2, 3)
    flags = np.array([True, False])
    meta = {"format": FORMAT, "b": "2", "a": "ünï"}
    given = dict(meta)
    data = build_container({"w": w, "flags": flags}, meta)
    assert meta == given  # the caller's table is not changed
    header, body = split(data)
    md = header.pop("__metadata__")
    assert {k: v for k, v in md.items() if k != "checksum"} == meta
    assert md["checksum"] == spec_checksum({"w": ("F32", [2, 3], w.tobytes()), "flags": ("BOOL", [2], b"\1\0")},
                                           meta)
    assert set(header) == {"w", "flags"} and header["w"]["dtype"] == "F32" and header["w"]["shape"] == [2, 3]
    b, e = header["w"]["data_offsets"]
    assert np.frombuffer(body[b:e], "<f4").tolist() == w.ravel().tolist()


def test_the_checksum_covers_names_types_shapes_bytes_and_metadata_but_not_itself():
    a = np.array([[1, 2], [3, 4]], dtype="<i4")
    base = checksum({"a": a}, {"format": FORMAT, "x": "1"})
    assert base == spec_checksum({"a": ("I32", [2, 2], a.tobytes())}, {"format": FORMAT, "x": "1"})
    assert checksum({"a": a}, {"format": FORMAT, "x": "1", "checksum": "sha256:0"}) == base
    others = [checksum({"b": a}, {"format": FORMAT, "x": "1"}), checksum({"a": a.astype("<u4")}, {"format": FORMAT,
              "x": "1"}), checksum({"a": a.reshape(4)}, {"format": FORMAT, "x": "1"}),
              checksum({"a": a + 1}, {"format": FORMAT, "x": "1"}), checksum({"a": a}, {"format": FORMAT, "x": "2"}),
              checksum({"a": a}, {"format": FORMAT})]
    assert len(set(others + [base])) == 7
    ordered = spec_checksum({"a": ("I32", [1], b"\1\0\0\0"), "b": ("F64", [], struct.pack("<d", 1))}, {"z": "1",
                            "y": "2"})
    assert checksum({"b": np.float64(1), "a": np.array([1], "<i4")}, {"z": "1", "y": "2"}) == ordered


def test_a_written_container_reads_back_exactly():
    t = {"w": np.linspace(0, 1, 7, dtype=np.float32), "e": np.zeros((0, 2), np.int64), "s": np.array(3, np.uint16)}
    data = build_container(t, {"format": FORMAT})
    entries, meta, start = read_metadata(data)
    back = read_tensors(data, entries, start)
    assert meta["checksum"] == checksum(t, {"format": FORMAT})
    for k, v in t.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v)
