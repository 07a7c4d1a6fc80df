"""Sessions: save -> open restores the exact position and history; bad files give one clear SessionError;
failed saves and exports leave existing files alone; CSV export."""

import csv
import errno
import json
import os
import tomllib

import numpy as np
import pytest
import tomli_w
import torch

from core import atomic_io as A
from core.config import preset
from core.history import DecimatingSeries
from core.sessions import gmlab as S
from core.sessions.csv_export import ExportError, export_history_csv
from core.sessions.gmlab import (
    Session,
    SessionError,
    check_writable,
    open_session,
    save_session,
    series_from_history,
    series_to_history,
)
from core.train.trainer import make_trainer
from tests.session_files import fails, parse_container, rewrite

# -- helpers -------------------------------------------------------------------------------------------------


def online_cfg(**kw):
    base = dict(units=3, window=1, seed=3)
    base.update(kw)
    return preset("question-fixed").replace(**base)


def batch_cfg(**kw):
    base = dict(n_sequences=300, seq_len=8, batch_size=64, epochs=3, seed=4)
    base.update(kw)
    return preset("answer").replace(**base)


def trained(cfg, steps):
    tr = make_trainer(cfg)
    for _ in range(steps):
        tr.step()
    return tr


def sample_history():
    return {"loss": np.linspace(1, 0, 50, dtype=np.float32), "accuracy": np.linspace(0.5, 1, 50),
            "step": np.arange(50, dtype=np.int64), "correct": np.arange(50) % 3 == 0,
            "ring.h": np.random.default_rng(1).standard_normal((20, 3)).astype(np.float32),
            "scalar": np.array(2.5), "empty": np.zeros((0, 3), np.float32),
            "val_loss": np.array([np.nan, 0.5, np.inf])}


def next_outputs(tr, n=25):
    if tr.mode == "batch":
        return [tr.step().loss for _ in range(n)]
    return [tr.step().y_hat for _ in range(n)]


def read_container(path):
    with open(path, "rb") as fh:
        return parse_container(fh.read())


def edit_config(path, **changes):
    def f(m):
        d = tomllib.loads(m["config"])
        for key, value in changes.items():
            section, name = key.split("__")
            d.setdefault(section, {})[name] = value
        m["config"] = tomli_w.dumps(d)
        return m
    rewrite(path, metadata=f)


def edit_meta(path, fn):
    def f(m):
        meta = json.loads(m["trainer"])
        fn(meta)
        m["trainer"] = json.dumps(meta)
        return m
    rewrite(path, metadata=f)


@pytest.fixture
def online_file(tmp_path):
    p = tmp_path / "run.gmlab"
    save_session(p, trained(online_cfg(window=2), 20), sample_history(), {"note": "hi"})
    return p


@pytest.fixture
def batch_file(tmp_path):
    p = tmp_path / "batch.gmlab"
    tr = trained(batch_cfg(), 7)  # 5 batches per epoch: one epoch and two batches in
    assert tr.epoch == 1 and tr.batch == 2
    save_session(p, tr)
    return p


