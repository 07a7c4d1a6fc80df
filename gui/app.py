"""Launching the window: `python main.py [--preset NAME] [config flags] [--open FILE.gmlab] [--autostart]
[--screenshot FILE] [--quit-after-steps N]`. The automation flags let docs and tests make screenshots without a person.

Start-up order: the training child is spawned first (a WorkerHandle, which needs only QtCore), so that it loads
torch and builds its model while this process imports the views and builds the window; GML_TIMING=1 prints
when the window first painted and when the trainer is ready (gui/startup.py, read by bench/launch.py).

Scripts see failures: a bad flag exits 2 with one line before Qt loads; with --quit-after-steps, training that stops
on an error (divergence, an opened file the trainer refuses) prints the message on stderr and exits 1, as does a
failed --open (the default config is not trained instead) and a screenshot or recording that was not written.
Ctrl-C exits 130 at any moment: main.py's handler until Qt is up (nothing started yet), then `Interrupt`, which
closes the window as its close button does (children stopped), even when it came while the window was built.
--quit-after-steps N stops exactly at step N: the training process is asked to pause there (Start(until=N)); it
implies --autostart (a window told to quit at step N never waits for a Start that no one will press).
--record FILE records the run, in lockstep by default: the trainer trains to each frame's step and waits while
that state is drawn and grabbed, so a clip of N frames holds N pictures, each of its own step, on any machine
and under any load (`--record-mode live` records while training runs freely).

A person is asked before unsaved training is dropped (Quit, Close, Reset, Open: gui/files/unsaved.py); a script
never is: with --quit-after-steps, --screenshot or --record the window asks nothing, and Ctrl-C in the terminal
closes it without asking (whoever pressed it is at the terminal, and may not see the window).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from core.atomic_io import check_writable
from core.cli.flags import WholeValueParser, nonempty, strict_float, strict_int
from core.config import Config, ConfigError, parse_int
from core.messages import FileResult, OpenResult
from core.product.about import commands_text, prog, version_text
from core.snapshot import ALL_LAYERS
from gui import TAB_NAMES as TABS  # Qt-free: the parser must not import Qt
from gui.recording.flags import add_record_arguments, record_options

MAX_SPEED = 1_000_000
MAX_QUIT_STEPS = 10**12  # more steps or minibatches than any run holds (online steps stop at 10**9)
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class OneLineParser(WholeValueParser):
    """A bad value of the window's own flags: one line on stderr and exit 2, as every command (no usage dump)."""

    def error(self, message):
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    name = prog()
    p = OneLineParser(
        prog=name, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"GRU Memory Lab: train a tiny GRU live and see whether it remembers.\n\n{commands_text()}\n\n"
        f"The window takes the config flags of `{name} train --help` too.",
        epilog="exit codes: 0 done; 1 training stopped on an error before --quit-after-steps, --open failed, the\n"
        "screenshot or recording was not written (the message on stderr) or the desktop entry could not be written;\n"
        "2 a bad flag (one line); 130 interrupted (Ctrl-C: the window closes as its close button does)")
    p.add_argument("--version", action="version", version=version_text())
    p.add_argument("--verbose", action="store_true", help="debug lines on stderr and in the log file")
    p.add_argument("--install-desktop-entry", action="store_true",
                   help="write a .desktop file and the icon under ~/.local/share (saying where), then exit")
    p.add_argument("--autostart", action="store_true", help="start training as soon as the window opens")
    p.add_argument("--screenshot", metavar="FILE.png", type=nonempty,
                   help="save a PNG of the whole window (at --quit-after-steps, else after the first frame)")
    p.add_argument("--quit-after-steps", type=strict_int, metavar="N",
                   help="close the window once N steps (online) or minibatches (batch) are done; implies "
                   "--autostart (with --open: once the session is open)")
    p.add_argument("--no-restore", action="store_true", help="ignore the remembered config and geometry")
    p.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1440x900 (default: remembered)")
    p.add_argument("--fps", type=strict_float, default=60.0, help="most frames per second (1-60, default 60)")
    p.add_argument("--speed", type=strict_float, default=0.0,
                   help=f"steps per second (0 = as fast as it goes; at most {MAX_SPEED:,})")
    p.add_argument("--tab", choices=TABS, default=None,
                   help="which page or Inspect tab to show (for screenshots): " + ", ".join(TABS))
    p.add_argument("--layer", choices=ALL_LAYERS, default=None,
                   help="the heatmap's layer (the cell's: gru h n z r; lstm h c i f g o; rnn h)")
    p.add_argument("--theme", choices=["system", "light", "dark"], default=None,
                   help="colours for this run: the desktop's scheme, light or dark (default: View > Theme's choice)")
    p.add_argument("--open", metavar="FILE.gmlab", help="open a saved session (its config wins over config flags)")
    add_record_arguments(p)
    return p


