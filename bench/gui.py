"""The window's cost, measured: one run prints a table of three figures beside their goals, and exits 0.

    python bench/gui.py [--rounds 3] [--seconds 5] [--frames 100] [--steps 1000000]

(a) Online steps/s with the window open and plotting (offscreen, 60 fps cap, default size and view sizes,
    question-fixed, fast engine) vs headless (the same LiveEngine in a child process through the same pipe
    protocol, nobody drawing). Rounds alternate headless / window, each from a fresh engine, a 1 s warm-up,
    then --seconds measured; the ratio is of the medians. Goal >= 0.9.
(b) Frame cost with a 1M-point whole-run history: the loss and accuracy mirrors are filled with 1,000,000
    points, then each of --frames frames is a real snapshot (with 400 new points, as at ~25k steps/s and
    60 fps) drawn through FramePresenter.show plus a synchronous repaint of the four views. Goal: median
    and p95 <= 16 ms.
(d) Recording: online steps/s with the window recording itself (the whole window, --record-suffix, one frame
    every --record-spf steps, as a 10-s clip of a 20k-step run) vs the same window not recording. Rounds
    alternate, each from a fresh window; the ratio is of the medians. Goal >= 0.8. Each round also prints the
    draw rate and the GUI process's CPU, the clip's frames/s and grabs/s, and the share of frames held over
    (given the picture before) while the encoder thread was behind.
(c) Resident memory growth over --steps online steps with the window open: RSS (psutil) of the GUI process
    and of the training child, after a 50,000-step warm-up and again --steps later. Goal <= 50 MB each.
(e) The window at 1 step/s: the GUI process's CPU over --slow-seconds (10), after a 2 s warm-up, with the frames
    drawn and the steps made. Goal <= 5 % of a core.
(f) Contention: a competing busy process (`python -c "while True: pass"`, started and killed here) runs while
    (a) is measured again: headless vs the window training at full speed, alternating rounds. Goal >= 0.75. Each
    round says whether the window yielded (gui.children.priority).

The machine's other load slows every figure; (a) alternates so that both sides see the same load.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.children.trainer import child_main  # noqa: E402
from core.config import preset  # noqa: E402
from core.messages import Quit, Ready, SnapshotRequest, Start  # noqa: E402
from core.snapshot import SeriesChunk, Snapshot  # noqa: E402
from gui.children.priority import at_full_priority  # noqa: E402 (imports no Qt)

GOAL_RATIO, GOAL_FRAME_MS, GOAL_RSS_MB, GOAL_RECORD_RATIO = 0.9, 16.0, 50.0, 0.8
GOAL_SLOW_CPU, GOAL_CONTENDED_RATIO = 0.05, 0.75


def bench_config():
    cfg = preset("question-fixed")
    cfg.train.steps = 10**9  # never reaches the configured end while measured
    return cfg


# -- (a) headless: the child process alone, through the pipe, nobody drawing ---------------------------------
def _ask_step(conn) -> tuple[float, int]:
    conn.send(SnapshotRequest(1))
    while True:
        msg = conn.recv()
        if isinstance(msg, Snapshot):
            return time.perf_counter(), msg.step


def headless_rate(cfg_dict: dict, warmup: float, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=child_main, args=(child, cfg_dict), daemon=True)
    at_full_priority(proc.start)  # not at a priority this thread gave up while it drew a window
    child.close()
    try:
        while not isinstance(parent.recv(), Ready):
            pass
        parent.send(Start())
        time.sleep(warmup)
        t0, s0 = _ask_step(parent)
        time.sleep(seconds)
        t1, s1 = _ask_step(parent)
        return (s1 - s0) / (t1 - t0)
    finally:
        parent.send(Quit())
        proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join()


# -- the window side ---------------------------------------------------------------------------------------
def wait(ms: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(ms), loop.quit)
    loop.exec()


def open_window(cfg):
    from gui.main_window import MainWindow

    win = MainWindow(cfg, restore=False, max_fps=60.0)  # default size (1440x900) and view sizes
    marks = []
    win.frame_shown.connect(lambda s: marks.append((time.perf_counter(), s.step, s.running)))
    win.show()
    deadline = time.perf_counter() + 30
    while win.snap is None and time.perf_counter() < deadline:
        wait(20)
    if win.snap is None:
        raise RuntimeError("the window got no snapshot within 30 s")
    return win, marks


def window_rate(cfg, warmup: float, seconds: float, record=None, info: dict | None = None
                ) -> tuple[float, float, float]:
    """(steps/s, frames/s, the GUI process's CPU use in cores) with the window drawing (and recording itself
    when `record` is a gui.recording.flags.RecordOptions; then `info` gets the recorder's figures for the measured
    time: frames, pictures grabbed, frames held over while the encoder was behind, seconds the window waited)."""
    import psutil

    me = psutil.Process()
    win, marks = open_window(cfg)
    try:
        if record is not None and not win.recording.start(record):
            raise RuntimeError(f"could not record: {win.message.errors[-1]}")
        win.commands.start()
        wait(warmup * 1000)
        i0 = len(marks) - 1
        c0 = me.cpu_times()
        r0 = _recorder_figures(win)
        wait(seconds * 1000)
        c1 = me.cpu_times()
        r1 = _recorder_figures(win)
        if info is not None and r0 and r1:
            info.update({k: r1[k] - r0[k] for k in r0})
        if info is not None:
            info["yielded"] = win.presenter.trainer_first.yielded
        (t0, s0, _), (t1, s1, _) = marks[i0], marks[-1]
        cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0)
        return (s1 - s0) / (t1 - t0), (len(marks) - 1 - i0) / (t1 - t0), cpu
    finally:
        if record is not None:
            win.recording.abort()
        win.close()
        win.deleteLater()


def _recorder_figures(win) -> dict:
    rec = win.recording.rec
    if rec is None:
        return {}
    r = rec.recorder
    return {"frames": r.frames, "pictures": r.pictures, "held_over": rec.held_over, "waited_s": r.waited_s}


def frame_cost(cfg, n_points: int, frames: int, per_frame: int = 400) -> dict:
    """(b): ms per frame (_on_snapshot + a real repaint of the views) with n_points in each whole-run curve."""
    win, _ = open_window(cfg)
    try:
        win.commands.start()
        while win.snap.step < 2000:  # a real snapshot with a full view window
            wait(20)
        win.commands.pause()
        wait(100)
        base = win.snap
        win.handle.stop()  # no more snapshots from the child: the frames below are the only ones drawn
        rng = np.random.default_rng(0)
        loss = (0.25 * np.exp(-np.arange(n_points) / 2e5) + 0.02 * rng.random(n_points)).astype(np.float32)
        acc = (rng.random(n_points) < 0.9).astype(np.float32)
        win.loss.mirror.apply(SeriesChunk(loss, 1, True))
        win.acc.mirror.apply(SeriesChunk(acc, 1, True))
        views = [win.bits, win.hidden.plot_widget, win.loss, win.acc]
        snap_ms, paint_ms, total_ms = [], [], []
        view_ms = {k: [] for k in ("bits", "hidden", "loss", "accuracy")}
        step = n_points
        for i in range(frames + 5):
            new_l = loss[-per_frame:].copy()
            new_a = acc[-per_frame:].copy()
            step += per_frame
            s = dataclasses.replace(base, seq=base.seq + 1 + i, step=step, running=True,
                                    loss_chunk=SeriesChunk(new_l, 1, False), acc_chunk=SeriesChunk(new_a, 1, False))
            t0 = time.perf_counter()
            win.presenter.show(s)
            t1 = time.perf_counter()
            tv = {}
            for key, v in zip(view_ms, views):
                ta = time.perf_counter()
                v.viewport().repaint()  # synchronous (a QGraphicsView's own repaint() paints no scene)
                tv[key] = (time.perf_counter() - ta) * 1000
            t2 = time.perf_counter()
            if i >= 5:  # the first frames pay for first-time layout
                for key in view_ms:
                    view_ms[key].append(tv[key])
                snap_ms.append((t1 - t0) * 1000)
                paint_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
        points = win.loss.mirror.n
        return {"snap": snap_ms, "paint": paint_ms, "total": total_ms, "points": points, "views": view_ms}
    finally:
        win.close()
        win.deleteLater()


def rss_growth(cfg, steps: int, warmup_steps: int = 50_000) -> dict:
    import psutil

    win, marks = open_window(cfg)
    try:
        child = psutil.Process(win.handle.worker.child_pid)
        me = psutil.Process()
        win.commands.start()
        while win.snap.step < warmup_steps:
            wait(50)
        s0, g0, c0, t0 = win.snap.step, me.memory_info().rss, child.memory_info().rss, time.perf_counter()
        while win.snap.step < s0 + steps:
            wait(50)
        s1, g1, c1, t1 = win.snap.step, me.memory_info().rss, child.memory_info().rss, time.perf_counter()
        return {"steps": s1 - s0, "gui0": g0, "gui1": g1, "child0": c0, "child1": c1, "seconds": t1 - t0,
                "points": win.loss.mirror.n}
    finally:
        win.close()
        win.deleteLater()


def pct(v, q):
    return float(np.percentile(np.asarray(v), q))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--record-suffix", default=".gif", help="(d): the clip's format: .gif, .webp or .mp4")
    ap.add_argument("--record-spf", type=int, default=133, help="(d): steps per recorded frame (133)")
    ap.add_argument("--slow-seconds", type=float, default=10.0, help="(e): seconds measured at 1 step/s")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c,d,e,f")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("GML_SETTINGS", str(Path(tempfile.mkdtemp(prefix="gml-bench-")) / "settings.ini"))

    import pyqtgraph as pg
    import torch
    from PySide6.QtWidgets import QApplication

    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (kept alive)
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    cfg = bench_config()
    t_start = time.perf_counter()
    print(f"GUI bench: question-fixed, fast engine, 16 units; {os.cpu_count()} CPUs, "
          f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}", flush=True)
    rows = []
    if "a" not in skip:
        head, gui, fps, cpu = [], [], [], []
        for r in range(args.rounds):
            head.append(headless_rate(cfg.to_dict(), args.warmup, args.seconds))
            g, f, c = window_rate(cfg, args.warmup, args.seconds)
            gui.append(g)
            fps.append(f)
            cpu.append(c)
            print(f"  (a) round {r + 1}: headless {head[-1]:,.0f} steps/s, window {gui[-1]:,.0f} steps/s "
                  f"at {fps[-1]:.0f} fps, GUI process {c:.2f} cores; load average {os.getloadavg()[0]:.1f}",
                  flush=True)
        h, g = statistics.median(head), statistics.median(gui)
        ratio = g / h
        rows += [("(a) steps/s headless (child, no drawing)", f"{h:,.0f}", ""),
                 ("(a) steps/s with the window plotting", f"{g:,.0f} at {statistics.median(fps):.0f} fps", ""),
                 ("(a)   GUI process CPU meanwhile (cores)", f"{statistics.median(cpu):.2f}", ""),
                 ("(a) ratio window / headless", f"{ratio:.2f}", f">= {GOAL_RATIO}  {_ok(ratio >= GOAL_RATIO)}")]
    if "b" not in skip:
        fc = frame_cost(cfg, args.points, args.frames)
        med, p95 = statistics.median(fc["total"]), pct(fc["total"], 95)
        rows += [(f"(b) frame ms, {fc['points']:,}-point curves: median", f"{med:.1f}",
                  f"<= {GOAL_FRAME_MS:g}  {_ok(med <= GOAL_FRAME_MS)}"),
                 ("(b) frame ms: p95", f"{p95:.1f}", f"<= {GOAL_FRAME_MS:g}  {_ok(p95 <= GOAL_FRAME_MS)}"),
                 ("(b)   of which _on_snapshot (median / p95)",
                  f"{statistics.median(fc['snap']):.1f} / {pct(fc['snap'], 95):.1f}", ""),
                 ("(b)   of which repaint of 4 views (median / p95)",
                  f"{statistics.median(fc['paint']):.1f} / {pct(fc['paint'], 95):.1f}", ""),
                 ("(b)   paint medians: " + ", ".join(fc["views"]),
                  " / ".join(f"{statistics.median(v):.1f}" for v in fc["views"].values()), "")]
    if "d" not in skip:
        rows += record_rows(cfg, args)
    if "e" not in skip:
        rows += slow_rows(cfg, args)
    if "f" not in skip:
        rows += contention_rows(cfg, args)
    if "c" not in skip:
        m = rss_growth(cfg, args.steps)
        mb = 1 / 2**20
        dg, dc = (m["gui1"] - m["gui0"]) * mb, (m["child1"] - m["child0"]) * mb
        rows += [(f"(c) RSS growth over {m['steps']:,} steps: GUI",
                  f"{dg:+.1f} MB ({m['gui0'] * mb:.0f} -> {m['gui1'] * mb:.0f})",
                  f"<= {GOAL_RSS_MB:g}  {_ok(dg <= GOAL_RSS_MB)}"),
                 ("(c) RSS growth: training child", f"{dc:+.1f} MB ({m['child0'] * mb:.0f} -> {m['child1'] * mb:.0f})",
                  f"<= {GOAL_RSS_MB:g}  {_ok(dc <= GOAL_RSS_MB)}"),
                 ("(c)   steps/s meanwhile; curve points at the end",
                  f"{m['steps'] / m['seconds']:,.0f}; {m['points']:,}", "")]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print()
    print(f"{'figure':<{w0}}  {'measured':>{w1}}  goal")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 12}")
    for name, val, goal in rows:
        print(f"{name:<{w0}}  {val:>{w1}}  {goal}".rstrip())
    print(f"\n({time.perf_counter() - t_start:.0f} s)")
    return 0


def record_rows(cfg, args) -> list[tuple[str, str, str]]:
    """(d): steps/s recording vs not, alternating rounds; the table's rows."""
    from gui.recording.flags import RecordOptions

    folder = Path(tempfile.mkdtemp(prefix="gml-bench-rec-"))
    opts = RecordOptions(path=str(folder / f"bench{args.record_suffix}"), view="window", fps=15.0,
                         steps_per_frame=args.record_spf, lockstep=False)  # live: what recording costs training
    plain, rec = [], []
    for r in range(args.rounds):
        p_rate, p_fps, p_cpu = window_rate(cfg, args.warmup, args.seconds)
        info = {}
        r_rate, r_fps, r_cpu = window_rate(cfg, args.warmup, args.seconds, record=opts, info=info)
        plain.append(p_rate)
        rec.append(r_rate)
        print(f"  (d) round {r + 1}: window {p_rate:,.0f} steps/s at {p_fps:.0f} fps, GUI {p_cpu:.2f} cores; "
              f"recording {r_rate:,.0f} steps/s at {r_fps:.0f} fps, GUI {r_cpu:.2f} cores, "
              f"{info.get('frames', 0) / args.seconds:.0f} frames/s from {info.get('pictures', 0) / args.seconds:.0f}"
              f" grabs/s ({info.get('held_over', 0) / max(1, info.get('frames', 0)):.0%} of the frames held over while"
              f" the encoder was behind; the window waited {info.get('waited_s', 0):.2f} s for it); "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
    p, q = statistics.median(plain), statistics.median(rec)
    ratio = q / p
    return [("(d) steps/s, window not recording", f"{p:,.0f}", ""),
            (f"(d) steps/s, window recording itself ({args.record_suffix}, 1 frame/{args.record_spf} steps)",
             f"{q:,.0f}", ""),
            ("(d) ratio recording / not", f"{ratio:.2f}", f">= {GOAL_RECORD_RATIO}  {_ok(ratio >= GOAL_RECORD_RATIO)}")]


def slow_rows(cfg, args, speed: float = 1.0) -> list[tuple[str, str, str]]:
    """(e): the GUI process's CPU with the window training at `speed` steps/s."""
    import psutil

    me = psutil.Process()
    win, _ = open_window(cfg)
    try:
        win.commands.set_speed(speed)
        win.commands.start()
        wait(2000)
        f0, s0, c0, t0 = win.presenter.frames, win.snap.step, me.cpu_times(), time.perf_counter()
        wait(args.slow_seconds * 1000)
        f1, s1, c1, t1 = win.presenter.frames, win.snap.step, me.cpu_times(), time.perf_counter()
    finally:
        win.close()
        win.deleteLater()
    cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0)
    print(f"  (e) {speed:g} step/s: GUI process {cpu:.1%} of a core over {t1 - t0:.1f} s, {f1 - f0} frames for "
          f"{s1 - s0} steps; load average {os.getloadavg()[0]:.1f}", flush=True)
    return [(f"(e) {speed:g} step/s: GUI CPU % over {args.slow_seconds:g} s ({f1 - f0} frames, {s1 - s0} steps)",
             f"{cpu:.1%}", f"<= {GOAL_SLOW_CPU:.0%}  {_ok(cpu <= GOAL_SLOW_CPU)}")]


