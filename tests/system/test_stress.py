"""Robustness: a seeded random walk of 1,000 GUI actions (no exception, no deadlock, no Qt warning), and a
training child killed with SIGKILL (a message, and Reset recovers).

GML_STRESS_ACTIONS and GML_STRESS_SEED change the walk (defaults: 1000 actions, seed 20261125).
"""

import os
import random
import signal
import sys
import threading
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QSpinBox  # noqa: E402

from core.config import preset  # noqa: E402
from tests.gui_helpers import make_window, wait_step  # noqa: E402

N_ACTIONS = int(os.environ.get("GML_STRESS_ACTIONS", "1000"))
SEED = int(os.environ.get("GML_STRESS_SEED", "20261125"))
IGNORED_QT = ("This plugin does not support propagateSizeHints()",)

# field -> a sampler of cheap in-range values (the model must stay small enough for 2 shared cores)
SAFE = {
    "kind": lambda r: r.choice(["not", "copy", "xor"]),
    "p": lambda r: round(r.uniform(0.05, 0.95), 3),
    "lag": lambda r: r.randint(0, 6),
    "units": lambda r: r.randint(1, 16),
    "readout": lambda r: r.choice(["raw", "linear"]),
    "mode": lambda r: r.choice(["online", "batch"]),
    "rule": lambda r: r.choice(["tbptt", "rtrl"]),
    "window": lambda r: r.randint(1, 16),
    "optimizer": lambda r: r.choice(["adam", "sgd"]),
    "loss": lambda r: r.choice(["mse", "bce"]),
    "device": lambda r: r.choice(["auto", "cpu", "cuda"]),  # cuda without a GPU: the CPU fallback notice
    "seed": lambda r: r.randint(0, 10_000),
    "steps": lambda r: r.randint(50, 20_000),
    "n_sequences": lambda r: r.randint(50, 1500),
    "seq_len": lambda r: r.randint(4, 48),
    "batch_size": lambda r: r.randint(8, 256),
    "epochs": lambda r: r.randint(1, 8),
    "shuffle": lambda r: r.random() < 0.5,
}


class Walk:
    def __init__(self, qtbot, win, tmp_path, rng):
        self.qtbot, self.win, self.tmp, self.r = qtbot, win, tmp_path, rng
        self.saved: list = []
        self.counts: dict[str, int] = {}
        self.corrupt = tmp_path / "corrupt.gmlab"
        self.corrupt.write_bytes(b"GML" + bytes(rng.randrange(256) for _ in range(3000)))

    # -- actions --------------------------------------------------------------------------------------------
    def start(self):
        self.win.commands.start()

    def pause(self):
        self.win.commands.pause()

    def step(self):
        self.win.commands.step()

    def reset(self):
        self.win.commands.reset()

    def config(self):
        name = self.r.choice(list(SAFE))
        value = SAFE[name](self.r)
        if name in self.win.panel.widgets:
            self.win.panel.set_value(name, value)

    def out_of_range(self):
        """Push a widget past its range (typed, keyed or set): it must stay in range."""
        p = self.win.panel
        name = self.r.choice(sorted(p.widgets))
        w = p.widgets[name]
        if isinstance(w, QCheckBox):
            w.setChecked(not w.isChecked())
            return
        if isinstance(w, QComboBox):  # past either end with the keyboard: stays on a valid item
            for key in (Qt.Key_End, Qt.Key_Down, Qt.Key_Down, Qt.Key_Home, Qt.Key_Up)[: self.r.randint(1, 5)]:
                self.qtbot.keyClick(w, key)
            assert 0 <= w.currentIndex() < w.count(), (name, w.currentIndex())
            return
        old = w.value()
        if self.r.random() < 0.5:  # typed: the validator refuses what is out of range
            w.selectAll()
            self.qtbot.keyClicks(w, self.r.choice(["99999999999", "-5", "1e9", "abc", "0"]))
            self.qtbot.keyClick(w, Qt.Key_Return)
        else:  # set programmatically: clamped
            big = 2**31 - 1 if isinstance(w, QSpinBox) else 1e12
            w.setValue(big if self.r.random() < 0.5 else -big)
        assert w.minimum() <= w.value() <= w.maximum(), (name, w.value())
        w.setValue(old)

    def preset(self):
        box = self.win.panel.preset_box
        box.setCurrentIndex(self.r.randrange(box.count()))

    def screenshot(self):
        path = self.tmp / "shots" / f"s{self.r.randrange(4)}.png"
        assert self.win.exports.save_screenshot(path) is not None

    def save(self):
        path = self.tmp / f"walk{self.r.randrange(3)}.gmlab"
        if self.win.session_ui.save_session_to(path) and path not in self.saved:
            self.saved.append(path)

    def open(self):
        existing = [p for p in self.saved if p.exists()]
        if existing:
            self.win.session_ui.open_session_from(self.r.choice(existing))

    def open_corrupt(self):
        self.win.session_ui.open_session_from(self.corrupt)

    def export(self):
        self.win.session_ui.export_csv_to(self.tmp / "walk.csv")

    def speed(self):
        s = self.win.toolbar.speed
        s.setValue(self.r.randint(s.minimum() - 3, s.maximum() + 3))  # clamps

    def window(self):
        self.win.toolbar.window_spin.setValue(self.r.choice([5, 20, 60, 200, 777, 2000, 99_999]))

    def lr(self):
        self.win.panel.set_value("lr", self.r.choice([1e-4, 1e-3, 3e-3, 0.02, 500.0]))  # 500 clamps to 100

    def smoothing(self):
        self.win.toolbar.smoothing.setValue(self.r.randint(0, 99))

    WEIGHTS = {"start": 12, "pause": 8, "step": 8, "reset": 6, "config": 12, "out_of_range": 5, "preset": 4,
               "screenshot": 2, "save": 4, "open": 3, "open_corrupt": 2, "export": 2, "speed": 6, "window": 6,
               "lr": 3, "smoothing": 3}

    def run(self, n):
        names = list(self.WEIGHTS)
        weights = [self.WEIGHTS[k] for k in names]
        app = QApplication.instance()
        for i in range(n):
            name = self.r.choices(names, weights)[0]
            self.counts[name] = self.counts.get(name, 0) + 1
            getattr(self, name)()
            app.processEvents()
            if i % 25 == 24:  # now and then: the pipeline still delivers frames
                f0 = self.win.presenter.frames
                self.win.handle.request_snapshot()  # a paused window asks for none by itself
                self.qtbot.waitUntil(lambda f0=f0: self.win.presenter.frames > f0, timeout=30000)