# -- round trips ---------------------------------------------------------------------------------------------
CASES = {
    "online-w1": (online_cfg(window=1), 40),
    "online-w4": (online_cfg(window=4), 40),
    "online-w4-fresh": (online_cfg(window=4), 0),
    "online-w4-partial-window": (online_cfg(window=4), 2),
    "online-rtrl": (online_cfg(rule="rtrl"), 30),
    "online-sgd-bce": (online_cfg(optimizer="sgd", loss="bce", window=3), 30),
    "online-raw-lag3": (online_cfg(readout="raw", lag=3, kind="xor"), 30),
    "batch-mid-epoch": (batch_cfg(), 7),
    "batch-epoch-boundary": (batch_cfg(), 5),
    "batch-fresh": (batch_cfg(), 0),
    "batch-no-shuffle-no-val": (batch_cfg(shuffle=False, validation_split=0.0, optimizer="sgd"), 6),
}


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_continues_identically(tmp_path, name):
    cfg, steps = CASES[name]
    tr = trained(cfg, steps)
    tr.set_lr(0.02)  # a live change is part of the position
    hist = sample_history()
    extra = {"view": {"smoothing": 0.6, "tabs": ["loss", "gates"]}, "n": None}
    path = tmp_path / f"{name}.gmlab"
    save_session(path, tr, hist, extra)
    s = open_session(path)
    assert isinstance(s, Session) and s.version == S.FORMAT_VERSION and s.path == str(path)
    assert s.config == cfg.replace(lr=0.02) == tr.cfg  # the config saved is the run's, live lr included
    assert s.extra == extra and s.trainer.mode == tr.mode
    assert set(s.history) == set(hist)
    for k, a in hist.items():
        b = s.history[k]
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b, equal_nan=True), k
        assert b.flags.writeable
    assert s.trainer.lr == 0.02
    if tr.mode == "batch":
        assert (s.trainer.epoch, s.trainer.batch) == (tr.epoch, tr.batch)
        assert json.dumps(s.trainer.history) == json.dumps(tr.history)
    else:
        assert s.trainer.t == tr.t
    assert next_outputs(tr) == next_outputs(s.trainer)
    if tr.mode == "batch":
        assert json.dumps(s.trainer.history) == json.dumps(tr.history)
        assert np.array_equal(tr.probe().y_hat, s.trainer.probe().y_hat)
    else:
        assert tr.evaluate(20) == s.trainer.evaluate(20)


def test_saving_does_not_disturb_the_trainer(tmp_path):
    a, b = trained(online_cfg(window=3), 15), trained(online_cfg(window=3), 15)
    save_session(tmp_path / "x.gmlab", a)
    assert next_outputs(a) == next_outputs(b)


def test_opening_changes_nothing_outside(online_file):
    before_files = sorted(os.listdir(online_file.parent))
    data = online_file.read_bytes()
    torch.manual_seed(99)
    rng = torch.get_rng_state()
    s = open_session(online_file)
    assert torch.equal(rng, torch.get_rng_state())
    assert online_file.read_bytes() == data and sorted(os.listdir(online_file.parent)) == before_files
    s.history["loss"][:] = 7  # the arrays are the caller's own copies
    assert open_session(online_file).history["loss"][0] == 1


def test_overwrite_keeps_mode_and_leaves_no_temp_files(tmp_path):
    p = tmp_path / "x.gmlab"
    save_session(p, trained(online_cfg(), 3))
    os.chmod(p, 0o640)
    save_session(p, trained(online_cfg(), 5))
    assert open_session(p).trainer.t == 5
    assert oct(os.stat(p).st_mode & 0o777) == oct(0o640)
    assert os.listdir(tmp_path) == ["x.gmlab"]


def test_file_is_plain_safetensors_with_the_documented_layout(online_file):
    from safetensors import safe_open
    with safe_open(str(online_file), framework="numpy") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["format"] == "gru-memory-lab-session" and meta["format_version"] == meta["version"] == "2"
    assert tomllib.loads(meta["config"])["model"]["units"] == 3
    assert set(json.loads(meta["trainer"])) >= {"t", "stream", "optimizer"}
    assert json.loads(meta["extra"]) == {"note": "hi"} and meta["checksum"].startswith("sha256:")
    assert "trainer.model.gru.weight_hh_l0" in keys and "history.loss" in keys and "trainer.h" in keys


def test_decimating_series_helpers(tmp_path):
    s = DecimatingSeries(8)
    for i in range(37):
        s.append(float(i))
    p = tmp_path / "s.gmlab"
    save_session(p, trained(online_cfg(), 1), series_to_history("loss", s))
    back = series_from_history(open_session(p).history, "loss")
    assert back.stride == s.stride and back.count == s.count and len(back) == len(s)
    for a, b in zip(back.arrays(), s.arrays()):
        assert np.array_equal(a, b)
    back.append(1.0)
    s.append(1.0)
    assert np.array_equal(back.arrays()[1], s.arrays()[1])
    with pytest.raises(SessionError, match="missing or malformed"):
        series_from_history({"loss": np.zeros(3)}, "loss")
    with pytest.raises(SessionError, match="missing or malformed"):
        series_from_history({"loss": np.zeros(3), "loss.state": np.array([3, 1, 0, 0, 0.0])}, "loss")