def parse(argv):
    """(gui args, Config or None): config flags go through the headless runner's parser and checks."""
    gui_args, rest = build_parser().parse_known_args(argv)
    cfg, given = None, False
    if rest:  # config flags: the headless runner's parser (it imports torch, so only when there are any)
        from core.cli.train import build_parser as train_parser
        from core.cli.train import config_from_args

        targs = train_parser().parse_args(rest)  # exits 2 with one line on a bad flag
        given = targs.preset is not None or any(getattr(targs, k) is not None for k in Config().flat())
    if given:
        try:
            cfg = config_from_args(targs)
        except ConfigError as e:
            flag = "--" + e.field.split(".")[-1].replace("_", "-")
            print(f"error: {flag}: {e.message}", file=sys.stderr)
            raise SystemExit(2) from None
    if gui_args.quit_after_steps is not None and not 0 <= gui_args.quit_after_steps <= MAX_QUIT_STEPS:
        print(f"error: --quit-after-steps: must be from 0 to {MAX_QUIT_STEPS:,}", file=sys.stderr)
        raise SystemExit(2)
    if gui_args.quit_after_steps is not None:
        gui_args.autostart = True  # stopping at step N means training to it: never a window waiting for ever
    if not (math.isfinite(gui_args.speed) and 0 <= gui_args.speed <= MAX_SPEED):
        print(f"error: --speed: must be a number from 0 (as fast as it goes) to {MAX_SPEED:,}, got {gui_args.speed}",
              file=sys.stderr)
        raise SystemExit(2)
    if gui_args.open is not None and not gui_args.open:
        print("error: --open: no file name given", file=sys.stderr)
        raise SystemExit(2)
    if not (math.isfinite(gui_args.fps) and 1 <= gui_args.fps <= 60):
        print("error: --fps: must be between 1 and 60", file=sys.stderr)
        raise SystemExit(2)
    if gui_args.size is not None:
        try:
            w, h = (parse_int(v) for v in gui_args.size.lower().split("x"))
            assert 400 <= w <= 10000 and 300 <= h <= 10000
        except (ValueError, AssertionError):
            print("error: --size: expected WxH between 400x300 and 10000x10000, e.g. 1440x900", file=sys.stderr)
            raise SystemExit(2) from None
        gui_args.size = (w, h)
    elif gui_args.screenshot:
        gui_args.size = (1440, 900)  # reproducible screenshots
    why = screenshot_problem(gui_args.screenshot) if gui_args.screenshot else None
    if why is not None:
        print(f"error: --screenshot: cannot write {gui_args.screenshot}: {why}", file=sys.stderr)
        raise SystemExit(2)
    gui_args.recording = record_options(gui_args)  # exits 2 with one line on a bad --record flag
    return gui_args, cfg


def screenshot_problem(path: str) -> str | None:
    """Why a --screenshot path could not be written, checked before anything runs, or None. The window makes
    missing folders, so where the file's folder does not exist yet, the nearest one that does must be a writable
    folder; where it exists, every check a save makes (core.atomic_io.check_writable: a folder, a FIFO, a device,
    a dangling symlink, a name too long)."""
    if "\0" in path:
        return "the file name contains a NUL character"
    p = os.path.abspath(os.path.expanduser(path))
    folder = up = os.path.dirname(p)
    while not os.path.lexists(up) and os.path.dirname(up) != up:
        up = os.path.dirname(up)
    if up == folder:
        return check_writable(p)
    if not os.path.isdir(up):
        return f"{up} is not a folder"
    return check_writable(os.path.join(up, os.path.basename(p)))  # the folder's access and the name's length


