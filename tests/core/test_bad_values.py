"""Issue 21, items 4 and 6: every bad value is refused before anything trains or allocates, with exit 2 and one
line that says why (no traceback): lenient number forms, values float32 cannot hold, counts memory follows."""

from __future__ import annotations

import pytest

from core.cli.claims import main as claims_main
from core.cli.sweep import main as sweep_main
from core.cli.train import main as train_main
from core.config import Config, ConfigError, batch_training_bytes, parse_float, parse_int

TRAIN = [
    (["--steps", "١٠"], "not an integer"),             # Arabic-Indic digits: int() takes them
    (["--steps", "1_0"], "not an integer"),            # int() takes the underscore
    (["--steps", " 1 0"], "not an integer"),
    (["--steps", "9" * 40], "not an integer"),
    (["--lr", "1e-320"], "denormal"),                  # a float64 denormal
    (["--lr", "1e-40"], "denormal"),                   # a float32 denormal
    (["--adam-eps", "1e-46"], "rounds to 0"),          # 0 in float32: NaN at step 1, blamed on the lr
    (["--lr", "nan"], "not a number"),
    (["--lr", "inf"], "not a number"),
    (["--lr", "1_0"], "not a number"),
    (["--p", "٠.٥"], "not a number"),
    (["--seeds", "0"], "--seeds"),
    (["--threads", "1_000"], "not an integer"),
    (["--preset", "answer", "--n-sequences", "1000000", "--seq-len", "20", "--batch-size", "1000000",
      "--units", "256"], "would need about"),
]
SWEEP = [
    (["--x", "lag=1:1000000000"], "at most 400"),
    (["--x", "lr=log:1e-4:1e-1:1000000000"], "between 1 and 400"),
    (["--x", "p=lin:0.1:inf:3"], "not a number"),
    (["--x", "p=lin:0.1:nan:3"], "not a number"),
    (["--x", "lag=" + ",".join(map(str, range(500)))], "at most 400"),
    (["--x", "lag=1,2", "--seeds", "1000000"], "--seeds"),
    (["--x", "lag=1", "--reach-window", "99999999999999999999"], "--reach-window"),
    (["--x", "lag=1", "--reach-window", "100001"], "--reach-window"),
    (["--x", "lag=1", "--max-batch", "1000000"], "--max-batch"),
    (["--x", "lag=1:4", "--seeds", "10000", "--max-batch", "65536", "--units", "256"], "GiB"),
    (["--x", "window=1:256", "--y", "lr=log:1e-4:1e-1:400", "--seeds", "10"], "learners"),
    (["--x", "lag=١"], "not an integer"),
]
CLAIMS = [(["--only", ""], "must not be empty"), (["--only", ","], "empty claim key"),
          (["--seeds", "1_0"], "not an integer"), (["--scale", "1e-320"], "denormal")]


def _refused(main, argv, why, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's type errors exit through Parser.error
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and why in lines[0], err


@pytest.mark.parametrize(("argv", "why"), TRAIN)
def test_train_refuses(argv, why, capsys):
    _refused(train_main, argv, why, capsys)


@pytest.mark.parametrize(("argv", "why"), SWEEP)
def test_sweep_refuses(argv, why, capsys):
    _refused(sweep_main, argv, why, capsys)


@pytest.mark.parametrize(("argv", "why"), CLAIMS)
def test_claims_refuses(argv, why, capsys):
    _refused(claims_main, argv, why, capsys)


def test_strict_parsers_take_ordinary_forms():
    assert [parse_int(t) for t in ("7", "+7", "-7", " 12 ")] == [7, 7, -7, 12]
    assert [parse_float(t) for t in ("1e-3", "0.5", ".5", "2", "-0", "1.2e-38")] == [1e-3, 0.5, 0.5, 2.0, 0.0,
                                                                                    1.2e-38]


def test_config_refuses_what_float32_cannot_hold_whatever_the_door():
    with pytest.raises(ConfigError, match="float32"):
        Config().replace(adam_eps=1e-46)
    assert float(__import__("numpy").float32(1e-46)) == 0.0  # the oracle: it is 0 where training runs


def test_the_batch_estimate_matches_the_issues_measured_peaks():
    # 2.7 GB (2 units) and 55 GB (256 units) measured for 1,000,000 x 20 sequences, batch 1,000,000
    assert 2.2e9 < batch_training_bytes(1_000_000, 20, 1_000_000, 0.1, 2) < 3.2e9
    assert 45e9 < batch_training_bytes(1_000_000, 20, 1_000_000, 0.1, 256) < 65e9
    Config.from_dict({"train": {"mode": "batch"}})  # the default batch run is far below the bound


@pytest.mark.parametrize(("main", "argv"), [
    (train_main, ["--log-every=--"]), (train_main, ["--threads=--"]), (train_main, ["--seeds=--"]),
    (train_main, ["--steps=--"]), (sweep_main, ["--x", "lag=1", "--reach-window=--"]), (sweep_main, ["--x=--"]),
    (claims_main, ["--seeds=--"]), (claims_main, ["--scale=--"])])
def test_a_dash_dash_value_is_a_bad_value_not_a_list(main, argv, capsys):
    # the badvalues probe (tests/reliability_runs.py): argparse hands `--flag=--` to the command as [] (a
    # TypeError traceback in check_args); it is the text '--', refused as any other
    _refused(main, argv, "--", capsys)


def test_the_windows_flags_take_dash_dash_as_text(capsys):
    from gui.app import build_parser

    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["--fps=--"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip() == ("error: argument --fps: '--' is not a number "
                                               "(ASCII digits, e.g. 0.001 or 1e-3; no inf or nan)")
    assert build_parser().parse_args(["--size=--"]).size == "--"  # text, refused by parse() as a bad size


@pytest.mark.parametrize("address", ["abc", "tcp://", "x" * 5000])
def test_a_scheduler_address_without_host_and_port_is_refused_before_a_client_is_made(address, capsys):
    # the badvalues probe: a Client made of 'abc' failed with the one line, then its __del__ timed out at exit
    # (8 s more, a TimeoutError traceback); now no Client is made
    pytest.importorskip("distributed")
    _refused(sweep_main, ["--x", "lag=1", "--scheduler", address], "not a scheduler address", capsys)
    _refused(claims_main, ["--scheduler", address], "not a scheduler address", capsys)
