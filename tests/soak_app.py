"""Soak driver (run as a script, see tests/test_soak.py): the main window, offscreen, training without pause,
every snapshot drawn through the window's normal frame path (FramePresenter.show) and then each live view
repainted synchronously, until N real paints of the views happened.

A paint is counted by an event filter on each view's viewport (QEvent.Paint), so only paints Qt really
delivered count. Prints `repaints: N frames: F steps: S running-frames: R seconds: T` and exits 0; exits 3
when the time limit passes first. A crash in Qt or PySide (e.g. PySide6 6.12.0's "Fatal Python error:
bool_dealloc" after a few thousand repaints on Python 3.11) aborts the process, which the test reports.

    python tests/soak_app.py [--repaints 20000] [--size 640x480] [--limit-s 600] [--speed STEPS_PER_S]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repaints", type=int, default=20000)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--limit-s", type=float, default=600.0)
    ap.add_argument("--speed", type=float, default=0.0, help="training steps/s (0 = as fast as it goes)")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("GML_SETTINGS", str(Path(tempfile.mkdtemp(prefix="gml-soak-")) / "settings.ini"))

    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from core.config import preset
    from gui.main_window import MainWindow

    class PaintCounter(QObject):
        def __init__(self):
            super().__init__()
            self.n = 0

        def eventFilter(self, obj, ev):  # noqa: N802 (Qt's name)
            if ev.type() == QEvent.Paint:
                self.n += 1
            return False

    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    cfg = preset("question-fixed")
    cfg.train.steps = 10**9  # never reaches the configured end: training runs throughout
    # no frame-rate cap: a snapshot is asked for as soon as the last one was drawn (the worker's pump, ~4 ms)
    win = MainWindow(cfg, restore=False, max_fps=1000.0)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.toolbar.set_speed_nearest(args.speed)
    views = [win.bits, win.hidden.plot_widget, win.loss, win.acc]
    counter = PaintCounter()
    for v in views:
        v.viewport().installEventFilter(counter)
    st = {"frames": 0, "running": 0, "t0": time.perf_counter(), "code": 0}

    def on_frame(s) -> None:
        st["frames"] += 1
        st["running"] += bool(s.running)
        for v in views:
            v.viewport().repaint()  # synchronous: paintEvent runs now (view.repaint() would not reach it)
        if counter.n >= args.repaints:
            win.close()
            app.quit()

    def on_limit() -> None:
        print(f"time limit {args.limit_s:.0f} s reached after {counter.n} repaints", file=sys.stderr)
        st["code"] = 3
        win.close()
        app.quit()

    win.frame_shown.connect(on_frame)
    QTimer.singleShot(int(args.limit_s * 1000), on_limit)
    win.show()
    win.commands.start()
    app.exec()
    dt = time.perf_counter() - st["t0"]
    step = win.snap.step if win.snap is not None else 0
    print(f"repaints: {counter.n} frames: {st['frames']} steps: {step} running-frames: {st['running']} "
          f"errors: {len(win.message.errors)} seconds: {dt:.1f}", flush=True)
    return st["code"]


if __name__ == "__main__":
    sys.exit(main())
