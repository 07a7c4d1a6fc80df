"""Reading a whole session image back in the tests, as core.sessions.container reads it part by part."""

from __future__ import annotations

import numpy as np

from core.sessions.container import read_metadata, read_tensors


def parse_container(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a whole session image; core.sessions.container.Problem if it is not one."""
    entries, metadata, start = read_metadata(data)
    return read_tensors(data, entries, start), metadata
