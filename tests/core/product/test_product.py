"""The product around the engine, without Qt: one version (pyproject's), the name typed in usage lines, --version
on every command, the top-level --help's commands, the shipped files, the log file and its levels, the claims'
ETA and live line, the desktop entry written only when asked."""

from __future__ import annotations

import io
import json
import logging
import sys
import tomllib
from pathlib import Path

import pytest

import main as app_main
from core.cli import claims as claims_cli
from core.cli.progress import Eta, LiveLine, duration
from core.product import about, desktop, files, logs
from core.runs.claims_report import expected_seconds

ROOT = Path(__file__).resolve().parents[3]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_pyprojects_read_through_the_installed_metadata():
    assert about.version() == VERSION


def test_a_checkout_without_an_install_reads_pyproject(monkeypatch):
    def missing(_dist):
        raise about.metadata.PackageNotFoundError

    monkeypatch.setattr(about.metadata, "version", missing)
    assert about.version() == VERSION + "+checkout"


@pytest.mark.parametrize("argv0, command, want", [
    ("/x/bin/gru-memory-lab", "train", "gru-memory-lab train"), ("main.py", "claims", "main.py claims"),
    ("/x/bin/gru-memory-lab-train", "train", "gru-memory-lab-train"), ("/usr/bin/pytest", "", "gru-memory-lab"),
])
def test_usage_names_the_program_as_typed(monkeypatch, argv0, command, want):
    monkeypatch.setattr(sys, "argv", [argv0])
    assert about.prog(command) == want


