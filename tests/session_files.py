"""Session files in the tests: reading a whole image back (as core.sessions.container reads it part by part),
editing one in place, and the check that opening one fails with one plain message."""

from __future__ import annotations

import numpy as np
import pytest

from core.sessions.container import build_container, read_metadata, read_tensors


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