def contention_rows(cfg, args) -> list[tuple[str, str, str]]:
    """(f): headless vs the window at full speed, both beside one competing busy process; alternating rounds."""
    import subprocess

    hog = at_full_priority(lambda: subprocess.Popen([sys.executable, "-c", "while True: pass"]))
    head, gui = [], []
    try:
        for r in range(args.rounds):
            head.append(headless_rate(cfg.to_dict(), args.warmup, args.seconds))
            info: dict = {}
            g, f, c = window_rate(cfg, args.warmup, args.seconds, info=info)
            gui.append(g)
            print(f"  (f) round {r + 1}, one busy process beside: headless {head[-1]:,.0f} steps/s, window "
                  f"{g:,.0f} steps/s at {f:.0f} fps, GUI process {c:.2f} cores, yielded {info['yielded']} (drawing "
                  f"thread's nice {os.getpriority(os.PRIO_PROCESS, threading.get_native_id())}); "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        hog.kill()
        hog.wait()
    h, g = statistics.median(head), statistics.median(gui)
    ratio = g / h
    return [("(f) steps/s headless, one busy process beside", f"{h:,.0f}", ""),
            ("(f) steps/s with the window plotting, the same busy process beside", f"{g:,.0f}", ""),
            ("(f) ratio window / headless under contention", f"{ratio:.2f}",
             f">= {GOAL_CONTENDED_RATIO}  {_ok(ratio >= GOAL_CONTENDED_RATIO)}")]


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
