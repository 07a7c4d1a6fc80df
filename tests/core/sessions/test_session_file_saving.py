"""Saving a session: the file holds the fields core/sessions/gmlab.py's docstring lists (read back here with
struct, json and tomllib), every refusal is one SessionError sentence, the size limit holds at its edge; the
format version a file declares; the history series helpers."""

import json
import struct
import tomllib
from types import SimpleNamespace

import numpy as np
import pytest

from core.config import preset
from core.history import MAX_CAPACITY, DecimatingSeries
from core.product.about import version
from core.sessions import gmlab as S
from core.sessions.container import Problem
from core.sessions.gmlab import (
    SessionError,
    file_version,
    open_session,
    save_session,
    series_from_history,
    series_to_history,
)
from core.state_checks import MAX_STEPS
from core.train.trainer import make_trainer

CFG = preset("question-fixed").replace(units=1, window=1, seed=3)


def read_file(path):
    """(header entries, metadata, tensor bytes by name) of a session file, parsed with struct and json."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    body = data[8 + n:]
    return header, meta, {k: body[e["data_offsets"][0]:e["data_offsets"][1]] for k, e in header.items()}


class Fake:
    """A trainer as save_session sees it: a config and a state_dict()."""

    def __init__(self, tensors=None, meta=None, cfg=CFG, error=None):
        self.cfg, self._t, self._m, self._error = cfg, tensors or {}, meta or {}, error

    def state_dict(self):
        if self._error:
            raise self._error
        return self._t, self._m


def cannot_save(tmp_path, trainer, sentence, history=None, extra=None):
    p = tmp_path / "s.gmlab"
    with pytest.raises(SessionError) as ei:
        save_session(p, trainer, history, extra)
    assert type(ei.value) is SessionError and str(ei.value) == f"cannot save {p}: {sentence}"
    assert not p.exists()


# -- what a file holds ---------------------------------------------------------------------------------------
def test_a_saved_file_holds_exactly_the_documented_metadata(tmp_path):
    tr = make_trainer(CFG)
    tr.step()
    p = tmp_path / "s.gmlab"
    save_session(p, tr, {"loss": np.array([0.5, 0.25], np.float32)}, {"b": [1, float("nan")], "a": "x"})
    _header, meta, _raw = read_file(p)
    assert set(meta) == {"format", "format_version", "version", "app_version", "config", "trainer", "extra",
                         "checksum"}
    assert meta["format"] == "gru-memory-lab-session"
    assert meta["format_version"] == "2" and meta["version"] == "2" and meta["app_version"] == version()
    assert tomllib.loads(meta["config"]) == CFG.to_dict()
    assert meta["trainer"] == json.dumps(tr.state_dict()[1], sort_keys=True)
    assert meta["extra"] == '{"a": "x", "b": [1, NaN]}'
    assert meta["checksum"].startswith("sha256:") and len(meta["checksum"]) == 7 + 64


def test_trainer_and_history_tensors_are_stored_under_their_prefixes(tmp_path):
    p = tmp_path / "s.gmlab"
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_session(p, Fake({"w": w, "n": np.array([3], np.int64)}),
                 {"loss": np.array([1.5, 2.5]), "ring.h": np.ones((2, 2), bool), "deep": np.zeros((1,) * 8, np.uint8)})
    header, _meta, raw = read_file(p)
    assert set(header) == {"trainer.w", "trainer.n", "history.loss", "history.ring.h", "history.deep"}
    assert header["trainer.w"]["dtype"] == "F32" and header["trainer.w"]["shape"] == [2, 3]
    assert raw["trainer.w"] == struct.pack("<6f", *range(6)) and raw["trainer.n"] == struct.pack("<q", 3)
    assert header["history.loss"]["dtype"] == "F64" and raw["history.loss"] == struct.pack("<2d", 1.5, 2.5)
    assert header["history.ring.h"]["dtype"] == "BOOL" and raw["history.ring.h"] == b"\1\1\1\1"
    assert header["history.deep"]["shape"] == [1] * 8


def test_no_history_and_no_extra_store_nothing_and_an_empty_table(tmp_path):
    p = tmp_path / "s.gmlab"
    save_session(p, Fake({"w": np.zeros(2, np.float32)}))
    header, meta, _raw = read_file(p)
    assert set(header) == {"trainer.w"} and meta["extra"] == "{}"


def test_a_bytes_path_is_saved_under_its_decoded_name(tmp_path):
    p = tmp_path / "é.gmlab"
    save_session(bytes(p), make_trainer(CFG))
    assert p.exists() and open_session(p).path == str(p)


def test_the_extra_table_is_copied_from_any_mapping(tmp_path):
    from types import MappingProxyType
    p = tmp_path / "s.gmlab"
    save_session(p, Fake(), extra=MappingProxyType({"k": 1}))
    assert read_file(p)[1]["extra"] == '{"k": 1}'


# -- refusals ------------------------------------------------------------------------------------------------
def test_a_path_that_is_not_a_path_is_named():
    for bad in (3, None, [b"x"]):
        with pytest.raises(SessionError) as ei:
            save_session(bad, Fake())
        assert str(ei.value) == f"cannot save the session: not a file path: {bad!r}"


def test_a_diverged_trainer_names_the_tensor(tmp_path):
    for bad in (np.nan, np.inf, -np.inf):
        cannot_save(tmp_path, Fake({"ok": np.zeros(2, np.int32), "model.w": np.array([0.0, bad], np.float32)}),
                    "the trainer state contains NaN or infinity (model.w); training has diverged, so this state "
                    "could not be opened again")


def test_values_that_cannot_be_stored_are_named_by_where_they_are(tmp_path):
    cannot_save(tmp_path, Fake({"w": np.array([1j])}), "trainer.w: cannot store values of type complex128 (numbers "
                                                       "and booleans only)")
    cannot_save(tmp_path, Fake(), "history 'c': cannot store values of type <U1 (numbers and booleans only)",
                history={"c": np.array(["a"])})


def test_history_and_extra_of_the_wrong_kind_say_what_they_got(tmp_path):
    cannot_save(tmp_path, Fake(), "extra must be a dict, got list", extra=[1])
    cannot_save(tmp_path, Fake(), "history must be a dict of arrays, got list", history=[np.zeros(1)])
    cannot_save(tmp_path, Fake(), "history names must be non-empty texts, got 3", history={3: np.zeros(1)})
    cannot_save(tmp_path, Fake(), "history names must be non-empty texts, got ''", history={"": np.zeros(1)})
    cannot_save(tmp_path, Fake(), "history 'x' has 9 dimensions (at most 8)", history={"x": np.zeros((1,) * 9)})


def test_json_fields_that_cannot_be_written_name_the_field(tmp_path):
    cannot_save(tmp_path, Fake(meta={"s": {1}}), "the trainer state cannot be stored as JSON (Object of type set is "
                                                 "not JSON serializable)")
    cannot_save(tmp_path, Fake(), "extra cannot be stored as JSON (Object of type set is not JSON serializable)",
                extra={"s": {1}})
    deep = 0
    for _ in range(33):
        deep = [deep]
    cannot_save(tmp_path, Fake(), "the session's extra data is nested 33 deep (at most 32)", extra={"d": deep[0]})


def test_other_failures_while_gathering_the_state_are_one_sentence(tmp_path):
    cannot_save(tmp_path, Fake(error=MemoryError()), "not enough memory")
    cannot_save(tmp_path, Fake(error=RuntimeError("boom")), "unexpected problem (RuntimeError: boom)")
    cannot_save(tmp_path, Fake(error=Problem("why")), "why")


def test_an_invalid_config_is_not_saved(tmp_path):
    bad = SimpleNamespace(validate=lambda: (_ for _ in ()).throw(ValueError("units must be >= 1")))
    cannot_save(tmp_path, Fake(cfg=bad), "unexpected problem (ValueError: units must be >= 1)")


def test_the_size_limit_holds_at_its_edge(tmp_path, monkeypatch):
    trainer, hist = Fake({"w": np.zeros(4, np.float32)}), {"h": np.zeros(3 * 2**18, np.float32)}  # 3 MB of history
    save_session(tmp_path / "probe.gmlab", trainer, hist)
    size = (tmp_path / "probe.gmlab").stat().st_size
    monkeypatch.setattr(S, "MAX_FILE_BYTES", size)
    save_session(tmp_path / "edge.gmlab", trainer, hist)
    monkeypatch.setattr(S, "MAX_FILE_BYTES", 2**20)
    cannot_save(tmp_path, trainer, "the session would be 3 MB; sessions are limited to 1 MB (keep less history)",
                history=hist)
    monkeypatch.setattr(S, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(SessionError, match="keep less history"):
        save_session(tmp_path / "over.gmlab", trainer, hist)


# -- the format version ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("meta,v", [({}, 1), ({"version": "1"}, 1), ({"format_version": "1"}, 1),
                                    ({"version": "2"}, 2), ({"format_version": "2", "version": "2"}, 2),
                                    ({"format_version": "000000002"}, 2), ({"other": "7"}, 1)])
def test_the_format_version_a_file_declares(meta, v):
    assert file_version(meta) == v


@pytest.mark.parametrize("meta,sentence", [
    ({"version": "3"}, "made by a newer GRU Memory Lab (format version 3; this one reads up to 2)"),
    ({"format_version": "2", "version": "123456789"},
     "made by a newer GRU Memory Lab (format version 123456789; this one reads up to 2)"),
    ({"format_version": "1234567890"}, "truncated or corrupt (the format version '1234567890' is not a number)"),
    ({"version": "x" * 50}, f"truncated or corrupt (the format version {'x' * 40!r} is not a number)"),
    ({"version": "2 "}, "truncated or corrupt (the format version '2 ' is not a number)"),
    ({"version": "-1"}, "truncated or corrupt (the format version '-1' is not a number)"),
    ({"format_version": "2", "version": "1"}, "truncated or corrupt (the format versions 2 and 1 disagree)"),
    ({"format_version": "1", "version": "01"}, None),
    ({"format_version": "0"}, "truncated or corrupt (unknown format version 0)"),
    ({"format_version": "0", "version": "0"}, "truncated or corrupt (unknown format version 0)"),
])
def test_a_format_version_that_cannot_be_read_says_why(meta, sentence):
    if sentence is None:
        assert file_version(meta) == 1
        return
    with pytest.raises(Problem) as ei:
        file_version(meta)
    assert str(ei.value) == sentence


# -- the history series helpers ----------------------------------------------------------------------------
def series(capacity, n):
    s = DecimatingSeries(capacity)
    for i in range(n):
        s.append(float(i) / 4)
    return s


def test_a_series_is_stored_as_its_values_and_five_numbers_of_bookkeeping():
    s = series(4, 7)  # stride 2 after the first halving, one value waiting
    h = series_to_history("loss", s)
    assert set(h) == {"loss", "loss.state"}
    assert h["loss"].dtype == np.float32 and h["loss"].tolist() == s.values().tolist()
    assert h["loss.state"].dtype == np.float64
    assert h["loss.state"].tolist() == [4, 2, 1.5, 1, 7]


def test_a_series_comes_back_with_its_bookkeeping_and_carries_on_alike():
    s = series(4, 11)
    back = series_from_history(series_to_history("loss", s), "loss")
    assert back.capacity == 4 and back.state_dict()["acc"] == s.state_dict()["acc"]
    for k in ("stride", "acc_n", "count"):
        assert back.state_dict()[k] == s.state_dict()[k]
    assert back.values().tolist() == s.values().tolist()
    for i in range(9):
        s.append(i)
        back.append(i)
    assert back.values().tolist() == s.values().tolist() and back.stride == s.stride


def malformed(history, sentence):
    with pytest.raises(SessionError) as ei:
        series_from_history(history, "loss")
    assert type(ei.value) is SessionError and str(ei.value) == f"the history series 'loss' is missing or malformed " \
                                                               f"({sentence})"


RANGE = f"malformed: capacity, stride or count out of range (capacity at most {MAX_CAPACITY:,})"


@pytest.mark.parametrize("state,sentence", [
    ([1, 1, 0, 0, 0], RANGE), ([2.5, 1, 0, 0, 0], RANGE), ([MAX_CAPACITY + 2, 1, 0, 0, 0], RANGE),
    ([4, 0, 0, 0, 0], RANGE), ([4, 1, 0, -1, 0], RANGE), ([4, 1, 0, 0, -1], RANGE),
    ([4, MAX_STEPS + 2048, 0, 0, 0], RANGE), ([4, 1, 0, 0, MAX_STEPS + 2048], RANGE),
    ([3, 1, 0, 0, 0], "capacity must be an even number >= 2"), ([4, 1, np.nan, 0, 0], "malformed"),
    ([4, 1, 0, 0, np.inf], "malformed")])
def test_bookkeeping_out_of_range_is_refused(state, sentence):
    malformed({"loss": np.zeros(2, np.float32), "loss.state": np.array(state, np.float64)}, sentence)


@pytest.mark.parametrize("state", [[2, 1, 0, 0, 0], [MAX_CAPACITY, 1, 0, 0, 0], [4, MAX_STEPS, 0.5, 0, MAX_STEPS]])
def test_bookkeeping_at_the_edges_is_kept(state):
    s = series_from_history({"loss": np.zeros(2, np.float32), "loss.state": np.array(state, np.float64)}, "loss")
    assert (s.capacity, s.stride, s.count) == (state[0], state[1], state[4]) and s.state_dict()["acc"] == state[2]


def test_missing_or_misshapen_arrays_are_refused():
    malformed({"loss": np.zeros(2)}, "'loss.state'")
    malformed({"loss.state": np.array([4, 1, 0, 0, 0.0])}, "'loss'")
    malformed({"loss": np.zeros((2, 1)), "loss.state": np.array([4, 1, 0, 0, 0.0])}, "malformed")
    malformed({"loss": np.zeros(2), "loss.state": np.array([4, 1, 0, 0, 0, 0.0])}, "malformed")
    malformed({"loss": np.zeros(2), "loss.state": np.array([[4, 1, 0, 0, 0.0]])}, "malformed")
    malformed({"loss": np.zeros(5), "loss.state": np.array([4, 1, 0, 0, 0.0])}, "series longer than its capacity")
    malformed({"loss": ["a"], "loss.state": np.array([4, 1, 0, 0, 0.0])},
              "could not convert string to float: 'a'")
