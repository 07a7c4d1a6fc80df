"""Fuzzed session files: the loader only ever succeeds or raises SessionError, and never runs code.

Every open runs under a guard that records any use of pickle, torch.load, numpy.load, eval or exec; payloads
that would create a marker file if unpickled or evaluated must leave no marker.
"""

import builtins
import contextlib
import json
import os
import pathlib
import pickle
import string

import numpy as np
import pytest
import tomli_w
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.config import all_fields, preset
from core.sessions.container import build_container
from core.sessions.gmlab import SessionError, open_session, save_session
from core.train.trainer import make_trainer
from tests.session_files import parse_container

N_EXAMPLES = int(os.environ.get("GML_FUZZ_EXAMPLES", "60"))  # raise it for a deeper run
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CALLS: list[str] = []


@contextlib.contextmanager
def guard():
    """Record (and refuse) every way the loader could run code from a file."""
    def recorder(name):
        def f(*a, **k):
            CALLS.append(name)
            raise RuntimeError(f"{name} must not be called while opening a session")
        return f
    with pytest.MonkeyPatch.context() as mp:
        for mod, name in [(pickle, "loads"), (pickle, "load"), (pickle, "Unpickler"), (torch, "load"),
                          (np, "load"), (builtins, "eval"), (builtins, "exec")]:
            mp.setattr(mod, name, recorder(f"{getattr(mod, '__name__', mod)}.{name}"))
        yield


@pytest.fixture(autouse=True)
def no_code_ran():
    CALLS.clear()
    yield
    assert CALLS == [], f"the loader ran code paths it must never use: {CALLS}"


def attempt(path: pathlib.Path, data: bytes):
    """Write `data` and open it: SessionError with a message, or a session whose trainer keeps working."""
    path.write_bytes(data)
    with guard():
        try:
            s = open_session(path)
        except SessionError as e:
            msg = str(e)
            assert msg.startswith(f"cannot open {path}: ") and len(msg) > len(str(path)) + 14
            assert "Traceback" not in msg
            return None
    for _ in range(3):  # a session that opens must also train: nothing malformed may fail later
        s.trainer.step()
    return s


class Work(tuple):
    """(folder, {name: valid file bytes}), with a short repr for hypothesis's failure reports."""

    def __repr__(self):
        return "Work(...)"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    files = {}
    for name, cfg, steps in [("online", preset("question-fixed").replace(units=2, window=2), 5),
                             ("batch", preset("answer").replace(n_sequences=40, seq_len=4, batch_size=16,
                                                                epochs=2), 4)]:
        tr = make_trainer(cfg)
        for _ in range(steps):
            tr.step()
        p = d / f"{name}.gmlab"
        save_session(p, tr, {"loss": np.linspace(0, 1, 10, dtype=np.float32)}, {"k": [1, 2]})
        files[name] = p.read_bytes()
    return Work((d, files))


def container(data: bytes):
    return parse_container(data)


def build(tensors, metadata, checksum=True) -> bytes:
    from safetensors.numpy import save as st_save
    metadata = {k: v for k, v in metadata.items() if k != "checksum"}
    return build_container(tensors, metadata) if checksum else st_save(tensors, metadata=metadata)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


# -- raw bytes -----------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(work, data):
    assert attempt(work[0] / "bytes.gmlab", data) is None


@FUZZ
@given(n=st.integers(0, 2**64 - 1), body=st.binary(max_size=200), brace=st.booleans())
def test_random_header_lengths(work, n, body, brace):
    data = n.to_bytes(8, "little") + (b"{" if brace else b"") + body
    assert attempt(work[0] / "hlen.gmlab", data) is None


@FUZZ
@given(header=json_values, tail=st.binary(max_size=64))
def test_random_json_headers(work, header, tail):
    text = json.dumps(header).encode()
    assert attempt(work[0] / "hjson.gmlab", len(text).to_bytes(8, "little") + text + tail) is None


@FUZZ
@given(which=st.sampled_from(["online", "batch"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=6),
       cut=st.none() | st.floats(0, 1))
def test_byte_flips_and_cuts_of_valid_files(work, which, flips, cut):
    data = bytearray(work[1][which])
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    if cut is not None:
        data = data[:int(cut * len(data))]
    attempt(work[0] / "flip.gmlab", bytes(data))


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), where=st.floats(0, 1, exclude_max=True))
def test_flips_in_tensor_data_are_caught(work, which, where):
    data = bytearray(work[1][which])
    start = 8 + int.from_bytes(data[:8], "little")
    data[start + int(where * (len(data) - start))] ^= 0x40
    assert attempt(work[0] / "tflip.gmlab", bytes(data)) is None


# -- valid containers with random content --------------------------------------------------------------------
META_KEYS = ["format", "format_version", "version", "config", "trainer", "extra", "checksum"]


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), keep=st.sets(st.sampled_from(META_KEYS)),
       random=st.dictionaries(st.sampled_from(META_KEYS) | st.text(max_size=8), st.text(max_size=60), max_size=6),
       checksum=st.booleans())
def test_random_metadata(work, which, keep, random, checksum):
    tensors, meta = container(work[1][which])
    md = {k: v for k, v in meta.items() if k in keep}
    md.update(random)
    attempt(work[0] / "meta.gmlab", build(tensors, md, checksum))


FIELD_VALUES = {f.name: st.sampled_from(list(f.metadata["choices"])) if f.metadata.get("choices") else
                st.integers(-3, 600) if type(f.default) is int else
                st.floats(-1, 2) if type(f.default) is float else st.booleans()
                for _, f in all_fields()}