# -- bad files: one SessionError with the right message ------------------------------------------------------
def test_missing_folder_and_non_session_files(tmp_path):
    fails(tmp_path / "nope.gmlab", "no such file")
    fails(tmp_path, "folder")
    for name, data, frag in [("empty", b"", "truncated or corrupt"), ("short", b"abc", "truncated or corrupt"),
                             ("text", b"hello, this is a text file\n" * 3, "not a GRU Memory Lab session"),
                             ("png", b"\x89PNG\r\n\x1a\n" + bytes(100), "not a GRU Memory Lab session"),
                             ("json", b"{\"a\": 1}", "not a GRU Memory Lab session"),
                             ("zip", b"PK\x03\x04" + bytes(60), "not a GRU Memory Lab session")]:
        p = tmp_path / name
        p.write_bytes(data)
        fails(p, frag)


def test_a_torch_checkpoint_is_not_a_session(tmp_path):
    p = tmp_path / "ckpt.gmlab"
    torch.save({"w": torch.zeros(3)}, p)
    fails(p, "not a GRU Memory Lab session")


def test_other_safetensors_files_are_not_sessions(tmp_path):
    from safetensors.numpy import save_file
    p = tmp_path / "w.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(p))
    fails(p, "not a GRU Memory Lab session")
    save_file({"w": np.zeros(3, np.float32)}, str(p), metadata={"format": "pt"})
    fails(p, "not a GRU Memory Lab session")


def test_wrong_magic(online_file):
    rewrite(online_file, metadata=lambda m: {**m, "format": "gru-memory-lab-sessionX"})
    fails(online_file, "not a GRU Memory Lab session")


NEWER = "made by a newer GRU Memory Lab (format version 3; this one reads up to 2)"


@pytest.mark.parametrize("version,frag", [("3", NEWER), ("0", "unknown format version 0"), ("one", "not a number"),
                                          ("", "not a number")])
def test_versions(online_file, version, frag):
    rewrite(online_file, metadata=lambda m: {**m, "format_version": version, "version": version})
    fails(online_file, frag)


def test_every_truncation_is_reported(tmp_path):
    p = tmp_path / "small.gmlab"
    save_session(p, trained(online_cfg(units=1), 3), {"a": np.arange(4.0)})
    data = p.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    cuts = set(range(0, 80)) | set(range(header_end - 40, len(data))) | set(range(80, header_end, 53))
    q = tmp_path / "cut.gmlab"
    for n in sorted(cuts):
        q.write_bytes(data[:n])
        fails(q, "truncated or corrupt")
    q.write_bytes(data + b"\0\0\0")
    fails(q, "truncated or corrupt", "unexpected bytes at the end")