class Automation:
    """Drives --autostart / --screenshot / --quit-after-steps from the window's frame signal, and makes failures
    visible to scripts: an error that stops training (under --quit-after-steps) or a failed --open prints the
    message on stderr, closes the window and sets `failure` (main returns EXIT_FAILED)."""

    def __init__(self, win, args):
        self.win, self.args = win, args
        self.done = False
        self.waiting_final = False
        self.shot = None
        self.failure: str | None = None
        self._open_error: str | None = None
        win.frame_shown.connect(self._frame)
        win.handle.worker.error.connect(self._error)
        win.session_ui.failed.connect(self._failed)

    def begin(self) -> None:
        """Start training as asked (through the window's one Start door): with --quit-after-steps the child
        pauses exactly at that step."""
        self.win.commands.start(until=self.args.quit_after_steps)

    def opened(self, ok: bool) -> None:
        """--open answered: go on (start if asked), or say why it failed and quit non-zero."""
        if ok:
            if self.args.autostart:
                self.begin()
            return
        self._fail(self._open_error or f"could not open {self.args.open}")

    def _failed(self, result: FileResult) -> None:
        if isinstance(result, OpenResult):
            self._open_error = result.error

    def _error(self, text: str) -> None:
        """Training stopped on an error: under --quit-after-steps it would never reach the step asked for."""
        if self.args.quit_after_steps is not None and not self.done:
            from PySide6.QtCore import QTimer  # the signal may arrive on the worker's thread: close from the window's

            QTimer.singleShot(0, self.win, lambda: self._fail(text))

    def _fail(self, text: str) -> None:
        if self.done:
            return
        self.done = True
        self.failure = " ".join(str(text).split()) or "training stopped on an error"
        print(f"error: {self.failure}", file=sys.stderr, flush=True)
        self.win.close()

    def _frame(self, s) -> None:
        a = self.args
        if self.done:
            return
        if self.waiting_final:  # paused: this frame has the final numbers and a fresh analysis
            if not s.running:
                self._finish()
            return
        target = a.quit_after_steps
        if target is None:
            if a.screenshot and (s.step > 0 or not a.autostart):
                self.done = True
                self.shot = self.win.exports.save_screenshot(a.screenshot)
            return
        if s.step >= target or (not s.running and s.step > 0 and s.finished):
            self.win.commands.pause()
            self.waiting_final = True

    def _finish(self) -> None:
        self.done = True
        if self.args.recording is not None:  # the last frame drawn ends the clip
            path = self.win.recording.stop()
            if path is None:  # a failed recording is a failure for scripts too (its reason: the window's last error)
                why = self.win.message.errors[-1] if self.win.message.errors else "it failed"
                self.done = False  # _fail ends it
                self._fail(f"the recording {self.args.recording.path} was not written: {why}")
                return
            print(f"recording: {path}")
        if self.args.screenshot:
            self.shot = self.win.exports.save_screenshot(self.args.screenshot)
            if self.shot:
                print(f"screenshot: {self.shot}")
        self.win.close()


def scripted(args) -> bool:
    """A script drives this run (--quit-after-steps, --screenshot or --record): nobody is asked anything."""
    return args.quit_after_steps is not None or bool(args.screenshot) or args.recording is not None


def automate(win, args) -> Automation | None:
    """Drive a shown window as the automation flags ask (and let it ask about unsaved work only when no script
    drives it): --record starts recording (lockstep by default: the run
    then trains frame by frame, gui/recording/lockstep.py), then --open (starting once it is open, if asked) or
    --autostart. The Automation, or None when the recording could not start (its message is the window's last
    error)."""
    win.unsaved.asking = not scripted(args)
    auto = Automation(win, args)
    if args.recording is not None and not win.recording.start(args.recording):
        return None
    if args.open:  # start (if asked) once the session is open; a failed open quits non-zero
        win.session_ui.open_session_from(args.open, on_done=auto.opened)
    elif args.autostart:
        auto.begin()
    return auto


