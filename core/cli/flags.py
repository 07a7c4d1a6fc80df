"""What the three command lines share: the parser that answers a bad flag with one line and exit 2 and gives every
command `--version` and `--verbose` (its usage names the program as typed: core.product.about.prog), the logging
each command sets up (`start_logging`: the log file, and stderr for progress and messages; stdout is for data),
the config flags made from the config's fields (`add_config_flags`, `config_from_args`, `config_flag_error`),
the preset flag, thread limits, and the strict JSON of a report (`report_json`: NaN and infinities as null)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os

from core.config import (
    PRESET_HELP,
    PRESETS,
    Config,
    ConfigError,
    all_fields,
    parse_float,
    parse_int,
    preset,
    range_text,
)
from core.product import logs
from core.product.about import prog, version_text

MAX_THREADS = min(64, 2 * (os.cpu_count() or 1))


class WholeValueParser(argparse.ArgumentParser):
    """argparse that gives a flag written `--flag=--` the text '--' (refused by its type or checks as any other bad
    text): argparse drops a '--' wherever it finds one, so such a flag's value would be an empty list, which the
    command's checks then met as a TypeError traceback (found by the badvalues probe, tests/reliability_runs.py)."""

    def _get_values(self, action, arg_strings):
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


class Parser(WholeValueParser):
    """argparse that answers a bad flag with one line on stderr and exit 2 (no usage dump); `command` ('train')
    names the program as the user typed it, and every command has --version and --verbose."""

    def __init__(self, command: str, exit_codes: dict[int, str] | None = None, **kw):
        if exit_codes:
            kw["epilog"] = "exit codes: " + "; ".join(f"{k} {v}" for k, v in exit_codes.items())
        super().__init__(prog=prog(command), **kw)
        self.add_argument("--version", action="version", version=version_text(command))
        self.add_argument("--verbose", action="store_true",
                          help="debug lines on stderr and in the log file (" + str(logs.state_folder()) + ")")

    def error(self, message):
        self.exit(2, f"error: {message}\n")


def start_logging(args: argparse.Namespace) -> None:
    """The command's logging: the log file in core.product.logs.state_folder(), progress and messages on stderr
    (only warnings and errors with --quiet, debug lines too with --verbose)."""
    path = logs.setup(logs.state_folder(), verbose=getattr(args, "verbose", False),
                      quiet=getattr(args, "quiet", False))
    logging.getLogger(__name__).debug("log file: %s", path)


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def strict_int(text: str) -> int:
    """argparse's type for an integer flag: core.config.parse_int (ASCII digits only, no '_')."""
    try:
        return parse_int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def strict_float(text: str) -> float:
    """argparse's type for a number flag: core.config.parse_float (ASCII, finite, a normal float32)."""
    try:
        return parse_float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def nonempty(text: str) -> str:
    """argparse's type for a flag whose empty value would silently mean 'everything' or 'nothing'."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def add_preset_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help=("start from a preset: " + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()))
                   .replace("%", "%%"))  # argparse formats help with %


def add_config_flags(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One flag per config field (--units, --lr, ...) except those in `skip`; each defaults to None (not given)."""
    for section, f in all_fields():
        if f.name in skip:
            continue
        meta, typ = f.metadata, type(f.default)
        allowed = "true|false" if typ is bool else range_text(meta)
        text = f"{meta['help']} [{section}; default {f.default}; allowed {allowed}]".replace("%", "%%")
        kw = {"dest": f.name, "default": None, "help": text}
        if typ is bool:
            kw.update(type=parse_bool, metavar="BOOL")
        elif meta.get("choices"):
            kw.update(choices=list(meta["choices"]))
        else:
            kw.update(type=strict_float if typ is float else strict_int, metavar=f.name.upper())
        p.add_argument("--" + f.name.replace("_", "-"), **kw)


def config_from_args(args: argparse.Namespace, **fixed) -> Config:
    """The preset (or the default Config) with every config flag given, and `fixed` fields, applied; raises
    ConfigError naming the field of a bad value."""
    base = preset(args.preset) if getattr(args, "preset", None) else Config()
    changes = {f.name: v for _, f in all_fields() if (v := getattr(args, f.name, None)) is not None}
    return base.replace(**{**changes, **fixed})


def config_flag_error(e: ConfigError) -> str:
    """The one line for a bad config value: 'error: --lr: must be ...'."""
    return f"error: --{e.field.split('.')[-1].replace('_', '-')}: {e.message}"


def finite_or_null(obj):
    """The report with NaN and infinities as None, so the JSON is strict (no bare NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(v) for v in obj]
    return obj


def report_json(report: dict) -> bytes:
    """A report as strict JSON bytes (indent 1, NaN and infinities as null)."""
    return json.dumps(finite_or_null(report), indent=1, allow_nan=False).encode()