def test_damage_is_caught_by_the_checksum(online_file):
    data = bytearray(online_file.read_bytes())
    for pos in (len(data) - 5, len(data) // 2 + 7):  # tensor bytes, then somewhere in the header
        damaged = bytearray(data)
        damaged[pos] ^= 0x01
        online_file.write_bytes(bytes(damaged))
        fails(online_file, "truncated or corrupt")
    online_file.write_bytes(bytes(data[:-4]) + b"\0\0\0\0")
    fails(online_file, "checksum")
    rewrite(online_file, metadata=lambda m: {**m, "extra": json.dumps({"note": "edited"})}, fix_checksum=False)
    fails(online_file, "checksum")


def test_missing_checksum_or_fields(online_file):
    from safetensors.numpy import save as st_save
    t, m = read_container(online_file)
    for key in ("checksum", "config", "trainer", "extra"):
        online_file.write_bytes(st_save(t, metadata={k: v for k, v in m.items() if k != key}))
        fails(online_file, "truncated or corrupt", key)


def test_huge_files_are_refused_before_reading(tmp_path):
    p = tmp_path / "huge.gmlab"
    with open(p, "wb") as fh:  # sparse: no disk used
        fh.truncate(S.MAX_FILE_BYTES + 1)
    fails(p, "more than a session can be")
    p.write_bytes((2**40).to_bytes(8, "little") + b"{" + bytes(30))
    fails(p, "not a GRU Memory Lab session")


def test_shape_mismatch_names_the_tensor(online_file):
    edit_config(online_file, model__units=5)
    msg = fails(online_file, "trainer.model.gru.weight_ih_l0 has shape (9, 1)", "(15, 1)", "model.units = 5")
    assert "size mismatch" not in msg


def test_shape_mismatch_in_carried_state_and_window(online_file):
    def bad_h(t):
        t["trainer.h"] = np.zeros((1, 4), np.float32)
        return t
    rewrite(online_file, tensors=bad_h)
    fails(online_file, "trainer.h has shape (1, 4)", "(1, 3)")


def test_window_tensor_shape(online_file):
    def bad(t):
        t["trainer.window.0"] = np.zeros((2, 3), np.float32)
        return t
    rewrite(online_file, tensors=bad)
    fails(online_file, "trainer.window.0 has shape (2, 3)")


def test_optimizer_tensor_shape_and_values(online_file):
    def bad(t):
        t["trainer.optim.m"] = np.zeros((4, 4), np.float32)
        return t
    p = online_file
    orig = p.read_bytes()
    rewrite(p, tensors=bad)
    fails(p, "trainer.optim.m has shape (4, 4)")
    p.write_bytes(orig)
    edit_meta(p, lambda m: m["optimizer"].update(step=-3))
    fails(p, "optimizer step count")
    p.write_bytes(orig)
    rewrite(p, tensors=lambda t: {**t, "trainer.optim.v": -np.abs(t["trainer.optim.v"]) - 1})
    fails(p, "trainer.optim.v, squared averages, has negative values")
    p.write_bytes(orig)
    rewrite(p, tensors=lambda t: {k: v for k, v in t.items() if k != "trainer.optim.v"})
    fails(p, "lacks trainer.optim.v")


def test_batch_shuffle_order_must_fit(batch_file):
    orig = batch_file.read_bytes()
    edit_config(batch_file, train__n_sequences=400)
    fails(batch_file, "trainer.perm has shape (270,)", "360 training sequences")
    batch_file.write_bytes(orig)
    rewrite(batch_file, tensors=lambda t: {**t, "trainer.perm": np.zeros(270, np.int64)})
    fails(batch_file, "not a permutation")
    batch_file.write_bytes(orig)
    rewrite(batch_file, tensors=lambda t: {k: v for k, v in t.items() if k != "trainer.perm"})
    fails(batch_file, "lacks trainer.perm")


def test_non_finite_weights(online_file):
    def nan(t):
        w = t["trainer.model.gru.weight_hh_l0"].copy()
        w[1, 2] = np.nan
        t["trainer.model.gru.weight_hh_l0"] = w
        return t
    rewrite(online_file, tensors=nan)
    fails(online_file, "NaN or infinity", "trainer.model.gru.weight_hh_l0")


def test_saving_a_diverged_trainer_is_refused(tmp_path):
    tr = trained(online_cfg(), 2)
    with torch.no_grad():
        tr.model.readout.bias.fill_(float("inf"))
    with pytest.raises(SessionError, match="NaN or infinity"):
        save_session(tmp_path / "d.gmlab", tr)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("changes,frag", [
    ({"model__units": 0}, "config: model.units must be >= 1"),
    ({"train__lr": -1.0}, "config: train.lr must be > 0"),
    ({"task__kind": "nand"}, "config: task.kind must be one of not, copy, xor"),
    ({"train__window": "4"}, "config: train.window must be an integer"),
    ({"train__colour": 1}, "config: train unknown field(s): colour"),
    ({"extra__x": 1}, "config: unknown section(s): extra"),
])
def test_bad_config(online_file, changes, frag):
    edit_config(online_file, **changes)
    fails(online_file, frag)


def test_config_not_toml(online_file):
    rewrite(online_file, metadata=lambda m: {**m, "config": "[model\nunits = = 3"})
    fails(online_file, "config: not valid TOML")


@pytest.mark.parametrize("field,value,frag", [
    ("trainer", "{not json", "not valid JSON"), ("trainer", "[1, 2]", "not a JSON object"),
    ("extra", "nope", "not valid JSON"), ("extra", "3", "not a JSON object"),
])
def test_bad_json(online_file, field, value, frag):
    rewrite(online_file, metadata=lambda m: {**m, field: value})
    fails(online_file, frag)


@pytest.mark.parametrize("edit,frag", [
    (lambda m: m.pop("t"), "lacks t"),
    (lambda m: m.update(colour=1), "has unknown colour"),
    (lambda m: m.update(t=-1), "step count"),
    (lambda m: m.update(t="5"), "step count"),
    (lambda m: m.update(window_x=[2, 0]), "0/1 bits"),
    (lambda m: m.update(window_x=[1, 0, 1]), "window holds 3 steps"),
    (lambda m: m.update(window_x=[1]), "do not match"),
    (lambda m: m["stream"].update(x=[5] * 10), "0/1 bits"),
    (lambda m: m["stream"].update(i=10**6), "stream"),
    (lambda m: m["stream"].update(past=[0, 0]), "expected 1"),
    (lambda m: m["stream"].update(rng={"bit_generator": "MT19937"}), "does not fit"),
    (lambda m: m["stream"].update(rng={"bit_generator": "PCG64", "state": "x"}), "does not fit"),
    (lambda m: m["optimizer"].update(step="5"), "optimizer step count"),
    (lambda m: m["optimizer"].update(lr=0.5), "its step count only"),
    (lambda m: m.update(optimizer=[]), "optimizer state is not a table"),
    (lambda m: m.pop("optimizer"), "lacks optimizer"),
    (lambda m: m["stream"].update(colour=1), "does not restore exactly (stream does not fit"),
])
def test_bad_online_position(online_file, edit, frag):
    edit_meta(online_file, edit)
    fails(online_file, frag)


@pytest.mark.parametrize("edit,frag", [
    (lambda m: m.update(epoch=9), "epoch"),
    (lambda m: m.update(batch=5), "batch"),
    (lambda m: m.update(sum_n=10**6), "sum_n"),
    (lambda m: m.update(sum_loss="x"), "sum_loss"),
    (lambda m: m["history"].update(loss=[]), "epoch history"),
    (lambda m: m["history"].update(loss=["a"]), "epoch history"),
    (lambda m: m["history"].pop("val_loss"), "epoch history"),
])
def test_bad_batch_position(batch_file, edit, frag):
    edit_meta(batch_file, edit)
    fails(batch_file, frag)


def test_unexpected_tensors(online_file):
    orig = online_file.read_bytes()
    rewrite(online_file, tensors=lambda t: {**t, "weights.x": np.zeros(2, np.float32)})
    fails(online_file, "unexpected tensor 'weights.x'")
    online_file.write_bytes(orig)
    rewrite(online_file, tensors=lambda t: {**t, "trainer.bogus": np.zeros(2, np.float32)})
    fails(online_file, "trainer.bogus")
    online_file.write_bytes(orig)
    rewrite(online_file, tensors=lambda t: {**t, "trainer.perm": np.arange(3, dtype=np.int64)})
    fails(online_file, "trainer.perm")
    online_file.write_bytes(orig)
    rewrite(online_file, tensors=lambda t: {**t, "trainer.h": np.zeros((1, 3), np.float64)})
    fails(online_file, "trainer.h holds float64")


def test_odd_paths():
    with pytest.raises(SessionError, match="not a file path"):
        open_session(None)
    with pytest.raises(SessionError, match="not a file path"):
        save_session(3.5, None)


# -- saving and exporting where it cannot be written ---------------------------------------------------------
def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "ok.gmlab") is None
    assert "does not exist" in check_writable(tmp_path / "no" / "such" / "x.gmlab")
    assert "is a folder" in check_writable(tmp_path)
    assert check_writable("") == "no file name given"
    (tmp_path / "f").write_text("x")
    assert "is not a folder" in check_writable(tmp_path / "f" / "x.gmlab")


