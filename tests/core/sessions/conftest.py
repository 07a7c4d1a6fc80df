"""The session files the session tests open and damage: an online run 20 steps in (window 2, a history and an
`extra`) and a batch run one epoch and two minibatches in."""

import pytest

from core.sessions.gmlab import save_session
from tests.session_files import batch_cfg, online_cfg, sample_history, trained


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
