"""Multi-seed runs: the learned rule, incremental results, reproducibility and the runner's --seeds flag."""

import json
import math

from core.analysis.verdict import SOLVED
from core.cli.train import main, train
from core.config import preset
from core.messages import SeedResult
from core.runs.seeds import iter_seeds, seed_list, seed_outcome, summarize

# online, lag 0 COPY at lr 1e-2: learned within 300 steps by every seed tried
EASY = preset("question-fixed").replace(kind="copy", lag=0, p=0.5, lr=1e-2, steps=300, eval_steps=200)
# the question, far too short to learn anything: held-out accuracy near the base rate 0.75
HARD = preset("question").replace(steps=300, eval_steps=200)
BATCH = preset("answer").replace(n_sequences=200, seq_len=16, epochs=2, batch_size=32)
# the answer (2 units, 1 - x) shrunk: 400 sequences of 16, 5 epochs at lr 3e-2 reach val_accuracy 1.0
BATCH_EASY = preset("answer").replace(n_sequences=400, seq_len=16, epochs=5, batch_size=32, lr=3e-2)


def run_seeds(cfg, seeds, out=None):
    """All seeds, one line each to `out` and then the summary line, as `main.py train --seeds` prints them."""
    results = []
    for r in iter_seeds(cfg, seeds):
        results.append(r)
        if out is not None:
            out(r.line())
    summary = summarize(results)
    if out is not None:
        out(summary.line())
    return summary


def _report(mode_final, history=None):
    return {"final": mode_final, "history": history or {}}


def test_judge_online_uses_held_out_accuracy():
    cfg = EASY
    held = _report({"heldout_accuracy": 0.99, "heldout_steps": 100})
    assert seed_outcome(cfg, held) == (True, "heldout_accuracy", 0.99)
    assert seed_outcome(cfg, _report({"heldout_accuracy": 0.989, "heldout_steps": 100}))[0] is False
    # no held-out steps: falls back to the last logged training accuracy, and says so
    no_eval = _report({"heldout_accuracy": 0.0, "heldout_steps": 0}, {"accuracy": [0.5, 1.0]})
    assert seed_outcome(cfg, no_eval) == (True, "accuracy", 1.0)
    learned, metric, value = seed_outcome(cfg, _report({"heldout_steps": 0}))
    assert learned is False and metric == "accuracy" and math.isnan(value)


def test_judge_batch_uses_final_val_accuracy():
    cfg = BATCH
    assert seed_outcome(cfg, _report({"val_accuracy": 1.0, "accuracy": 0.5})) == (True, "val_accuracy", 1.0)
    assert seed_outcome(cfg, _report({"val_accuracy": 0.98, "accuracy": 1.0}))[0] is False
    # no validation data (NaN): the training accuracy decides
    assert seed_outcome(cfg, _report({"val_accuracy": float("nan"), "accuracy": 0.995})) == (True, "accuracy", 0.995)
    assert seed_outcome(cfg, _report({"val_accuracy": 0.995}), threshold=0.999)[0] is False


def test_seed_list_counts_up_from_the_config_seed():
    assert seed_list(EASY.replace(seed=7), 3) == [7, 8, 9]
    assert seed_list(EASY, 0) == []


def test_iter_seeds_is_incremental_and_in_order():
    gen = iter_seeds(EASY.replace(seed=5), 3)
    first = next(gen)  # one seed trained, the others not yet
    assert isinstance(first, SeedResult) and first.seed == 5
    rest = list(gen)
    assert [r.seed for r in rest] == [6, 7]
    for r in [first, *rest]:
        assert r.learned and r.metric == "heldout_accuracy" and r.value >= SOLVED
        assert r.final["heldout_steps"] == 200 and r.elapsed_s > 0 and r.params > 0


def test_iter_seeds_reproduces_a_single_run():
    cfg = HARD.replace(seed=2)
    (r,) = list(iter_seeds(cfg, [2]))
    direct = train(cfg, log_every=10**6, out=lambda *_: None)
    assert r.final == direct["final"]


def test_run_seeds_counts_learned_and_prints_one_line_per_seed():
    lines = []
    summary = run_seeds(HARD, 2, out=lines.append)
    assert summary.n_seeds == 2 and summary.seeds == [0, 1]
    assert summary.n_learned == 0  # 300 steps of the question learn nothing
    assert all(0.6 < r.value < 0.9 for r in summary.results)
    assert lines[:2] == [r.line() for r in summary.results] and lines[2] == "learned 0/2"
    assert "did not learn" in lines[0]
    d = summary.to_dict()
    assert d["learned"] == 0 and len(d["results"]) == 2 and d["results"][0]["seed"] == 0
    mixed = summarize([*run_seeds(EASY, 1).results, *summary.results])
    assert mixed.n_learned == 1 and mixed.line() == "learned 1/3"


def test_batch_seeds_use_val_accuracy():
    short = run_seeds(BATCH, 2)  # two epochs of lr 1e-3: not learned
    assert [r.metric for r in short.results] == ["val_accuracy", "val_accuracy"]
    assert [r.value for r in short.results] == [r.final["val_accuracy"] for r in short.results]
    assert short.n_learned == 0 and all(r.value < 0.99 for r in short.results)
    easy = run_seeds(BATCH_EASY, 2)
    assert easy.n_learned == 2 and all(r.final["val_accuracy"] >= 0.99 for r in easy.results)


def test_runner_seeds_flag(tmp_path, capsys):
    report = tmp_path / "r.json"
    rc = main(["--preset", "question-fixed", "--kind", "copy", "--lag", "0", "--p", "0.5", "--lr", "0.01",
               "--steps", "300", "--eval-steps", "200", "--seed", "3", "--seeds", "3", "--report", str(report)])
    assert rc == 0
    cap = capsys.readouterr()
    err, out = cap.err.splitlines(), cap.out.splitlines()  # progress on stderr, the JSON line alone on stdout
    seed_lines = [ln for ln in err if ln.startswith("seed ")]
    assert [ln.split(":")[0] for ln in seed_lines] == ["seed 3", "seed 4", "seed 5"]
    assert "learned 3/3" in err
    assert not any(ln.startswith("step ") for ln in err)  # one line per seed, no per-step progress
    assert len(out) == 1
    final = json.loads(out[-1])
    assert final["final"]["learned"] == 3 and final["final"]["n_seeds"] == 3
    data = json.loads(report.read_text())
    assert [s["seed"] for s in data["seeds"]] == [3, 4, 5]
    assert all(s["learned"] and s["final"]["heldout_accuracy"] >= 0.99 for s in data["seeds"])
    assert data["config"]["train"]["seed"] == 3


def test_runner_seeds_quiet_and_bad_values(capsys):
    assert main(["--preset", "question", "--steps", "50", "--eval-steps", "20", "--seeds", "2", "--quiet"]) == 0
    cap = capsys.readouterr()
    out = cap.out.splitlines()
    assert len(out) == 1 and json.loads(out[0])["final"]["n_seeds"] == 2
    assert cap.err == ""  # --quiet: nothing but warnings and errors on stderr
    assert main(["--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_runner_single_seed_is_unchanged(capsys):
    assert main(["--steps", "50", "--eval-steps", "20", "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.splitlines()[-1])["final"]
    assert "heldout_accuracy" in final and "learned" not in final