def test_unwritable_session_paths(tmp_path):
    tr = trained(online_cfg(), 2)
    missing = tmp_path / "no" / "such" / "x.gmlab"
    with pytest.raises(SessionError) as ei:
        save_session(missing, tr)
    assert str(missing) in str(ei.value) and "does not exist" in str(ei.value)
    with pytest.raises(SessionError, match="is a folder"):
        save_session(tmp_path, tr)
    with pytest.raises(SessionError, match="cannot store"):
        save_session(tmp_path / "y.gmlab", tr, {"names": np.array(["a", "b"])})
    with pytest.raises(SessionError, match="JSON"):
        save_session(tmp_path / "y.gmlab", tr, extra={"f": object()})
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("where", ["mkstemp", "fsync", "replace"])
def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch, where):
    p = tmp_path / "keep.gmlab"
    save_session(p, trained(online_cfg(), 4), {"a": np.arange(3.0)})
    before = p.read_bytes()

    def boom(*a, **k):
        if where == "mkstemp":
            raise PermissionError(errno.EACCES, "Permission denied")
        raise OSError(errno.ENOSPC, "No space left on device")
    target = {"mkstemp": (A.tempfile, "mkstemp"), "fsync": (A.os, "fsync"), "replace": (A.os, "replace")}[where]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(SessionError) as ei:
        save_session(p, trained(online_cfg(), 9))
    msg = str(ei.value)
    assert msg.startswith(f"cannot write {p}: ")
    assert ("permission denied" if where == "mkstemp" else "no space left on device") in msg
    monkeypatch.undo()
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["keep.gmlab"]
    assert open_session(p).trainer.t == 4


