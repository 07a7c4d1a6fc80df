"""The runs behind docs/reliability.md's table (issue 15), run by hand, not by pytest (they kill processes and
fill a disk). From the repository root:

    python tests/reliability_runs.py kill9 30 /tmp/k9        # 30 kill -9s during session saves
    mount -t tmpfs -o size=64k tmpfs /tmp/full               # root: a tiny disk
    QT_QPA_PLATFORM=offscreen python tests/reliability_runs.py fulldisk /tmp/full

kill9: a child process saves one session (online, 64 units, ~0.3 MB) to the same path in a loop; it is killed
with SIGKILL at a random moment (seeded); then the file must open, and the temp files left are counted; a
final save from this process must sweep them (core.atomic_io.remove_stale_temp_files, temp files older than its
STALE_AFTER_S, so the run waits that long first). fulldisk: for every output type, an existing good file, the rest of
the disk filled, then the output written through its real code path; prints one line per output: the exit
code or message, whether the old file is intact and whether temp files were left.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _engine(units=64, steps=50):
    from core.config import Config
    from core.live.engine import LiveEngine

    e = LiveEngine(Config().replace(units=units, steps=10**6))
    e.step(steps)
    return e


def saver(path: str) -> None:
    from core.live import files as live_session

    e = _engine()
    print("ready", flush=True)
    while True:
        live_session.save(e, path)


def kill9(n: int, folder: str) -> None:
    from core import atomic_io
    from core.live import files as live_session
    from core.sessions.gmlab import open_session

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "s.gmlab")
    rng = random.Random(15)
    bad, left_max, left_total, t0 = 0, 0, 0, time.time()
    for _ in range(n):
        p = subprocess.Popen([sys.executable, __file__, "saver", path], stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        try:
            open_session(path)
        except Exception as e:  # noqa: BLE001
            bad += 1
            print("did not open:", e)
        temps = [f for f in os.listdir(folder) if atomic_io.TEMP_MARK in f]
        left_total = len(temps)
        left_max = max(left_max, len(temps))
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if atomic_io.TEMP_MARK in f)
    print(f"kill9: {n} kills in {time.time() - t0:.0f} s; file failed to open {bad} times; "
          f"temp files left: {left_total} ({size / 2**20:.1f} MB), most at once {left_max}")
    time.sleep(atomic_io.STALE_AFTER_S + 1)  # younger temp files may be a live writer's: left alone
    r = live_session.save(_engine(16, 5), path)
    temps = [f for f in os.listdir(folder) if atomic_io.TEMP_MARK in f]
    print(f"kill9: the next save ok={r.ok}; temp files after it: {len(temps)}")


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def _case(folder: Path, name: str, good: bytes, run) -> None:
    for f in folder.iterdir():
        f.unlink()
    target = folder / name
    target.write_bytes(good)
    _fill(folder)
    try:
        said = run(str(target))
    except Exception as e:  # noqa: BLE001
        said = f"EXCEPTION {type(e).__name__}: {str(e)[:120]}"
    intact = target.exists() and target.read_bytes() == good
    temps = [f.name for f in folder.iterdir() if f.name not in (name, "filler")]
    print(f"fulldisk | {name} | {str(said)[:160]!s} | old file intact: {intact} | other files left: {temps}")


def _cli(*args) -> callable:
    def run(path):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS="/tmp/f2-fulldisk.ini")
        r = subprocess.run([sys.executable, str(ROOT / "main.py"), *[a.replace("@", path) for a in args]],
                           capture_output=True, text=True, timeout=300, env=env)
        last = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or [""])[-1]
        return f"exit {r.returncode}: {last}"
    return run


def fulldisk(folder: str) -> None:
    import numpy as np

    from core.live import files as live_session
    from core.recording.recorder import Recorder

    d = Path(folder)
    e = _engine(16, 200)
    good = b"GOOD OLD FILE\n" * 40
    _case(d, "s.gmlab", good, lambda p: live_session.save(e, p))
    _case(d, "h.csv", good, lambda p: live_session.export_csv(e, p))

    def record(p):
        rec = Recorder(p, (320, 240), 10)
        for i in range(20):
            rec.add_frame(np.full((240, 320, 3), i * 10, np.uint8))
        return f"finished {rec.finish()}"
    for suffix in (".gif", ".webp", ".mp4"):
        _case(d, "r" + suffix, good, record)
    _case(d, "r.json", good, _cli("train", "--preset", "question-fixed", "--steps", "300", "--report", "@"))
    _case(d, "shot.png", good, _cli("--no-restore", "--autostart", "--quit-after-steps", "30", "--screenshot", "@"))
    for ext in ("json", "png", "csv", "svg"):
        flag = "--report" if ext == "json" else f"--{ext}"
        _case(d, "sweep." + ext, good, _cli("sweep", "--preset", "question-fixed", "--x", "lag=1,2", "--seeds", "2",
                                            "--steps", "200", "--quiet", flag, "@"))
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    os.environ["GML_SETTINGS"] = "/tmp/f2-fulldisk.ini"
    app = QApplication.instance() or QApplication([])
    win = MainWindow(None, restore=False)
    win.show()
    t0 = time.time()
    while win.snap is None and time.time() - t0 < 60:
        app.processEvents()
        time.sleep(0.01)
    for ext in ("png", "svg"):
        def view(p):
            n = len(win.message.errors)
            out = win.exports.export_view("loss", p)
            app.processEvents()
            return f"returned {out}; message: {(list(win.message.errors)[n:] or ['(none)'])[-1]}"
        _case(d, "view." + ext, good, view)
    win.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "saver":
        saver(sys.argv[2])
    elif cmd == "kill9":
        kill9(int(sys.argv[2]), sys.argv[3])
    elif cmd == "fulldisk":
        fulldisk(sys.argv[2])
