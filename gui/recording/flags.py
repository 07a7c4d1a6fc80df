"""The window's recording flags: `--record FILE --record-view VIEW --record-fps FPS --record-steps-per-frame N
--record-mode lockstep|live`.

Pure argparse (no Qt), so `gui/app.py` can add the flags and check them before a window opens:

    add_record_arguments(parser)                     # in build_parser()
    rec = record_options(gui_args)                   # in parse(): RecordOptions or None; a bad value prints
                                                     # "error: --record...: why" and exits 2, like the other flags

`--record-steps-per-frame` defaults to a ~10-s clip of `--quit-after-steps` steps when that is given
(core/recording/schedule.py plans it), else to 100 steps per frame. `--record-mode` is lockstep by default (the
trainer waits for each frame to be drawn and grabbed: every frame shows its own step, gui/recording/lockstep.py);
live records while training runs freely (a busy machine repeats pictures).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from core.cli.flags import strict_float, strict_int
from core.recording.recorder import FORMATS, MAX_FPS, check_record_path
from core.recording.schedule import DEFAULT_CLIP_SECONDS, DEFAULT_STEPS_PER_FRAME, plan_steps_per_frame

RECORD_VIEWS = ("window", "bits", "hidden", "loss", "accuracy", "portrait")
RECORD_MODES = ("lockstep", "live")
DEFAULT_RECORD_FPS = 15.0
MAX_STEPS_PER_FRAME = 10**9  # an online run's most steps: the whole run in one frame


@dataclass(frozen=True)
class RecordOptions:
    path: str
    view: str = "window"
    fps: float = DEFAULT_RECORD_FPS
    steps_per_frame: int = DEFAULT_STEPS_PER_FRAME
    lockstep: bool = True  # the trainer waits for each frame (every frame its own step); False: live capture


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("recording")
    g.add_argument("--record", metavar="FILE", default=None,
                   help="record the run to FILE as it is drawn; the suffix picks the format: "
                   + ", ".join(f"{s} ({d})" for s, d in FORMATS.items()) + " (MP4 needs the 'video' extra)")
    g.add_argument("--record-view", choices=RECORD_VIEWS, default=None,
                   help="what to record: the whole window (default) or one view")
    g.add_argument("--record-fps", type=strict_float, default=None, metavar="FPS",
                   help=f"the clip's frames per second (default {DEFAULT_RECORD_FPS:g}; a GIF plays at most 50)")
    g.add_argument("--record-steps-per-frame", type=strict_int, default=None, metavar="N",
                   help="training steps between recorded frames (default: a ~10-s clip of --quit-after-steps, "
                   f"else {DEFAULT_STEPS_PER_FRAME})")
    g.add_argument("--record-mode", choices=RECORD_MODES, default=None,
                   help="lockstep (default): training waits for each frame, so every frame shows its own step; "
                   "live: record while training runs freely (on a busy machine frames repeat the picture before)")


def check_record_options(args: argparse.Namespace) -> RecordOptions | None:
    """The recording asked for, or None; ValueError("--flag: why") for a bad value. Writes nothing."""
    path = getattr(args, "record", None)
    if path is None:
        for flag in ("record_view", "record_fps", "record_steps_per_frame", "record_mode"):
            if getattr(args, flag, None) is not None:
                raise ValueError(f"--{flag.replace('_', '-')}: needs --record FILE")
        return None
    why = check_record_path(path)
    if why is not None:
        raise ValueError(f"--record: cannot record to {path}: {why}")
    fps = DEFAULT_RECORD_FPS if args.record_fps is None else float(args.record_fps)
    top = 50.0 if path.lower().endswith(".gif") else MAX_FPS
    if not (1 <= fps <= top):
        raise ValueError(f"--record-fps: must be between 1 and {top:g} for this file (got {fps:g})")
    spf = args.record_steps_per_frame
    if spf is None:
        total = getattr(args, "quit_after_steps", None)
        spf = plan_steps_per_frame(total, DEFAULT_CLIP_SECONDS, fps) if total else DEFAULT_STEPS_PER_FRAME
    elif not 1 <= spf <= MAX_STEPS_PER_FRAME:
        raise ValueError(f"--record-steps-per-frame: must be from 1 to {MAX_STEPS_PER_FRAME:,} (got {spf})")
    return RecordOptions(path=path, view=args.record_view or "window", fps=fps, steps_per_frame=int(spf),
                         lockstep=getattr(args, "record_mode", None) != "live")


def record_options(args: argparse.Namespace) -> RecordOptions | None:
    """`check_record_options`, but a bad value prints one line and exits 2 (as gui/app.py's other flags)."""
    try:
        return check_record_options(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
