"""Sessions: save -> open restores the exact position and history and continues identically; the file is plain
safetensors in the documented layout; a path that cannot be written gives one clear SessionError and a failed save
leaves the existing file alone. (Damaged files: test_session_file_damage.py; CSV: test_csv_export.py.)"""

import errno
import json
import os
import tomllib

import numpy as np
import pytest
import torch

from core import atomic_io as A
from core.history import DecimatingSeries
from core.sessions import gmlab as S
from core.sessions.gmlab import (
    Session,
    SessionError,
    check_writable,
    open_session,
    save_session,
    series_from_history,
    series_to_history,
)
from tests.session_files import (
    batch_cfg,
    next_outputs,
    online_cfg,
    sample_history,
    trained,
)

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
