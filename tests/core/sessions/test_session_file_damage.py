"""Damaged and foreign files: each is refused with one SessionError that says what is wrong (not a session, a
newer or unknown version, truncated, a checksum that does not match, a shape, a config or a trainer position that
does not fit), never opened half-way."""

import json
import os

import numpy as np
import pytest
import torch

from core.sessions import gmlab as S
from core.sessions.gmlab import (
    SessionError,
    open_session,
    save_session,
)
from tests.session_files import edit_config, edit_meta, fails, online_cfg, read_container, rewrite, trained


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
