"""The app's logging: the standard library's `logging`, a logger per module (`logging.getLogger(__name__)`), set
up once by each entry point through `setup`: a rotating log file in the app's data folder (the window passes
QStandardPaths' AppDataLocation; the command lines use `state_folder()`, $XDG_STATE_HOME/gru-memory-lab or
~/.local/state/gru-memory-lab; GML_LOG_DIR overrides both) and stderr. On stderr the app's own messages read as
plain lines (the command lines' progress and errors); other libraries' only from warnings on; --verbose shows
debug lines too, each with its logger's name; --quiet only warnings and errors."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import TextIO

LOG_NAME = "gru-memory-lab.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
OURS = ("core", "gui", "main", "__main__")
FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_installed: list[logging.Handler] = []
_folder: list[Path] = []


def state_folder() -> Path:
    """Where the command lines keep their log: GML_LOG_DIR, else $XDG_STATE_HOME/gru-memory-lab, else
    ~/.local/state/gru-memory-lab."""
    if os.environ.get("GML_LOG_DIR"):
        return Path(os.environ["GML_LOG_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gru-memory-lab"


class _StderrFormat(logging.Formatter):
    """The message alone (as the command lines always printed it); debug lines name their logger."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"debug {record.name}: {text}" if record.levelno < logging.INFO else text


class _OursOrWarnings(logging.Filter):
    """On stderr: the app's loggers at the handler's level, everyone else's from warnings on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in OURS or record.levelno >= logging.WARNING


def setup(folder: Path | str | None = None, *, verbose: bool = False, quiet: bool = False,
          stderr_level: int = logging.INFO, stream: TextIO | None = None) -> Path | None:
    """Install the handlers (again: a second call replaces the first's) and return the log file, or None when
    its folder cannot be made (said once on stderr at debug level; the app runs on without a file). `folder`
    None means no file. The file keeps info and up (debug with --verbose)."""
    reset()
    root = logging.getLogger()
    level = logging.DEBUG if verbose else logging.WARNING if quiet else stderr_level
    err = logging.StreamHandler(stream if stream is not None else sys.stderr)
    err.setLevel(level)
    err.setFormatter(_StderrFormat())
    err.addFilter(_OursOrWarnings())
    handlers: list[logging.Handler] = [err]
    path = None
    why = None
    if folder is not None:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            path = Path(folder) / LOG_NAME
            fh = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                      encoding="utf-8")
        except OSError as e:
            path, why = None, f"no log file in {folder}: {e}"
        else:
            fh.setLevel(logging.DEBUG if verbose else logging.INFO)
            fh.setFormatter(logging.Formatter(FILE_FORMAT))
            handlers.append(fh)
            _folder.append(Path(folder))
    for h in handlers:
        root.addHandler(h)
    _installed.extend(handlers)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if why:
        logging.getLogger(__name__).debug(why)
    return path


def reset() -> None:
    """Take out what `setup` installed (the root logger back to its default level): a process that ran a command
    in-process, as a test does, leaves no handler behind."""
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
        h.close()
    _installed.clear()
    _folder.clear()
    root.setLevel(logging.WARNING)


def log_folder() -> Path | None:
    """The folder of the log file `setup` opened, or None."""
    return _folder[0] if _folder else None
