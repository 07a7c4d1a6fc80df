"""`train --seeds` and `claims` on worker processes: the same per-seed results, verdicts and figures as one after
the other in this process, and the report says where they ran."""

import json

import pytest

from core.cli.train import main as train_main
from core.runs.claims_report import run_all
from core.workers.pool import Where

TIMING = ("elapsed_s", "steps_per_second")


def _seeds(path):
    rep = json.loads(path.read_text())
    return rep, [{k: v for k, v in s.items() if k not in TIMING} for s in rep["seeds"]]


def test_train_seeds_on_2_workers_equals_in_process(tmp_path):
    args = ["--preset", "question-fixed", "--steps", "400", "--eval-steps", "100", "--lr", "3e-2", "--seeds", "3",
            "--quiet"]
    assert train_main([*args, "--workers", "1", "--report", str(tmp_path / "one.json")]) == 0
    assert train_main([*args, "--workers", "2", "--report", str(tmp_path / "two.json")]) == 0
    one, one_seeds = _seeds(tmp_path / "one.json")
    two, two_seeds = _seeds(tmp_path / "two.json")
    assert one_seeds == two_seeds and [s["seed"] for s in two_seeds] == [0, 1, 2]
    assert one["where"]["executor"] == "in-process" and two["where"]["workers"] == 2


@pytest.mark.slow  # starts processes of its own (workers / a window process)
def test_claims_on_2_workers_give_the_same_verdicts_and_figures():
    one = run_all(2, ["cannot-cope", "window-vs-rtrl"], 0.02)
    two = run_all(2, ["cannot-cope", "window-vs-rtrl"], 0.02, where=Where(2))
    strip = [[{k: c[k] for k in ("key", "verdict", "measured", "why", "figures")} for c in r["claims"]]
             for r in (one, two)]
    assert json.dumps(strip[0], sort_keys=True, default=str) == json.dumps(strip[1], sort_keys=True, default=str)
    assert two["where"]["workers"] == 2 and one["where"]["executor"] == "in-process"


def test_a_claim_on_workers_is_charged_the_training_time_of_the_runs_it_first_uses(monkeypatch):
    """The next ETA reads each claim's time from the shipped report: a claim judged from runs the workers trained
    must carry those runs' training seconds (each run charged once, to the first claim that uses it)."""
    from core.config import preset
    from core.runs import claim_runs
    from core.workers.tasks import Finished

    def fake_tasks(tasks, where):
        for i, t in enumerate(tasks):
            yield Finished(t.key, {"elapsed_s": 10.0 + i})

    monkeypatch.setattr(claim_runs, "run_tasks", fake_tasks)
    cache = claim_runs.RunCache()
    cfg = preset("question-fixed")
    cache.prefetch([cfg], [0, 1], Where(2))
    assert cache.take_charged() == 0.0
    cache.reports(cfg, [0, 1])
    assert cache.take_charged() == 10.0 + 11.0  # both runs, each once
    cache.reports(cfg, [0, 1])  # a second claim sharing them pays nothing
    assert cache.take_charged() == 0.0
