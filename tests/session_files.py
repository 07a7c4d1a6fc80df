"""Session files in the tests: small trained configs to save (online and batch), reading a whole image back (as
core.sessions.container reads it part by part), editing one in place (its tensors, config or trainer position), and
the check that opening one fails with one plain message."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
import tomli_w

from core.config import preset
from core.sessions.container import build_container, read_metadata, read_tensors
from core.train.trainer import make_trainer


def parse_container(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a whole session image; core.sessions.container.Problem if it is not one."""
    entries, metadata, start = read_metadata(data)
    return read_tensors(data, entries, start), metadata


def rewrite(path, tensors=None, metadata=None, *, fix_checksum=True):
    """Edit a session in place (tensors/metadata callables get and return dicts); a valid checksum by default."""
    with open(path, "rb") as fh:
        t, m = parse_container(fh.read())
    t = tensors(dict(t)) if tensors else t
    m = metadata(dict(m)) if metadata else m
    from safetensors.numpy import save as st_save
    data = build_container(t, {k: v for k, v in m.items() if k != "checksum"}) if fix_checksum else \
        st_save(t, metadata=m)
    with open(path, "wb") as fh:
        fh.write(data)


def fails(path, *fragments) -> str:
    """Opening `path` raises SessionError itself (no subclass, no traceback in its text), whose message names the
    file and holds each fragment; the message."""
    from core.sessions.gmlab import SessionError, open_session

    with pytest.raises(SessionError) as ei:
        open_session(path)
    msg = str(ei.value)
    assert type(ei.value) is SessionError
    assert "Traceback" not in msg and str(path) in msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


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