@pytest.mark.parametrize("argv, want", [
    ([], "main.py"), (["train"], "main.py train"), (["claims"], "main.py claims"), (["sweep"], "main.py sweep"),
])
def test_every_command_answers_version(monkeypatch, capsys, argv, want):
    monkeypatch.setattr(sys, "argv", ["main.py"])
    with pytest.raises(SystemExit) as e:
        app_main.main([*argv, "--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"{want} {VERSION}"


def test_the_top_level_help_lists_the_commands_and_each_help_its_exit_codes(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/x/bin/gru-memory-lab"])
    with pytest.raises(SystemExit):
        app_main.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: gru-memory-lab ")
    for cmd in ("train ...", "claims ...", "sweep ...", "--install-desktop-entry"):
        assert f"gru-memory-lab {cmd}" in out, cmd
    for command in ("train", "claims", "sweep"):
        with pytest.raises(SystemExit):
            app_main.main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert text.startswith(f"usage: gru-memory-lab {command} ") and "exit codes: 0 done;" in text
        assert "--verbose" in text and "--version" in text


def test_the_shipped_files_are_found_through_the_package():
    for name in (files.CLAIMS, files.ICON, files.DESKTOP, *(doc for _t, doc in files.DOCS)):
        assert files.local_path(name) is not None, name
    assert files.local_path("docs/nothing-here.md") is None


def test_the_log_file_keeps_info_and_stderr_follows_quiet_and_verbose(tmp_path):
    err = io.StringIO()
    path = logs.setup(tmp_path / "logs", stream=err)
    lg = logging.getLogger("core.some.module")
    lg.info("progress line")
    lg.debug("detail")
    logging.getLogger("PIL.foo").info("a library's chatter")
    assert err.getvalue() == "progress line\n"
    assert path == tmp_path / "logs" / logs.LOG_NAME and "INFO core.some.module: progress line" in path.read_text()
    err = io.StringIO()
    logs.setup(tmp_path / "logs", quiet=True, stream=err)
    lg.info("hidden")
    lg.error("error: shown")
    assert err.getvalue() == "error: shown\n" and "hidden" in path.read_text()  # the file keeps what was hidden
    err = io.StringIO()
    logs.setup(tmp_path / "logs", verbose=True, stream=err)
    lg.debug("detail 2")
    assert err.getvalue() == "debug core.some.module: detail 2\n" and "DEBUG" in path.read_text()
    assert logs.log_folder() == tmp_path / "logs" and len(logging.getLogger().handlers) >= 2


def test_an_unwritable_log_folder_leaves_no_file_and_the_app_runs(tmp_path):
    (tmp_path / "file").write_text("")
    assert logs.setup(tmp_path / "file" / "logs", stream=io.StringIO()) is None and logs.log_folder() is None


def test_the_state_folder_follows_xdg_and_gml_log_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("GML_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert logs.state_folder() == tmp_path / "gru-memory-lab"
    monkeypatch.setenv("GML_LOG_DIR", str(tmp_path / "x"))
    assert logs.state_folder() == tmp_path / "x"


def test_the_eta_starts_from_the_last_times_and_corrects_by_the_speed_seen():
    now = [100.0]
    eta = Eta({"a": 10.0, "b": 30.0}, clock=lambda: now[0])
    assert eta.remaining() == 40.0
    now[0] = 104.0
    assert eta.remaining() == 36.0  # nothing done yet: the expected time left
    now[0] = 120.0
    eta.finished("a")  # took 20 s where 10 were expected: twice as slow
    assert eta.remaining() == 60.0 and eta.text() == "0m20s elapsed, ETA 1m00s"
    assert duration(3725) == "1h02m" and duration(None) == "?"


def test_expected_seconds_scale_the_shipped_times_by_the_seeds():
    rep = {"seeds": [0, 1], "claims": [{"key": "a", "elapsed_s": 4.0}, {"key": "b", "elapsed_s": 8.0}]}
    assert expected_seconds(["a", "b", "c"], 4, rep) == {"a": 8.0, "b": 16.0, "c": 12.0}


def test_the_live_line_rewrites_in_place_on_a_terminal_and_is_silent_when_piped():
    tty, pipe = io.StringIO(), io.StringIO()
    for stream, live in ((tty, True), (pipe, False)):
        line = LiveLine(stream, live=live)
        line.show("long text here")
        line.show("short")
        line.clear()
    assert tty.getvalue() == "\rlong text here\rshort         \r     \r" and pipe.getvalue() == ""


@pytest.mark.slow  # over 3 s on the 2-core machine (docs/testing.md)
def test_claims_progress_has_an_eta_on_stderr_and_the_verdicts_alone_on_stdout(capsys):
    assert claims_cli.main(["--seeds", "1", "--only", "readout-fixes", "--scale", "0.05"]) == 0
    cap = capsys.readouterr()
    (line,) = cap.out.splitlines()
    assert [c["key"] for c in json.loads(line)["claims"]] == ["readout-fixes"]
    assert "[1/1] readout-fixes:" in cap.err and "ETA" in cap.err and "\r" not in cap.err  # piped: plain lines
    assert claims_cli.main(["--seeds", "1", "--only", "readout-fixes", "--scale", "0.05", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_the_train_command_quiet_with_markdown_prints_only_the_json(tmp_path, capsys):
    from core.cli.train import main as train_main

    assert train_main(["--steps", "50", "--eval-steps", "20", "--quiet", "--markdown", str(tmp_path / "r.md")]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and len(cap.out.splitlines()) == 1 and json.loads(cap.out)["params"] > 0
    assert (tmp_path / "r.md").is_file()


def test_the_desktop_entry_is_written_only_when_asked_and_says_where(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert not list(tmp_path.rglob("*"))
    assert app_main.main(["--install-desktop-entry"]) == 0
    entry = tmp_path / "applications" / "gru-memory-lab.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "gru-memory-lab.svg"
    out = capsys.readouterr().out
    assert f"desktop entry: {entry}" in out and f"icon: {icon}" in out
    text = entry.read_text()
    assert "[Desktop Entry]" in text and f"Icon={icon}" in text and "@" not in text
    exec_line = next(ln for ln in text.splitlines() if ln.startswith("Exec="))
    assert exec_line[5:].split()[0].strip('"') in (desktop.launcher()[0], f'"{desktop.launcher()[0]}"')
    assert icon.read_bytes() == files.shipped(files.ICON).read_bytes()


def test_the_eta_is_zero_once_the_workers_trained_every_claims_run():
    now = [0.0]
    eta = Eta({"a": 10.0, "b": 30.0}, clock=lambda: now[0])
    now[0] = 25.0
    eta.finish_all(["a", "b"])  # the runs are in: judging the claims is left
    assert eta.remaining() == 0.0 and eta.text() == "0m25s elapsed, ETA 0m00s"
