"""Soak: 20,000 real repaints of the live views while training runs, without a crash.

Run in a child process (tests/soak_app.py), so that an abort inside Qt or PySide (PySide6 6.12.0's "Fatal
Python error: bool_dealloc" after a few thousand repaints on Python 3.11) fails this test instead of killing
pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPAINTS = 20_000


SAFETY_S = 1500  # only a net for a hang: the count of repaints is the test, however long a loaded machine takes


@pytest.mark.slow
@pytest.mark.timeout(SAFETY_S + 120)
def test_soak_20000_repaints_while_training(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS=str(tmp_path / "settings.ini"),
               PYTHONFAULTHANDLER="1")
    cmd = [sys.executable, str(ROOT / "tests" / "soak_app.py"), "--repaints", str(REPAINTS), "--size", "640x480",
           "--limit-s", str(SAFETY_S),
           "--speed", "5000"]  # a paced trainer leaves the shared CPUs to the window being soaked
    try:
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SAFETY_S + 60)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"the soak hung (no end within {SAFETY_S + 60} s); stderr:\n{err[-3000:]}")
    tail = f"\nstdout:\n{r.stdout[-2000:]}\nstderr:\n{r.stderr[-4000:]}"
    assert r.returncode == 0, f"exit code {r.returncode} (negative: killed by a signal, e.g. -6 = abort){tail}"
    m = re.search(r"repaints: (\d+) frames: (\d+) steps: (\d+) running-frames: (\d+) errors: (\d+)", r.stdout)
    assert m, f"no repaint count printed{tail}"
    repaints, frames, steps, running, errors = map(int, m.groups())
    assert repaints >= REPAINTS, tail
    # every frame went through FramePresenter.show and was repainted (4 forced paints, plus Qt's own)
    assert REPAINTS // 16 <= frames <= repaints // 4 and running >= frames - 2, tail  # training throughout
    assert steps > frames and errors == 0, tail
    assert "Traceback" not in r.stderr and "Fatal Python error" not in r.stderr, tail  # no slot raised
