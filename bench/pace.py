"""Wall-clock checks moved out of the test suite (tests/ measure no wall clock): the live engine's speed limit and
how long the window takes to close.

    python bench/pace.py [--speed 100] [--seconds 1.0]

(a) Pacing: LiveEngine(question-fixed) at --speed steps/s, driven for --seconds as the worker drives it (advance,
    then sleep until the next step is due): steps trained vs speed x seconds. Goal: within 20 %.
(b) Closing: a MainWindow (offscreen) with its training child started, then close(): seconds until it returned.
    Goal < 1.0 s.

Timing on a loaded machine is slower than on an idle one; run it alone. Exit 0 when it measured (not when the
goals are met: the table says that).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pace(speed: float, seconds: float) -> tuple[int, float]:
    from core.config import preset
    from core.live.engine import LiveEngine

    e = LiveEngine(preset("question-fixed"))
    e.set_speed(speed)
    e.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        e.advance(0.01)
        time.sleep(e.seconds_to_next_step())
    return e.steps, time.perf_counter() - t0


def close_time() -> float | None:
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return None
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    win = MainWindow()
    win.show()
    deadline = time.monotonic() + 60
    while not getattr(win.handle, "ready", True) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    t0 = time.perf_counter()
    win.close()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=1.0)
    a = ap.parse_args(argv)
    steps, took = pace(a.speed, a.seconds)
    want = a.speed * took
    ok = abs(steps - want) <= 0.2 * want
    print(f"pace   {steps} steps in {took:.2f} s at {a.speed:g}/s (want {want:.0f} +-20 %)  {'ok' if ok else 'SLOW'}")
    c = close_time()
    if c is None:
        print("close  skipped (no PySide6)")
    else:
        print(f"close  {c:.3f} s (goal < 1.0 s)  {'ok' if c < 1.0 else 'SLOW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