@pytest.mark.slow
def test_random_walk_of_gui_actions(qtbot, tmp_path, monkeypatch, qtlog):
    caught = []
    old_hook, old_thook = sys.excepthook, threading.excepthook
    sys.excepthook = lambda *exc: caught.append(exc)
    threading.excepthook = lambda args: caught.append((args.exc_type, args.exc_value, args.exc_traceback))
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    t0 = time.perf_counter()
    try:
        walk = Walk(qtbot, win, tmp_path, random.Random(SEED))
        walk.run(N_ACTIONS)
        elapsed = time.perf_counter() - t0
        # still in working order: a known config, exact steps
        win.commands.pause()
        win.panel.set_config(preset("question-fixed"))
        win.toolbar.speed.setValue(win.toolbar.speed.maximum())
        run = win.snap.run_id
        win.commands.reset()
        s = wait_step(qtbot, win, lambda s: s.run_id != run and s.step == 0, timeout=30000)
        win.commands.step(25)
        s = wait_step(qtbot, win, lambda s: s.step == 25 and not s.running, timeout=30000)
        assert s.config == preset("question-fixed").to_dict()
        print(f"\nstress: {N_ACTIONS} actions in {elapsed:.1f} s, seed {SEED}, {win.presenter.frames} frames, "
              f"{len(win.message.errors)} error messages, {len(win.message.notices)} notices; "
              f"actions {walk.counts}")
        errs = {}
        for e in win.message.errors:
            key = e.split(":")[0][:40] if "cannot" not in e.lower() else e.split(":")[-1].strip()[:40]
            errs[key] = errs.get(key, 0) + 1
        print("stress: error messages by kind:", errs)
    finally:
        sys.excepthook, threading.excepthook = old_hook, old_thook
        win.close()
    assert not caught, [f"{c[0].__name__}: {c[1]}" for c in caught]
    assert not win.handle.thread.isRunning()
    bad = [r.message for r in qtlog.records if r.type.name in ("QtWarningMsg", "QtCriticalMsg", "QtFatalMsg")
           and not any(s in r.message for s in IGNORED_QT)]
    assert not bad, bad
    errors = list(win.message.errors)
    assert [e for e in errors if "Traceback" in e or "Error:" in e.split("\n")[0][:30]] == []


@pytest.mark.slow
def test_killed_child_shows_message_and_reset_recovers(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    win.commands.start()
    wait_step(qtbot, win, lambda s: s.step > 200)
    pid, old_run = win.handle.worker.child_pid, win.snap.run_id
    t_kill = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: any("stopped unexpectedly" in e for e in win.message.errors), timeout=10000)
    t_msg = time.perf_counter() - t_kill
    assert "-9" in win.message.errors[-1] and "Reset" in win.message.errors[-1]
    assert win.message.level == "error" and not win.state.running
    frames = win.presenter.frames
    assert not win.handle.worker.link.alive  # no child: nothing can send a snapshot
    win.commands.start()  # refused with a message, not a crash
    qtbot.waitUntil(lambda: "not running" in win.message.errors[-1], timeout=5000)
    assert win.presenter.frames == frames  # a whole command's round trip later: no frames, no crash
    t_reset = time.perf_counter()
    win.commands.reset()
    qtbot.waitUntil(lambda: win.handle.worker.child_pid is not None and win.handle.worker.child_pid != pid,
                    timeout=10000)
    win.commands.start()
    s = wait_step(qtbot, win, lambda s: s.run_id != old_run and s.step > 100 and s.running, timeout=30000)
    t_back = time.perf_counter() - t_reset
    win.commands.pause()
    s = wait_step(qtbot, win, lambda s: not s.running)
    print(f"\nkill -9: message after {t_msg * 1000:.0f} ms; Reset to 100+ steps trained in {t_back:.2f} s")
    # the curves show the new run only (the old run's points are dropped)
    assert len(win.loss.mirror.values()) == s.step
    win.close()
