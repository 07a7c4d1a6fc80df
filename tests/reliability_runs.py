"""The runs behind docs/reliability.md's table (issues 15 and 21), run by hand, not by pytest (they kill processes and
fill a disk). From the repository root:

    python tests/reliability_runs.py kill9 30 /tmp/k9        # 30 kill -9s during session saves
    mount -t tmpfs -o size=64k tmpfs /tmp/full               # root: a tiny disk
    QT_QPA_PLATFORM=offscreen python tests/reliability_runs.py fulldisk /tmp/full
    python tests/reliability_runs.py badvalues /tmp/badvalues.json [WORKERS [train,sweep,claims,window]]

kill9: a child process saves one session (online, 64 units, ~0.3 MB) to the same path in a loop; it is killed
with SIGKILL at a random moment (seeded); then the file must open, and the temp files left are counted; a
final save from this process must sweep them (core.atomic_io.remove_stale_temp_files, temp files older than its
STALE_AFTER_S, so the run waits that long first). fulldisk: for every output type, an existing good file, the rest of
the disk filled, then the output written through its real code path; prints one line per output: the exit
code or message, whether the old file is intact and whether temp files were left.

badvalues (issue 21): every flag of `train`, `sweep`, `claims` and the window (gui/app.py, offscreen) with bad
texts (for numbers: negative, zero, huge, 40-digit and 401-digit integers, nan, inf, denormals, other scripts'
digits, '1_0', '', 'abc', '0x10', 5,000 characters; for choices: unknown names, case variants, empty; for paths: a
300-character name, a dangling symlink, a symlink loop, a folder, a FIFO, a character device (as root), all in a
temp folder; for sweep axes: malformed ranges, huge counts, inf/nan bounds, markup), each in its own process from a
temp folder with small defaults (50 steps) so that a value wrongly accepted finishes fast, 60 s at most, two at a
time. Each is classified: exit 2 with one stderr line (the promise), another exit with one line, other, a
traceback, a hang, or accepted (exit 0: to be judged by hand). A table on stdout, every result as JSON at the path
given; exit 1 when there was a traceback or a hang.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
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


# ---- badvalues: issue 21's adversarial bad-value probe ------------------------------------------------------------

PROBE_TIMEOUT_S = 60
TRAIN_BASE = ["train", "--steps", "50", "--eval-steps", "10", "--quiet"]
SWEEP_BASE = ["sweep", "--x", "lag=1", "--seeds", "1", "--steps", "50", "--eval-steps", "10", "--workers", "1",
              "--quiet"]
CLAIMS_BASE = ["claims", "--only", "readout-fixes", "--seeds", "1", "--scale", "0.01", "--workers", "1", "--quiet"]
WINDOW_BASE = ["--no-restore", "--quit-after-steps", "1", "--steps", "50"]
LONG = "9" * 5000


def _numbers() -> list[str]:
    """Bad (or edge) texts for a number flag: signs, zero, huge, non-finite, denormal, other scripts, odd forms."""
    return ["-1", "0", "1e308", "9" * 40, str(10**400), "nan", "inf", "-inf", "1e-320", "1e-45", "3.5e38", "١٠",
            "１０", "1_0", "", " ", "abc", "0x10", "1e", "--", "1.5.2", "½", LONG, "-" + "9" * 40]


SHORT_NUMBERS = ["-1", "1e308", "9" * 40, "nan", "1e-320", "١٠", "1_0", "abc"]


def _choices(choices) -> list[str]:
    first = str(list(choices)[0])
    return ["nope", first.upper(), first.title() if first.title() != first else first.upper() + "x", "", " ",
            first + " ", "x" * 5000, "<b>" + first + "</b>"]


def _paths(tmp: Path) -> list[str]:
    """Hostile output/input paths, all inside `tmp`."""
    d = tmp / "paths"
    if not d.exists():
        d.mkdir(parents=True)
        (d / "folder").mkdir()
        os.symlink(d / "missing" / "target", d / "dangling")
        os.symlink(d / "loop-a", d / "loop-b")
        os.symlink(d / "loop-b", d / "loop-a")
        (d / "afile").write_text("x")
        os.mkfifo(d / "fifo")
        try:  # a /dev/null-like node, only as root
            os.mknod(d / "null", 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        except OSError:
            pass
    out = [str(d / ("n" * 300)), str(d / ("n" * 230)), str(d / "dangling"), str(d / "loop-a"), str(d / "folder"),
           str(d / "fifo"), str(d / "afile" / "under-a-file"), str(d / "no-such-folder" / "x"), "", " ",
           str(d / "folder") + "/", str(d / ("x" * 2000)), str(d / "a\nb")]
    if (d / "null").exists():
        out.append(str(d / "null"))
    return out


AXIS_SPECS = [
    "lag", "lag=", "=1", "lag=1:", "lag=:1", "lag=5:1", "lag=1:2:3", "lag=a:b", "lag=1:1000000000",
    "lag=0:99999999999", "lag=-5:-1", "lr=log:0:1:3", "lr=log:-1:1:3", "lr=log:1e-4:1e-1:0", "lr=log:1e-4:1e-1:401",
    "lr=log:1e-4:1e-1:1e9", "lr=log:1e-4:1e-1:" + "9" * 40, "lr=log:inf:1:3", "lr=log:1e-4:inf:3",
    "lr=lin:nan:1:3", "p=lin:0.1:inf:3", "p=lin:-inf:0.5:3", "p=lin:0.1:nan:3", "p=lin:0.5:0.1:3",
    "lr=log:1e-320:1e-1:3", "lr=log:1e-4:1e-1:-3", "lr=log:1e-4:1e-1:1.5", "lr=log:1e-4", "lag=1,1", "lag=1,,2",
    "lag=,", "lag=<b>1</b>", "rule=<b>tbptt</b>", "cell=<img src=x onerror=alert(1)>", "rule=TBPTT",
    "rule=tbptt999", "rule=tbptt+999", "rule=tbptt-1", "rule=tbptt0", "rule=tbptt+", "cell=GRU", "cell=", "seed=1:3",
    "mode=batch,online", "device=cpu", "nope=1", "lag=١", "lag=1_0", "lr=1e-320", "lr=0", "lr=-1", "lr=nan",
    "lr=inf", "lag=65", "window=0:3", "units=0", "units=257", "units=1:1000000000", "lag=1:2\n",
    "lag=" + ",".join(map(str, range(500))), "x" * 5000, "lag=" + "1" * 5000, "optimizer=adam,ADAM",
    "kind=not,xor,foo", "p=0.5,0.5", "p=0,1", "lag=1:64:2", "steps=0:2", "lag=0x1", "lag=1e1", "lag= ", " = ",
    "lag=１", "lr=log:1e-4:1e-1:٣", "rule=tbptt,rtrl,uoro,snap1,bogus",
]


def _skip(a) -> bool:
    return not a.option_strings or a.nargs == 0 or a.dest in ("help", "version")


def _flag_values(a, tmp: Path, short: bool) -> list[str]:
    """The bad texts to try for one argparse action."""
    name = a.option_strings[-1]
    if name in ("--x", "--y"):
        return list(AXIS_SPECS)
    if name in ("--report", "--markdown", "--png", "--csv", "--svg", "--screenshot", "--record", "--open"):
        paths = _paths(tmp)
        ext = {"--report": ".json", "--markdown": ".md", "--png": ".png", "--csv": ".csv", "--svg": ".svg",
               "--screenshot": ".png", "--record": ".gif", "--open": ".gmlab"}[name]
        return paths + [str(tmp / "paths" / ("n" * 300 + ext)), str(tmp / "paths" / "x.wrong-suffix"),
                        str(tmp / "paths" / ("<img src=x onerror=alert(1)>" + ext))]
    if a.choices is not None:
        return _choices(a.choices)
    if name == "--only":
        return ["", " ", ",", "nope", "READOUT-FIXES", "readout-fixes,,", "readout-fixes,nope", "x" * 5000,
                "<b>readout-fixes</b>"]
    if name == "--scheduler":
        return ["", " ", "abc", "tcp://", "tcp://256.0.0.1:1", "tcp://127.0.0.1:99999", "x" * 5000]
    if name == "--size":
        return ["", "x", "0x0", "-1440x900", "1440x", "x900", "1440x900x3", "1e4x1e4", "99999999999x900",
                "١٤٤٠x٩٠٠", "1_440x900", "nanxnan", "1440*900", LONG]
    if a.type is not None and getattr(a.type, "__name__", "") == "parse_bool":
        return ["", "maybe", "2", "-1", "y", "x" * 5000]
    return list(SHORT_NUMBERS if short else _numbers())


def _given(flag: str, value: str) -> list[str]:
    """The flag with its value; `--flag=-1` for a value argparse would take for a flag."""
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def _cases(tmp: Path) -> list[tuple[str, str, str, list[str]]]:
    """(command, flag, value, argv) for every bad value."""
    from core.cli.claims import build_parser as claims_parser
    from core.cli.sweep import build_parser as sweep_parser
    from core.cli.train import build_parser as train_parser
    from gui.app import build_parser as window_parser

    out = []
    from core.config import all_fields

    config = {"--" + f.name.replace("_", "-") for _, f in all_fields()}
    for cmd, parser, base in (("train", train_parser(), TRAIN_BASE), ("sweep", sweep_parser(), SWEEP_BASE),
                              ("claims", claims_parser(), CLAIMS_BASE)):
        for a in parser._actions:
            if _skip(a):
                continue
            flag = a.option_strings[-1]
            short = cmd != "train" and flag in config  # the same config parser as train's: fewer values
            for v in _flag_values(a, tmp, short):
                argv = list(base)
                if flag in argv:  # the probed flag replaces the base's value
                    i = argv.index(flag)
                    del argv[i:i + 2]
                out.append((cmd, flag, v, argv + _given(flag, v)))
            if a.nargs is None and not a.required:  # the flag with no value at all
                out.append((cmd, flag, "<missing>", list(base) + [flag]))
    for a in window_parser()._actions:
        if _skip(a):
            continue
        flag = a.option_strings[-1]
        for v in _flag_values(a, tmp, short=True):
            argv = [x for x in WINDOW_BASE]
            if flag in argv:
                i = argv.index(flag)
                del argv[i:i + 2]
            if flag.startswith("--record-"):
                argv += ["--record", str(tmp / "clip.gif")]
            argv += _given(flag, v)
            out.append(("window", flag, v, argv))
        out.append(("window", flag, "<missing>", WINDOW_BASE + [flag]))
    for v in SHORT_NUMBERS:  # config flags through the window's door (core.cli.train's parser)
        for flag in ("--steps", "--lr", "--units"):
            argv = [x for x in WINDOW_BASE if x not in ("--steps", "50")]
            out.append(("window", flag, v, argv + _given(flag, v)))
    return out


def _classify(rc: int | None, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if rc is None:
        return "hang"
    if "Traceback" in err:
        return "traceback"
    if rc == 0:
        return "accepted"
    if rc == 2 and len(lines) == 1:
        return "exit2_one_line"
    return "other_one_line" if len(lines) == 1 else "other"


def _probe(case, tmp: Path, timeout: float) -> dict:
    cmd, flag, value, argv = case
    with tempfile.TemporaryDirectory(dir=tmp, prefix="run-") as run:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GML_SETTINGS=os.path.join(run, "settings.ini"),
                   GML_LOG_DIR=os.path.join(run, "logs"), XDG_STATE_HOME=os.path.join(run, "state"),
                   XDG_CONFIG_HOME=os.path.join(run, "config"), XDG_DATA_HOME=os.path.join(run, "data"),
                   PYTHONDONTWRITEBYTECODE="1")
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *argv], cwd=run, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err_b = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the probe's own child and its children only
            _, err_b = p.communicate()
            rc = None
        err = err_b.decode("utf-8", "replace")
    kind = _classify(rc, err)
    first = next((ln for ln in err.splitlines() if ln.strip()), "")
    return {"command": cmd, "flag": flag, "value": value if len(value) <= 80 else value[:40] + f"...({len(value)})",
            "argv": [a if len(a) <= 120 else a[:60] + f"...({len(a)})" for a in argv], "rc": rc, "kind": kind,
            "stderr_lines": len([ln for ln in err.splitlines() if ln.strip()]), "first_line": first[:300],
            "stderr_tail": err[-2000:] if kind in ("traceback", "hang", "other") else "",
            "seconds": round(time.perf_counter() - t0, 2)}


def badvalues(json_path: str, workers: int = 2, only: str = "", timeout: float = PROBE_TIMEOUT_S) -> int:
    """Issue 21's adversarial probe: every flag of train, sweep, claims and the window with bad values, each in its
    own process (in a temp folder), classified; a table on stdout, every result as JSON at `json_path`."""
    import collections
    import concurrent.futures
    import json

    tmp = Path(tempfile.mkdtemp(prefix="gml-badvalues-"))
    cases = [c for c in _cases(tmp) if not only or c[0] in only.split(",")]
    print(f"badvalues: {len(cases)} bad values, {workers} at a time, {timeout:g} s each at most", flush=True)
    t0 = time.time()
    results = []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for i, r in enumerate(pool.map(lambda c: _probe(c, tmp, timeout), cases)):
            results.append(r)
            if r["kind"] not in ("exit2_one_line",):
                print(f"  {r['kind']:15} rc {r['rc']} {r['command']} {r['flag']} {r['value']!r}: "
                      f"{r['first_line'][:140]}", flush=True)
            if (i + 1) % 100 == 0:
                print(f"  ... {i + 1}/{len(cases)} in {time.time() - t0:.0f} s", flush=True)
    kinds = ("exit2_one_line", "other_one_line", "other", "traceback", "hang", "accepted")
    table = collections.OrderedDict()
    for cmd in ("train", "sweep", "claims", "window"):
        rs = [r for r in results if r["command"] == cmd]
        table[cmd] = {"tried": len(rs), **{k: sum(r["kind"] == k for r in rs) for k in kinds}}
    table["all"] = {"tried": len(results), **{k: sum(r["kind"] == k for r in results) for k in kinds}}
    print(f"\n{'command':8} {'tried':>6} " + " ".join(f"{k:>15}" for k in kinds))
    for cmd, row in table.items():
        print(f"{cmd:8} {row['tried']:6} " + " ".join(f"{row[k]:15}" for k in kinds))
    print(f"elapsed {time.time() - t0:.0f} s")
    Path(json_path).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "summary": table,
                                           "elapsed_s": round(time.time() - t0, 1), "results": results},
                                          indent=1, ensure_ascii=False))
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if table["all"]["traceback"] or table["all"]["hang"] else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "saver":
        saver(sys.argv[2])
    elif cmd == "kill9":
        kill9(int(sys.argv[2]), sys.argv[3])
    elif cmd == "fulldisk":
        fulldisk(sys.argv[2])
    elif cmd == "badvalues":
        sys.exit(badvalues(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2, *sys.argv[4:5]))