class Interrupt:
    """Ctrl-C (SIGINT) once Qt is up: `seen` is remembered (main exits 130 with it, whenever it came) and the
    windows close as their close buttons do (settings kept, children stopped), instead of a KeyboardInterrupt
    raised inside some paint. One that lands before the window shows is acted on once it shows."""

    def __init__(self, app):
        self.app, self.seen = app, False

    def __call__(self, *_) -> None:
        from PySide6.QtCore import QTimer

        self.seen = True
        for w in self.app.topLevelWidgets():  # Ctrl-C in the terminal: no question about unsaved work
            if hasattr(w, "unsaved"):
                w.unsaved.asking = False
        QTimer.singleShot(0, self.app.closeAllWindows)


def quit_on_sigint(app) -> Interrupt:
    """Install the window's SIGINT handler (main.py's start-up one exits at once until now). Python runs signal
    handlers only when the interpreter gets control, so a timer ticks while Qt's loop runs."""
    import signal

    from PySide6.QtCore import QTimer

    interrupt = Interrupt(app)
    signal.signal(signal.SIGINT, interrupt)
    tick = QTimer(app)
    tick.timeout.connect(lambda: None)
    tick.start(200)
    return interrupt


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, cfg = parse(argv)
    if args.install_desktop_entry:
        from core.product.desktop import install_command  # no Qt: it only writes two files

        return install_command()
    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("error: no display to open the window on (DISPLAY is not set). Run it on a desktop, under Xvfb "
              "(Xvfb :99 & DISPLAY=:99 python main.py), offscreen for screenshots (QT_QPA_PLATFORM=offscreen), "
              "or train without a window: python main.py train --help", file=sys.stderr)
        return 1
    # Qt is loaded only after the checks above, so a bad flag or a missing display answers without loading it
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GRU Memory Lab")
    app.setOrganizationName("GRU Memory Lab")
    from gui.window.help import start_logging

    start_logging(verbose=args.verbose)
    interrupt = quit_on_sigint(app)
    if interrupt.seen:  # nothing started yet
        return EXIT_INTERRUPTED
    # the trainer first: the child starts (torch, the model) while this process builds the window
    from gui.children.worker import WorkerHandle
    from gui.settings import WindowSettings

    settings = WindowSettings()
    settings.clean_temp_files()  # what a save killed mid-write left (its writer is gone)
    cfg = settings.opening_config(cfg, restore=not args.no_restore)
    handle = WorkerHandle(cfg.to_dict(), max_fps=args.fps, listen=False)
    import pyqtgraph as pg

    from gui.main_window import MainWindow
    from gui.window.appearance import start_theme

    pg.setConfigOptions(antialias=False)
    start_theme(args.theme, WindowSettings().store)  # the views are made in it; exports and recordings carry it
    win = MainWindow(cfg, restore=not args.no_restore, max_fps=args.fps, handle=handle)
    if args.speed:
        win.toolbar.set_speed_nearest(args.speed)
    if args.size:
        win.resize(*args.size)
    if args.tab:
        win.show_tab(args.tab)
    if args.layer:
        win.hidden.set_layer(args.layer)
    win.show()
    if interrupt.seen:  # Ctrl-C while the window was built: it closes (children stopped) before it runs
        win.close()
        return EXIT_INTERRUPTED
    auto = automate(win, args)
    if auto is None:
        print(f"error: {win.message.errors[-1]}", file=sys.stderr)
        return 1
    code = app.exec()
    if interrupt.seen:
        return EXIT_INTERRUPTED
    if auto.failure is not None:
        return EXIT_FAILED
    if args.screenshot and auto.shot is None:
        print(f"error: the screenshot {args.screenshot} was not written", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