SECTION_FIELDS = {}
for _section, _f in all_fields():
    SECTION_FIELDS.setdefault(_section, []).append(_f.name)

toml_sections = st.fixed_dictionaries({}, optional={
    section: st.fixed_dictionaries({}, optional={n: FIELD_VALUES[n] | st.text(max_size=5) for n in names})
    for section, names in SECTION_FIELDS.items()})
toml_docs = (toml_sections.map(tomli_w.dumps)
             | st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=6),
                               st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6) | st.floats(),
                                               max_size=3), max_size=3).map(tomli_w.dumps)
             | st.text(max_size=200))


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), toml=toml_docs)
def test_random_toml_config(work, which, toml):
    tensors, meta = container(work[1][which])
    attempt(work[0] / "toml.gmlab", build(tensors, {**meta, "config": toml}))


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), value=json_values, field=st.sampled_from(["trainer", "extra"]))
def test_random_json_documents(work, which, value, field):
    tensors, meta = container(work[1][which])
    s = attempt(work[0] / "json.gmlab", build(tensors, {**meta, field: json.dumps(value)}))
    if s is not None:
        assert field == "extra" and json.dumps(s.extra) == json.dumps(value)  # NaN-aware equality


def _paths(value, prefix=()):
    """Every (path) into a JSON value, for replacing one part of a valid trainer position."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list) and len(value) <= 8:
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), pick=st.floats(0, 1, exclude_max=True), value=json_values)
def test_one_part_of_the_position_replaced(work, which, pick, value):
    tensors, meta = container(work[1][which])
    position = json.loads(meta["trainer"])
    paths = [p for p in _paths(position) if p]
    path = paths[int(pick * len(paths))]
    target = position
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    attempt(work[0] / "part.gmlab", build(tensors, {**meta, "trainer": json.dumps(position)}))


@FUZZ
@given(which=st.sampled_from(["online", "batch"]), pick=st.floats(0, 1, exclude_max=True),
       arr=hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
                      hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)),
       drop=st.booleans())
def test_one_tensor_replaced_or_dropped(work, which, pick, arr, drop):
    tensors, meta = container(work[1][which])
    names = sorted(tensors)
    name = names[int(pick * len(names))]
    orig = tensors[name]
    if drop:
        del tensors[name]
    else:
        tensors[name] = arr
    s = attempt(work[0] / "tensor.gmlab", build(tensors, meta))
    if s is not None:  # only history may come and go; a trainer tensor may only change its values
        assert name.startswith("history.") or (not drop and arr.shape == orig.shape and arr.dtype == orig.dtype)


@settings(max_examples=max(N_EXAMPLES // 2, 10), deadline=None)
@given(history=st.dictionaries(st.text(min_size=1, max_size=10),
                               hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int32,
                                                           np.uint16, np.int64, np.bool_]),
                                          hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
                               max_size=5),
       extra=st.dictionaries(st.text(max_size=6), json_values, max_size=3))
def test_any_history_and_extra_round_trip(work, history, extra):
    p = work[0] / "hist.gmlab"
    tr = make_trainer(preset("question-fixed").replace(units=1))
    save_session(p, tr, history, extra)
    with guard():
        s = open_session(p)
    assert set(s.history) == set(history)
    for k, a in history.items():
        assert s.history[k].dtype == a.dtype and s.history[k].shape == a.shape
        assert np.array_equal(s.history[k], a, equal_nan=True)
    assert json.dumps(s.extra, sort_keys=True) == json.dumps(extra, sort_keys=True)


# -- payloads that would run code ----------------------------------------------------------------------------
class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_payloads_never_run(work, tmp_path):
    marker = tmp_path / "MARKER"
    payload = pickle.dumps(_Touch(str(marker)), protocol=0)
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    assert payload and not marker.exists()
    tensors, meta = container(work[1]["online"])
    p = tmp_path / "evil.gmlab"
    cases = [
        build(tensors, {**meta, "trainer": payload.decode("latin-1")}),
        build(tensors, {**meta, "extra": json.dumps({"x": code})}),
        build(tensors, {**meta, "extra": code}),
        build(tensors, {**meta, "config": code}),
        build(tensors, {**meta, "config": f'[task]\nkind = "{code}"\n'}),
        build(tensors, {**meta, "version": code}),
        build({**tensors, "history.evil": np.frombuffer(payload, np.uint8).copy()}, meta),
        build({**tensors, "trainer.evil": np.frombuffer(payload, np.uint8).copy()}, meta),
        payload,
        code.encode(),
    ]
    torch.save({"w": _Touch(str(marker))}, tmp_path / "ckpt.pt")
    cases.append((tmp_path / "ckpt.pt").read_bytes())
    np.save(tmp_path / "arr.npy", np.array([_Touch(str(marker))], dtype=object), allow_pickle=True)
    cases.append((tmp_path / "arr.npy").read_bytes())
    opened = [attempt(p, data) for data in cases]
    assert not marker.exists()
    # the ones that open keep the payload as inert data
    assert opened[1] is not None and opened[1].extra == {"x": code}
    assert opened[6] is not None and bytes(opened[6].history["evil"]) == payload
    assert all(s is None for i, s in enumerate(opened) if i not in (1, 6))
    pickle.loads(payload)  # the payload is real: unpickling it does create the marker
    assert marker.exists()
