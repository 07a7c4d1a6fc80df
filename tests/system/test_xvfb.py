"""A real window on a real X server: the app under Xvfb (xcb platform plugin), trained, screenshotted, closed.

The test starts its own Xvfb on a free display number and always kills it. Skipped when Xvfb is not installed
(`make sysdeps` installs it on Debian).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.gui_helpers import image_not_blank

ROOT = Path(__file__).resolve().parents[2]
XVFB = shutil.which("Xvfb")
X11_DIR = Path("/tmp/.X11-unix")

pytestmark = [pytest.mark.xvfb,
              pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (Debian: apt-get install xvfb)")]


def _free_display() -> int:
    for n in range(90, 200):
        if not (X11_DIR / f"X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number in :90..:199")


@pytest.fixture
def xvfb(tmp_path):
    """Start `Xvfb :N`, wait for its socket, yield N; kill it afterwards whatever happened."""
    for _ in range(5):  # another process may grab the same number between the check and the start
        n = _free_display()
        log = open(tmp_path / f"xvfb-{n}.log", "wb")
        proc = subprocess.Popen([XVFB, f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                stdout=log, stderr=subprocess.STDOUT)
        sock = X11_DIR / f"X{n}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None and not sock.exists():
            time.sleep(0.05)
        if proc.poll() is None and sock.exists():
            break
        proc.kill()
        proc.wait()
        log.close()
    else:
        pytest.fail(f"Xvfb did not start; see {tmp_path}")
    try:
        yield n
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_real_window_under_xvfb(xvfb, tmp_path):
    from PySide6.QtGui import QImage

    shot = tmp_path / "xvfb.png"
    env = dict(os.environ, DISPLAY=f":{xvfb}", QT_QPA_PLATFORM="xcb", GML_SETTINGS=str(tmp_path / "settings.ini"))
    env.pop("WAYLAND_DISPLAY", None)
    cmd = [sys.executable, "main.py", "--no-restore", "--preset", "question-fixed", "--autostart",
           "--screenshot", str(shot), "--quit-after-steps", "2000"]
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the window did not finish within 90 s; output:\n{e.stdout}\n{e.stderr}")
    if r.returncode != 0 and "xcb" in r.stderr:
        dbg = subprocess.run(cmd, cwd=ROOT, env=dict(env, QT_DEBUG_PLUGINS="1"), capture_output=True, text=True,
                             timeout=90)
        pytest.fail(f"Qt's xcb plugin did not load (exit {r.returncode}); QT_DEBUG_PLUGINS=1 says:\n"
                    f"{dbg.stderr[-4000:]}")
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert shot.exists(), r.stdout + r.stderr
    img = QImage(str(shot))
    assert (img.width(), img.height()) == (1440, 900)  # --screenshot makes the window 1440x900
    assert image_not_blank(shot)
    rgb = img.convertToFormat(QImage.Format_RGB32)
    px = np.frombuffer(rgb.constBits(), dtype=np.uint32, count=rgb.width() * rgb.height())
    assert len(np.unique(px)) > 200  # plots, heatmap, text: many distinct colours, not a flat fill