# -- CSV -----------------------------------------------------------------------------------------------------
def read_csv(p):
    with open(p, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_equal_columns(tmp_path):
    p = tmp_path / "h.csv"
    export_history_csv(p, {"step": np.arange(3), "loss": np.array([0.5, np.nan, np.inf]),
                           "acc": np.array([0.1, 0.2, 0.3], np.float32), "ok": np.array([True, False, True]),
                           "h": np.arange(6, dtype=np.float32).reshape(3, 2), "a,b": [1, 2, 3]})
    rows = read_csv(p)
    assert rows[0] == ["step", "loss", "acc", "ok", "h[0]", "h[1]", "a,b"]
    assert rows[1] == ["0", "0.5", "0.1", "1", "0.0", "1.0", "1"]
    assert rows[2][1] == "nan" and rows[3][1] == "inf" and float(rows[3][2]) == pytest.approx(0.3)
    assert len(rows) == 4


def test_csv_ragged_columns(tmp_path):
    p = tmp_path / "r.csv"
    cols = {"step": np.arange(4), "recent": np.array([7.0, 8.0])}
    export_history_csv(p, cols)
    assert read_csv(p)[1:] == [["0", "7.0"], ["1", "8.0"], ["2", ""], ["3", ""]]
    export_history_csv(p, cols, align="end")
    assert read_csv(p)[1:] == [["0", ""], ["1", ""], ["2", "7.0"], ["3", "8.0"]]


def test_csv_errors(tmp_path):
    missing = tmp_path / "gone" / "h.csv"
    with pytest.raises(ExportError) as ei:
        export_history_csv(missing, {"a": [1]})
    assert str(missing) in str(ei.value) and "does not exist" in str(ei.value)
    with pytest.raises(ExportError, match="is a folder"):
        export_history_csv(tmp_path, {"a": [1]})
    with pytest.raises(ExportError, match="no columns"):
        export_history_csv(tmp_path / "x.csv", {})
    with pytest.raises(ExportError, match="numbers only"):
        export_history_csv(tmp_path / "x.csv", {"a": ["x"]})
    with pytest.raises(ExportError, match="dimensions"):
        export_history_csv(tmp_path / "x.csv", {"a": np.zeros((2, 2, 2))})
    with pytest.raises(ExportError, match="align"):
        export_history_csv(tmp_path / "x.csv", {"a": [1]}, align="middle")
    assert not os.listdir(tmp_path)


def test_csv_failed_write_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "h.csv"
    export_history_csv(p, {"a": [1, 2]})
    before = p.read_bytes()
    monkeypatch.setattr(A.tempfile, "mkstemp",
                        lambda *a, **k: (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(ExportError, match=f"cannot write {p}: permission denied"):
        export_history_csv(p, {"a": [3]})
    monkeypatch.undo()
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["h.csv"]
