"""The figures the claims are judged from and the plumbing around them, with the training replaced by fakes: the
shortened smoke configs, each run's cost, the run cache (trained once, prefetched on workers, its time charged
once), the model looked inside, the distributions and their text, the claims' lists and `run_claim` itself."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

import core.analysis.probes
import core.train.loop
import core.train.online
from core.config import preset
from core.runs import claim_runs, claims
from core.runs.claim_runs import (
    RunCache,
    batch_figures,
    by_count,
    dist,
    dist_text,
    online_figures,
    run_cost,
    scaled,
    steps_to_learn,
    stl_text,
    train_run,
)
from core.runs.claims import CLAIMS, Claim, ClaimResult, claim_by_key, run_claim, runs_of
from core.runs.claims_cells import CELL_RUNS, _part, _runs, cell_words, cells_verdict
from core.workers.tasks import Finished, Missing

Q, QF, A = preset("question"), preset("question-fixed"), preset("answer")


def key(cfg) -> str:
    return json.dumps(cfg.to_dict(), sort_keys=True)


# -- scaled, run_cost, train_run ------------------------------------------------------------------------------
def test_scaled_at_half_halves_each_length():
    s = scaled(Q, 0.5)
    t = s.train
    assert (t.steps, t.eval_steps, t.epochs, t.n_sequences) == (10_000, 500, 25, 5_000)
    assert s == Q.replace(steps=10_000, eval_steps=500, epochs=25, n_sequences=5_000)


def test_scaled_never_goes_below_its_floors():
    t = scaled(Q, 0.001).train
    assert (t.steps, t.eval_steps, t.epochs, t.n_sequences) == (200, 100, 2, 200)


def test_scaled_at_1_or_more_is_the_config_itself_even_below_the_floors():
    short = Q.replace(eval_steps=0, epochs=1)
    assert scaled(short, 1.0) is short and scaled(short, 3.0) is short


def test_run_cost_is_online_steps_or_batch_sequence_steps_over_8():
    assert run_cost(Q) == 21_000  # 20,000 steps + 1,000 held out
    assert run_cost(A) == 2_000_000  # 50 epochs x 10,000 sequences x 32 steps / 8


def test_train_run_logs_every_500_steps_silently_without_epoch_lines(monkeypatch):
    seen = {}

    def fake_train(cfg, log_every, out, epoch_lines):
        seen.update(cfg=cfg, log_every=log_every, said=out("a line"), epoch_lines=epoch_lines)
        return {"r": 1}

    monkeypatch.setattr(claim_runs, "train", fake_train)
    assert train_run(Q) == {"r": 1}
    assert seen == {"cfg": Q, "log_every": 500, "said": None, "epoch_lines": False}


# -- RunCache -------------------------------------------------------------------------------------------------
@pytest.fixture
def trained(monkeypatch):
    """train_run replaced: records each config it is asked for and reports its seed and 2.5 s."""
    calls = []

    def fake(c):
        calls.append(c)
        return {"seed": c.train.seed, "elapsed_s": 2.5}

    monkeypatch.setattr(claim_runs, "train_run", fake)
    return calls


def test_reports_trains_each_scaled_seed_once_and_says_so(trained):
    lines = []
    cache = RunCache(scale=0.5, on_run=lines.append)
    assert cache.scale == 0.5 and cache.charged_s == 0.0
    first = cache.reports(Q, [1, 2])
    assert trained == [scaled(Q, 0.5).replace(seed=1), scaled(Q, 0.5).replace(seed=2)]
    assert [r["seed"] for r in first] == [1, 2] and lines == ["seed 1", "seed 2"]
    again = cache.reports(Q, [2, 3])
    assert len(trained) == 3 and trained[-1] == scaled(Q, 0.5).replace(seed=3) and lines[-1] == "seed 3"
    assert again[0] is first[1] and again[1]["seed"] == 3
    assert cache.take_charged() == 0.0  # trained here: nothing to charge


def test_reports_without_a_progress_callback(trained):
    cache = RunCache()
    assert cache.scale == 1.0 and cache.on_run is None
    assert cache.reports(QF, [0]) == [{"seed": 0, "elapsed_s": 2.5}] and trained == [QF.replace(seed=0)]


def fake_tasks(monkeypatch, elapsed):
    """run_tasks replaced: every task but the last finishes with its elapsed_s from `elapsed`, the last is
    Missing (a dead worker took it twice); records the tasks and where they ran."""
    seen = {}

    def run(tasks, where):
        seen.update(tasks=list(tasks), where=where)
        for t, e in zip(seen["tasks"][:-1], elapsed):
            yield Finished(t.key, {"seed": t.args[0].train.seed, "elapsed_s": e})
        yield Missing(seen["tasks"][-1].key, "lost")

    monkeypatch.setattr(claim_runs, "run_tasks", run)
    return seen


def test_prefetch_sends_each_run_not_yet_cached_as_one_task(monkeypatch, trained):
    lines = []
    cache = RunCache(scale=0.5, on_run=lines.append)
    cache.reports(Q, [0])
    lines.clear()
    seen = fake_tasks(monkeypatch, [4.0, None])
    cache.prefetch([Q, QF], [0, 1, 2], "two workers")
    want = [scaled(c, 0.5).replace(seed=s) for c, s in ((Q, 1), (Q, 2), (QF, 0), (QF, 1), (QF, 2))]
    assert seen["where"] == "two workers"
    assert [(t.key, t.fn, t.args, t.cost) for t in seen["tasks"]] == [
        (key(c), claim_runs.train_run, (c,), run_cost(c)) for c in want]
    assert lines == ["seed 1", "seed 2"]  # the two that finished; the missing one is not announced


def test_a_prefetched_run_is_used_without_training_and_its_time_charged_once(monkeypatch, trained):
    cache = RunCache(scale=0.5)
    fake_tasks(monkeypatch, [4.0, None])
    cache.prefetch([Q], [0, 1, 2], "w")
    assert cache.reports(Q, [0, 1]) == [{"seed": 0, "elapsed_s": 4.0}, {"seed": 1, "elapsed_s": None}]
    assert trained == []
    assert cache.take_charged() == 4.0 and cache.take_charged() == 0.0  # taken, then reset
    cache.reports(Q, [0, 1])
    assert cache.take_charged() == 0.0  # charged to the first claim only
    cache.reports(Q, [2])  # the missing one is trained here
    assert trained == [scaled(Q, 0.5).replace(seed=2)] and cache.charged_s == 0.0


def test_take_charged_returns_the_seconds_and_resets_them():
    cache = RunCache()
    cache.charged_s = 7.5
    assert cache.take_charged() == 7.5 and cache.charged_s == 0.0


@pytest.fixture
def trainer(monkeypatch):
    """OnlineTrainer, train_unit and memory_probe replaced: unit `stop` diverges (None: none does); each held-out
    step n gives x = n % 2, h = (n, -n), y_hat = n / 10."""
    log = {"made": [], "units": [], "probe": [], "stop": None}

    class Trainer:
        def __init__(self, c):
            log["made"].append(c)
            self.n = 0

        def step(self, train=True):
            assert train is False
            self.n += 1
            return SimpleNamespace(x=self.n % 2, h=np.array([self.n, -self.n]), y_hat=self.n / 10)

    def unit(tr, done):
        log["units"].append(done)
        return SimpleNamespace(diverged="nan" if done == log["stop"] else None)

    def probe(h, x, max_lag):
        log["probe"].append((h.shape, x.shape, max_lag))
        return "the probe"

    monkeypatch.setattr(core.train.online, "OnlineTrainer", Trainer)
    monkeypatch.setattr(core.train.loop, "train_unit", unit)
    monkeypatch.setattr(core.analysis.probes, "memory_probe", probe)
    return log


def test_inside_trains_every_step_then_reads_2000_held_out_steps(trainer):
    cache = RunCache(scale=0.01)
    got = cache.inside(Q, 4)
    assert trainer["made"] == [scaled(Q, 0.01).replace(seed=4)]
    assert trainer["units"] == list(range(200))
    n = np.arange(1, 2001)
    assert np.array_equal(got["x"], n % 2) and np.array_equal(got["y_hat"], n / 10)
    assert np.array_equal(got["h"], np.stack([n, -n], axis=1))
    assert got["probe"] == "the probe" and trainer["probe"] == [((2000, 2), (2000,), 4)]
    assert cache.inside(Q, 4) is got and len(trainer["made"]) == 1  # trained once
    cache.inside(Q, 5)
    assert trainer["made"][-1] == scaled(Q, 0.01).replace(seed=5)


def test_inside_looks_at_a_diverged_run_where_it_stopped(trainer):
    trainer["stop"] = 7
    got = RunCache(scale=0.01).inside(QF, 0)
    assert trainer["units"] == list(range(8)) and got["h"].shape == (2000, 2)


# -- the distributions and their words ------------------------------------------------------------------------
def test_dist_is_the_median_the_range_and_the_values_as_floats():
    d = dist(np.array([3, 1, 2, 10]))
    assert d == {"median": 2.5, "min": 1.0, "max": 10.0, "values": [3.0, 1.0, 2.0, 10.0]}
    assert all(type(v) is float for v in d["values"])


def test_dist_text_formats_median_and_range():
    d = {"median": 0.5, "min": 0.25, "max": 1500.0}
    assert dist_text(d) == "median 0.500 [0.250, 1500.000]"
    assert dist_text(d, ",.0f") == "median 0 [0, 1,500]"
    nan = float("nan")  # a diverged seed's held-out accuracy
    assert dist_text({"median": nan, "min": nan, "max": nan}) == "median nan [nan, nan]"


def test_steps_to_learn_takes_the_first_step_at_or_over_the_threshold():
    rep = {"history": {"step": [500, 1000, 1500, 2000], "accuracy": [0.5, 0.99, 0.7, 1.0]}}
    assert steps_to_learn(rep) == 1000
    assert steps_to_learn(rep, 0.995) == 2000 and steps_to_learn(rep, 0.4) == 500
    assert steps_to_learn(rep, 1.01) is None


def test_stl_text_says_how_many_never_learned():
    assert stl_text([None, None]) == "none reached 0.99"
    assert stl_text([]) == "none reached 0.99"
    assert stl_text([1000]) == "steps to learn median 1,000 [1,000, 1,000]"
    assert stl_text([1000, None, 3000, None]) == "steps to learn median 2,000 [1,000, 3,000], 2 never"


@pytest.mark.parametrize("k, verdict", [(3, "holds"), (2, "holds with a caveat"), (1, "holds with a caveat"),
                                        (0, "does not hold")])
def test_by_count_holds_on_every_seed_a_caveat_on_some_and_not_on_none(k, verdict):
    assert by_count(k, 3) == verdict


class Reports(RunCache):
    def __init__(self, reps, scale=1.0):
        super().__init__(scale)
        self.reps = reps

    def reports(self, cfg, seeds):
        return self.reps


def test_online_figures_count_learned_seeds_and_read_the_scaled_steps():
    def rep(acc, steps):
        return {"final": {"heldout_accuracy": acc, "heldout_loss": 0.1, "heldout_steps": 100},
                "history": {"step": steps, "accuracy": [0.995] * len(steps)}}

    f = online_figures(Reports([rep(0.99, [500]), rep(0.989, []), rep(1.0, [1000, 1500])], 0.5), Q, [7, 8, 9])
    assert f == {"learned": 2, "n": 3, "heldout": dist([0.99, 0.989, 1.0]), "steps_to_learn": [500, None, 1000],
                 "failed_seeds": [8], "diverged_seeds": [], "steps": 10_000}


def test_batch_figures_read_epochs_1_10_last_and_the_one_asked_for():
    def rep(base, last_val):
        return {"params": 33, "history": {"loss": [base + e for e in range(50)],
                                          "val_loss": [base + e / 100 for e in range(49)] + [last_val]}}

    f = batch_figures(Reports([rep(0.0, 0.1), rep(1.0, 0.2)]), A, [5, 6], also=20)
    assert sorted(f["loss"]) == sorted(f["val_loss"]) == [1, 10, 20, 50]
    assert f["loss"][1]["values"] == [0.0, 1.0] and f["loss"][10]["values"] == [9.0, 10.0]
    assert f["loss"][50]["values"] == [49.0, 50.0] and f["val_loss"][20]["values"] == [0.19, 1.19]
    assert f["val_loss"][50]["values"] == [0.1, 0.2]
    assert (f["params"], f["epochs"], f["n"], f["stalled"], f["stalled_seeds"]) == (33, 50, 2, 1, [6])
    assert f["constant_loss"] == 0.25


@pytest.mark.parametrize("also, epochs", [(None, [1, 4]), (0, [1, 4]), (1, [1, 4]), (2, [1, 2, 4]), (4, [1, 4]),
                                          (5, [1, 4])])
def test_batch_figures_of_a_short_run_read_only_epochs_it_has(also, epochs):
    cfg = A.replace(epochs=4)
    rep = {"params": 33, "history": {"loss": [1.0, 2.0, 3.0, 4.0], "val_loss": [0.4, 0.3, 0.2, 0.1]}}
    f = batch_figures(Reports([rep]), cfg, [0], also=also)
    assert sorted(f["loss"]) == epochs and f["stalled"] == 0 and f["epochs"] == 4


# -- the claims' lists and run_claim --------------------------------------------------------------------------
def test_claim_to_dict_lists_every_field():
    cl = claim_by_key("eight-units")
    assert cl.to_dict() == {"key": "eight-units", "title": "8 units converge faster", "who": "answer",
                            "quote": cl.quote, "config": cl.config.to_dict(), "look_at": cl.look_at,
                            "holds_if": cl.holds_if, "compare": [{"label": "2 units", "config": A.to_dict()}],
                            "label": ""}
    assert claim_by_key("cells-cope").to_dict()["label"] == "rnn, raw state"


def test_claim_result_to_dict_lists_every_field():
    r = ClaimResult("k", "holds", "m", "w", (1, 2), 3.5, {"f": 1})
    assert r.to_dict() == {"key": "k", "verdict": "holds", "measured": "m", "why": "w", "seeds": [1, 2],
                           "elapsed_s": 3.5, "figures": {"f": 1}}
    assert ClaimResult("k", "v", "m", "w", (0,), 0.0).figures == {}


def test_an_unknown_claim_names_the_choices():
    with pytest.raises(KeyError) as e:
        claim_by_key("nope")
    assert e.value.args[0] == ("unknown claim 'nope'; choose from cannot-cope, answer-learns, eight-units, "
                               "readout-fixes, unreliable, tanh-range, window-vs-rtrl, cells-cope")
    assert claim_by_key("cells-cope") is CLAIMS[-1]


def test_runs_of_each_claim():
    for cl in CLAIMS:
        others = [c for _, c in cl.compare]
        if cl.key == "cannot-cope":
            assert runs_of(cl) == (cl.config, QF) and others == []
        elif cl.key == "tanh-range":
            assert runs_of(cl) == (Q.replace(lag=0),)
        else:
            assert runs_of(cl) == (cl.config, *others)
    assert len(runs_of(claim_by_key("unreliable"))) == 5


def test_run_claim_times_the_measure_and_adds_the_workers_training_it_first_used(monkeypatch):
    clock = iter([10.0, 10.5])
    monkeypatch.setattr(claims, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    seen = {}

    def measure(cl, seeds, cache):
        seen.update(cl=cl, seeds=seeds, cache=cache, charged_before=cache.charged_s)
        cache.charged_s += 2.0  # a prefetched run this claim used first
        return "holds", "m", "w", {"f": 1}

    monkeypatch.setitem(claims.MEASURES, "readout-fixes", measure)
    cache = RunCache()
    cache.charged_s = 5.0  # charged to an earlier claim: not this one's
    res = run_claim(claim_by_key("readout-fixes"), np.array([3, 4]), cache)
    assert res == ClaimResult("readout-fixes", "holds", "m", "w", (3, 4), 2.5, {"f": 1})
    assert type(res.seeds[0]) is int and seen["seeds"] == (3, 4) and seen["cache"] is cache
    assert seen["charged_before"] == 0.0 and seen["cl"] is claim_by_key("readout-fixes")


def test_run_claim_makes_its_own_cache_and_needs_a_seed(monkeypatch):
    seen = {}
    monkeypatch.setitem(claims.MEASURES, "cannot-cope", lambda cl, s, c: seen.update(c=c) or ("v", "m", "w", {}))
    assert run_claim(claim_by_key("cannot-cope"), ["2"]).seeds == (2,)
    assert isinstance(seen["c"], RunCache) and seen["c"].scale == 1.0
    with pytest.raises(ValueError, match="^at least one seed is needed$"):
        run_claim(claim_by_key("cannot-cope"), [])


def test_a_claim_compares_nothing_and_has_no_label_by_default():
    assert Claim("k", "t", "who", "q", Q, "l", "h").compare == () and CLAIMS[0].label == ""


# -- cells-cope: its runs and words ---------------------------------------------------------------------------
def test_cell_runs_are_each_cell_on_the_raw_state_then_with_a_readout():
    want = [(f"{cell}, {what}", cfg.replace(cell=cell)) for cell in ("rnn", "gru", "lstm")
            for what, cfg in (("raw state", Q), ("readout", QF))]
    assert list(_runs()) == want and list(CELL_RUNS) == want


@pytest.mark.parametrize("k, words", [(3, "learns here"), (0, "fails here"), (1, "learns here on 1/3 seeds"),
                                      (2, "learns here on 2/3 seeds")])
def test_part_says_learns_fails_or_learns_on_k_of_n_seeds(k, words):
    assert _part(k, 3, "here") == words


def test_cell_words_put_the_readout_first():
    assert cell_words("lstm", (1, 2), (0, 2)) == "lstm: learns with a readout on 1/2 seeds, fails on the raw state"


@pytest.mark.parametrize("counts, verdict", [
    ({"a": {"r": (0, 2), "o": (2, 2)}, "b": {"r": (2, 2), "o": (0, 2)}}, "does not hold"),
    ({"a": {"r": (0, 2), "o": (0, 2)}, "b": {"r": (0, 2), "o": (0, 2)}}, "holds"),
    ({"a": {"r": (0, 2), "o": (1, 2)}, "b": {"r": (0, 2), "o": (0, 2)}}, "holds with a caveat"),
    ({"a": {"r": (0, 2), "o": (2, 2)}, "b": {"r": (1, 2), "o": (1, 2)}}, "holds with a caveat"),
])
def test_cells_verdict_from_each_cell_s_seed_counts(counts, verdict):
    assert cells_verdict(counts) == verdict
