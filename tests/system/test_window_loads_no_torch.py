"""The window's process never loads torch (about a second of start-up on a small machine): training runs in child
processes, which import it themselves. Checked in a fresh interpreter, since this test process has torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_and_its_window_loads_no_torch():
    code = ("import sys; import main, gui.app, gui.main_window, gui.children.entry; "
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')); "
            "print('torch modules:', bad[:3]); sys.exit(1 if bad else 0)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
