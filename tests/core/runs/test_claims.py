"""The thread's claims: each is listed with a loadable config and a rule; a run gives every claim a verdict; the
command line writes the JSON report and the markdown table; the shipped results cover every claim."""

import json

import pytest

import main as app_main
from core.cli import claims as claims_cli
from core.config import Config
from core.runs.claim_runs import scaled, steps_to_learn
from core.runs.claims import CLAIMS, VERDICTS, RunCache, claim_by_key, run_claim
from core.runs.claims_report import NOT_MEASURED, load_shipped, run_all, thread_items, to_markdown

TINY = 0.02  # a smoke scale: 400 online steps, 2 epochs of 200 sequences


def test_every_claim_is_listed_with_quote_config_and_rule():
    keys = [c.key for c in CLAIMS]
    assert len(keys) == len(set(keys)) == 8
    for c in CLAIMS:
        assert c.title and c.quote and c.look_at and c.holds_if and c.who in ("question", "answer", "this app")
        assert Config.from_dict(c.to_dict()["config"]) == c.config  # loadable as it is listed
        for _label, cfg in c.compare:
            cfg.validate()
    assert claim_by_key("answer-learns").config.model.init == "keras"
    with pytest.raises(KeyError, match="unknown claim"):
        claim_by_key("nope")


def test_scaled_shortens_only_for_smoke_runs():
    cfg = claim_by_key("cannot-cope").config
    assert scaled(cfg, 1.0) == cfg
    s = scaled(cfg, TINY)
    assert s.train.steps == 400 and s.model == cfg.model and s.task == cfg.task


def test_steps_to_learn_is_the_first_logged_step_at_threshold():
    rep = {"history": {"step": [500, 1000, 1500], "accuracy": [0.7, 0.995, 1.0]}}
    assert steps_to_learn(rep) == 1000
    assert steps_to_learn({"history": {"step": [500], "accuracy": [0.9]}}) is None


@pytest.mark.slow
def test_a_run_gives_every_claim_a_verdict_and_a_table():
    lines = []
    rep = run_all(seeds=1, scale=TINY, progress=lines.append)
    assert [c["key"] for c in rep["claims"]] == [c.key for c in CLAIMS]
    for c in rep["claims"]:
        assert c["verdict"] in VERDICTS and c["measured"] and c["why"] and c["seeds"] == [0]
    assert sum(": " in ln and "(" in ln for ln in lines) >= 2 * len(CLAIMS)  # a start and an end line per claim
    json.dumps(rep, allow_nan=False)
    md = to_markdown(rep)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and not ln.startswith("| #")]
    assert len(rows) == len(CLAIMS) and "Smoke run" in md
    assert all(any(v in row for v in VERDICTS) for row in rows)


def test_runs_are_shared_between_claims():
    cache = RunCache(scale=TINY)
    run_claim(claim_by_key("readout-fixes"), [0], cache)
    n = len(cache._reports)
    run_claim(claim_by_key("cannot-cope"), [0], cache)  # the same two online configs
    assert len(cache._reports) == n


def test_thread_items_without_and_with_a_report():
    items = thread_items({"claims": []})
    assert [i["key"] for i in items] == [c.key for c in CLAIMS]
    assert all(i["verdict"] == NOT_MEASURED and i["config"] and i["look_at"] for i in items)
    got = thread_items({"claims": [{"key": "cannot-cope", "verdict": "holds", "measured": "m", "why": "w"}]})
    assert got[0]["verdict"] == "holds" and got[1]["verdict"] == NOT_MEASURED


def test_shipped_results_cover_every_claim_from_a_real_run():
    rep = load_shipped()
    assert rep is not None, "resources/claims.json is missing"
    assert len(rep["seeds"]) >= 8 and rep["scale"] == 1 and not rep["interrupted"]
    # every claim listed in CLAIMS has exactly one measured verdict in the file, none left unmeasured
    assert sorted(c["key"] for c in rep["claims"]) == sorted(c.key for c in CLAIMS)
    items = thread_items(rep)
    assert [i["key"] for i in items] == [c.key for c in CLAIMS]
    assert all(i["verdict"] in VERDICTS and i["verdict"] != NOT_MEASURED for i in items)
    assert all(c["measured"] and c["why"] for c in rep["claims"])  # each verdict rests on a figure and a reason
    assert load_shipped("/nonexistent/claims.json") is None


@pytest.mark.parametrize("args, text", [
    (["--seeds", "0"], "--seeds"), (["--only", "nope"], "unknown claim"), (["--scale", "2"], "--scale"),
    (["--bogus"], "unrecognized"),
])
def test_bad_arguments_exit_2_with_one_line(args, text, capsys):
    try:
        code = app_main.main(["claims", *args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1


def test_command_writes_report_and_markdown(tmp_path, capsys):
    js, md = tmp_path / "c.json", tmp_path / "c.md"
    code = claims_cli.main(["--seeds", "1", "--only", "readout-fixes", "--scale", str(TINY),
                               "--report", str(js), "--markdown", str(md)])
    assert code == 0
    rep = json.loads(js.read_text())
    assert [c["key"] for c in rep["claims"]] == ["readout-fixes"] and rep["elapsed_s"] > 0
    assert "readout-fixes" in capsys.readouterr().out and "| 1 | answer |" in md.read_text()
    assert claims_cli.main(["--seeds", "1", "--only", "readout-fixes", "--scale", str(TINY),
                               "--report", str(tmp_path / "no" / "dir" / "c.json")]) == 2  # checked first
