"""Launch time and CPU use at rest: how soon the window answers, and what it costs while nothing happens.

    python bench/launch.py [--seconds 10] [--steps 3000] [--timeout 90] [--size 1440x900]

(a) Launch: runs `python main.py --no-restore --size WxH` offscreen as a user would (a fresh process), with
    GML_TIMING=1 in its environment, and reports the time from the command to the first frame and to "ready"
    (the trainer child can start), read from two lines the window prints on stdout when GML_TIMING=1:

        GML_TIMING first-frame <time.time()>   once, when the main window has painted for the first time
        GML_TIMING ready <time.time()>         once, when the training child reports it is ready to start

    (each a wall-clock time.time() float, flushed at once). Without them it says so and waits --settle s.
(b) At rest after launch: CPU use of that process and its children (psutil), over --seconds once it is ready,
    in % of one core. Goal <= 2 %.
(c) Paused mid-run: a window in this process (gui.main_window.MainWindow, as bench/gui.py drives it) trains
    question-fixed for --steps steps, pauses, settles 1 s, then its CPU use (this process and the training
    child) over --seconds. Goal <= 2 %.

Timing on a loaded machine is slower than on an idle one; run it alone. Exit 0 when it measured (not when the
goals are met: the table says that).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_CPU_PCT = 2.0
TIMING_PREFIX = "GML_TIMING"


def parse_timing(line: str) -> tuple[str, float] | None:
    """('first-frame' | 'ready', time.time()) from a 'GML_TIMING <event> <seconds>' line, else None."""
    parts = line.split()
    if len(parts) == 3 and parts[0] == TIMING_PREFIX:
        try:
            return parts[1], float(parts[2])
        except ValueError:
            return None
    return None


def tree_cpu_seconds(proc) -> float:
    """User + system CPU seconds of a psutil process and its living children (recursively)."""
    import psutil

    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_percent(proc, seconds: float, pump=time.sleep) -> float:
    """% of one core that proc and its children used over `seconds` (pump waits: sleep, or a Qt event loop)."""
    c0, t0 = tree_cpu_seconds(proc), time.perf_counter()
    pump(seconds)
    return 100.0 * (tree_cpu_seconds(proc) - c0) / (time.perf_counter() - t0)


def launch(command: list[str], seconds: float, timeout: float, settle: float) -> dict:
    """(a) + (b): start `command`, read its GML_TIMING lines, then measure its CPU at rest."""
    import psutil

    env = dict(os.environ, GML_TIMING="1", PYTHONUNBUFFERED="1")
    t0 = time.time()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    marks: dict[str, float] = {}
    tail: list[str] = []
    done = threading.Event()

    def read():
        for line in proc.stdout:
            got = parse_timing(line)
            if got is not None:
                marks.setdefault(got[0], got[1] - t0)
                if {"first-frame", "ready"} <= marks.keys():
                    done.set()
            else:
                tail.append(line.rstrip())
                del tail[:-20]
        done.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        done.wait(timeout)
        if proc.poll() is not None:
            raise RuntimeError(f"the window exited with {proc.returncode}: " + " | ".join(tail[-5:]))
        if "ready" not in marks:
            time.sleep(settle)  # no hook line: give it time to finish starting
        time.sleep(1.0)  # let the first snapshots and the initial layout pass
        cpu = cpu_percent(psutil.Process(proc.pid), seconds)
        return {"first_frame_s": marks.get("first-frame"), "ready_s": marks.get("ready"), "cpu_rest_pct": cpu}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def paused_cpu(steps: int, seconds: float, size: tuple[int, int]) -> dict:
    """(c): train a window in this process for `steps` steps, pause, and measure its CPU at rest."""
    import psutil
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from core.config import preset
    from gui.main_window import MainWindow

    def pump(s: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    QApplication.instance() or QApplication([sys.argv[0]])
    cfg = preset("question-fixed").replace(steps=10**9)
    win = MainWindow(cfg, restore=False, max_fps=60.0)
    win.resize(*size)
    win.show()
    try:
        deadline = time.perf_counter() + 60
        win.commands.start()
        while (win.snap is None or win.snap.step < steps) and time.perf_counter() < deadline:
            pump(0.05)
        if win.snap is None:
            raise RuntimeError("the window got no snapshot within 60 s")
        win.commands.pause()
        pump(1.0)
        step = win.snap.step
        cpu = cpu_percent(psutil.Process(), seconds, pump)
        return {"paused_at": step, "cpu_paused_pct": cpu, "steps_while_paused": win.snap.step - step}
    finally:
        win.close()
        win.deleteLater()


def fmt(v, unit: str) -> str:
    return "n/a (line not printed)" if v is None else f"{v:.2f} {unit}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="CPU measuring time at rest (10)")
    p.add_argument("--steps", type=int, default=3000, help="(c): steps trained before pausing (3000)")
    p.add_argument("--timeout", type=float, default=90.0, help="most seconds to wait for 'ready' (90)")
    p.add_argument("--settle", type=float, default=15.0, help="seconds to wait when 'ready' is not printed (15)")
    p.add_argument("--size", default="1440x900", help="window size (1440x900)")
    p.add_argument("--skip-paused", action="store_true", help="measure only (a) and (b)")
    p.add_argument("--command", nargs=argparse.REMAINDER,
                   help="launch this instead of python main.py --no-restore --size WxH (for testing the bench)")
    args = p.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    command = args.command or [sys.executable, "main.py", "--no-restore", "--size", args.size]
    a = launch(command, args.seconds, args.timeout, args.settle)
    rows = [("command -> first frame", fmt(a["first_frame_s"], "s"), ""),
            ("command -> ready", fmt(a["ready_s"], "s"), ""),
            (f"CPU at rest after launch ({args.seconds:g} s)", f"{a['cpu_rest_pct']:.1f} % of a core",
             "ok" if a["cpu_rest_pct"] <= GOAL_CPU_PCT else f"goal <= {GOAL_CPU_PCT:g} %")]
    if not args.skip_paused:
        c = paused_cpu(args.steps, args.seconds, size)
        rows.append((f"CPU paused at step {c['paused_at']:,} ({args.seconds:g} s)",
                     f"{c['cpu_paused_pct']:.1f} % of a core",
                     "ok" if c["cpu_paused_pct"] <= GOAL_CPU_PCT else f"goal <= {GOAL_CPU_PCT:g} %"))
        if c["steps_while_paused"]:
            rows.append(("steps trained while paused", str(c["steps_while_paused"]), "should be 0"))
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<24} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
