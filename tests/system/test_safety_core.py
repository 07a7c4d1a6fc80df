"""Nothing lost, nothing faked (issue 15), headless: divergence stops the runner (exit 3, report 'diverged',
seeds counted), outputs survive a full disk, paths and bounds are checked before training, flags a mode ignores
are named, and files cannot declare sizes that cost gigabytes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core import atomic_io
from core.cli import train as R
from core.config import Config, ConfigError, preset
from core.history import MAX_CAPACITY, DecimatingSeries, Ring
from core.live.engine import LiveEngine
from core.live.files import open_into
from core.messages import Start
from core.runs.headless import Diverged, advice, train
from core.runs.seeds import iter_seeds, summarize
from core.sessions.gmlab import SessionError, open_session, save_session, series_from_history, series_to_history
from core.train.trainer import make_trainer

DATA = Path(__file__).resolve().parents[1] / "data"
DIVERGE = ["--preset", "question-fixed", "--optimizer", "sgd", "--lr", "10", "--steps", "400", "--quiet"]


def quiet(*_):
    return None


# -- 1. divergence ----------------------------------------------------------------------------------------
def test_online_divergence_stops_at_the_first_nan_and_says_what_to_change():
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=10.0, steps=4000)
    rep = train(cfg, out=quiet)
    d = rep["final"]["diverged"]
    assert rep["final"]["verdict"]["code"] == "diverged"
    assert d["step"] < 100 and "nan" in d["what"]  # stopped at once, not after 4,000 steps on NaN
    assert d["message"].startswith(f"diverged at step {d['step']}: the loss became nan (lr 10 is likely too high "
                                   "for sgd; try 0.01)")
    assert np.isnan(rep["final"]["heldout_accuracy"])  # no plausible-looking figure from NaN weights


def test_batch_divergence_stops_mid_epoch():
    cfg = preset("answer").replace(optimizer="sgd", lr=100.0, n_sequences=2000, epochs=3)
    rep = train(cfg, out=quiet)
    assert rep["final"]["verdict"]["code"] == "diverged"
    assert rep["final"]["diverged"]["step"] <= 3 * 4


def test_advice_suggests_a_smaller_lr():
    assert advice(Config().replace(optimizer="adam", lr=0.5)).endswith("try 0.01")
    assert "try 0.001" in advice(Config().replace(optimizer="adam", lr=0.05))
    assert str(Diverged(Config(), 3, "the loss became inf")).startswith("diverged at step 3: the loss became inf")


def test_runner_exits_3_and_writes_a_diverged_report(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert R.main(DIVERGE + ["--report", str(out)]) == R.EXIT_DIVERGED == 3
    rep = json.loads(out.read_text())
    assert rep["final"]["verdict"]["code"] == "diverged" and rep["final"]["diverged"]["step"] >= 1
    assert "error: diverged at step" in capsys.readouterr().err
    assert "3 training diverged" in R.build_parser().format_help()


def test_seeds_count_diverged_seeds_as_diverged(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert R.main(DIVERGE + ["--seeds", "2", "--report", str(out)]) == 3
    rep = json.loads(out.read_text())
    assert rep["final"]["diverged"] == 2 and rep["final"]["learned"] == 0
    cfg = preset("question-fixed").replace(optimizer="sgd", lr=10.0, steps=200)
    summary = summarize(iter_seeds(cfg, 2))
    assert summary.n_diverged == 2 and summary.line() == "learned 0/2, diverged 2"
    assert all(r.diverged and "diverged at step" in r.line() for r in summary.results)


# -- 3. outputs on a full disk ---------------------------------------------------------------------------
def test_report_on_a_full_disk_keeps_the_old_file_and_says_so(tmp_path, capsys, full_disk):
    out = tmp_path / "r.json"
    out.write_text('{"old": true}')
    assert R.main(["--steps", "20", "--eval-steps", "10", "--quiet", "--report", str(out)]) == 1
    assert out.read_text() == '{"old": true}'
    err = capsys.readouterr().err
    assert "no space left on device" in err and "nothing was written" in err
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left


def test_sweep_and_claims_write_through_atomic_io():
    from core.cli import claims as C
    from core.cli import sweep as SC
    assert not hasattr(SC, "atomic_write_bytes")
    assert SC.write_files is atomic_io.write_files and C.write_files is atomic_io.write_files  # one unit each


def test_sweep_csv_on_a_full_disk_keeps_the_old_file(tmp_path, capsys, full_disk):
    import argparse

    from core.cli import sweep as SC
    from core.cli.flags import start_logging

    old = tmp_path / "s.csv"
    old.write_text("old\n")
    args = argparse.Namespace(report=None, csv=str(old), png=None, svg=None)
    start_logging(args)  # as main() does first: the command's messages go to stderr
    report = {"axes": [], "cells": []}
    assert SC.write_outputs(args, report) == 1
    assert old.read_text() == "old\n" and "nothing was written" in capsys.readouterr().err


# -- 4/8. checked before training -------------------------------------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["--report", ""], "--report: cannot write '': no file name given"),
    (["--report", "/nonexistent-folder/r.json"], "does not exist"),
    (["--threads", "100000000000000000000"], "--threads: must be between 1 and"),
    (["--threads", "2048"], "--threads: must be between 1 and"),
    (["--threads", "0"], "--threads"),
    (["--threads", "-5"], "--threads"),
    (["--seeds", "2000000"], "--seeds: must be between 1 and 10,000"),
    (["--mode", "batch", "--n-sequences", "10000000", "--seq-len", "100000"], "TiB"),
])
def test_bad_runner_input_is_one_line_and_exit_2_before_training(argv, says, capsys):
    assert R.main(argv + ["--steps", "1000000"]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_flags_the_mode_ignores_are_named(capsys):
    assert R.main(["--steps", "5", "--eval-steps", "0", "--batch-size", "3", "--quiet"]) == 0
    assert "note: --batch-size applies to batch mode only; ignored" in capsys.readouterr().err
    args = R.build_parser().parse_args(["--preset", "answer", "--window", "4", "--rule", "rtrl"])
    notes = R.ignored_notes(args, R.config_from_args(args))
    assert [n.split()[0] for n in notes] == ["--rule", "--window"]


# -- 6. sizes a file declares ----------------------------------------------------------------------------
def test_batch_data_size_is_bounded_before_allocating():
    with pytest.raises(ConfigError, match="would need about"):
        preset("answer").replace(n_sequences=1_000_000, seq_len=200)


def test_crafted_huge_batch_session_is_refused_quickly():
    assert (DATA / "huge_batch.gmlab").stat().st_size < 20_000
    with pytest.raises(SessionError, match="200,000,000 values"):
        open_session(DATA / "huge_batch.gmlab")


def test_capacities_are_bounded():
    for bad in (2**31, 0, MAX_CAPACITY + 2):
        with pytest.raises(ValueError):
            DecimatingSeries(bad)
    with pytest.raises(ValueError):
        Ring(2**31, 16)
    hist = series_to_history("loss", DecimatingSeries(8))
    hist["loss.state"][0] = 2**31
    with pytest.raises(SessionError, match="capacity"):
        series_from_history(hist, "loss")


def test_an_engine_step_count_of_1e300_is_refused(tmp_path):
    cfg = Config().replace(steps=50)
    tr = make_trainer(cfg)
    hist = {**series_to_history("loss", DecimatingSeries(8)), **series_to_history("accuracy", DecimatingSeries(8)),
            "engine": np.array([1e300, 0.5, 0.0])}
    save_session(tmp_path / "s.gmlab", tr, hist)
    eng = LiveEngine(cfg)
    res = open_into(eng, str(tmp_path / "s.gmlab"))
    assert not res.ok and "step count" in res.error and eng.steps == 0


# -- stop exactly at the step asked (--quit-after-steps) ----------------------------------------------------
def test_start_until_pauses_exactly_there():
    eng = LiveEngine(Config().replace(steps=5000))
    eng.start(until=700)
    while eng.running:
        eng.advance(0.05)
    assert eng.steps == 700
    eng.start(until=700)  # already there: stays paused
    assert not eng.running
    assert Start(until=-1).problem() and Start(until=5).problem() is None and Start().problem() is None


def test_csv_on_a_full_disk_keeps_the_old_file(tmp_path, full_disk):
    from core.sessions.csv_export import ExportError, export_history_csv
    old = tmp_path / "h.csv"
    old.write_text("old\n")
    with pytest.raises(ExportError, match="no space left on device"):
        export_history_csv(old, {"step": np.arange(3), "loss": np.ones(3)})
    assert old.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["h.csv"]


def test_stale_temp_files_are_cleaned_on_the_next_report(tmp_path):
    stale = tmp_path / ".r.json.abcdefgh.gml-tmp.json"
    stale.write_bytes(b"x" * 100)
    os.utime(stale, (1, 1))
    R.write_json_report(str(tmp_path / "r.json"), {"final": {}})
    assert not stale.exists() and json.loads((tmp_path / "r.json").read_text()) == {"final": {}}
