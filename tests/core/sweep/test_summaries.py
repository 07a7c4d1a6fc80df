"""A sweep cell's summary (what the map, CSV and JSON show) computed exactly from hand-made learner results, and the
RTRL per-batch memory cap of the plan. Nothing trains here: the learners' results are written by hand and each
expected figure is worked out in the test from those numbers (statistics.median, min, a count), not from the code."""

import math
import statistics

import pytest

from core.config import Config
from core.sweep.grid import SweepCollector, parse_axis, plan_sweep


def _result(seed, *, learned, value, reach_step, diverged=False):
    return {"seed": seed, "learned": learned, "metric": "heldout_accuracy", "value": value, "heldout_loss": 0.1,
            "reach_step": reach_step, "diverged": diverged, "diverged_step": 7 if diverged else None}


def _collector(seeds: int) -> SweepCollector:
    return SweepCollector(plan_sweep(Config().replace(seed=100), [parse_axis("lag=1:2")], seeds))


# seeds 100..104 given out of order; two failing seeds (101, 104), so the first failing one is 101, the last 104
FIVE = [_result(104, learned=False, value=0.55, reach_step=None),
        _result(100, learned=True, value=0.97, reach_step=900),
        _result(102, learned=True, value=0.99, reach_step=300),
        _result(101, learned=False, value=0.61, reach_step=None),
        _result(103, learned=True, value=0.93, reach_step=1500)]


def test_cell_summary_is_exact_from_hand_made_results():
    col = _collector(5)
    done = [col.add(0, r) for r in FIVE]
    assert done == [False] * 4 + [True]
    c = col.cell_dict(0)
    assert c["done"] is True and c["n_seeds"] == 5
    assert c["learned"] == 3 and c["fraction"] == pytest.approx(3 / 5)
    # held-out figures: the median of {0.55, 0.97, 0.99, 0.61, 0.93} is 0.93 (not the min 0.55, not the mean 0.81)
    assert c["heldout"]["median"] == pytest.approx(0.93)
    assert c["heldout"]["min"] == pytest.approx(0.55)
    assert c["heldout"]["values"] == [0.97, 0.61, 0.99, 0.93, 0.55]  # in seed order 100..104
    assert c["seeds"] == [100, 101, 102, 103, 104]
    # reach steps 300, 900, 1500, never, never: the median of five is the third, 1500 (not the first, 300)
    assert c["reach"]["reached"] == 3
    assert c["reach"]["median_step"] == pytest.approx(1500.0)
    assert c["first_failing_seed"] == 101  # the lowest failing seed, not the last (104) nor the first added (104)
    assert c["diverged"] == 0 and c["diverged_seeds"] == []
    # what the cell is and what its figures mean, handed on as given
    plan = col.plan
    assert (c["index"], c["ix"], c["iy"], c["changes"]) == (0, 0, 0, {"lag": 1})
    assert c["metric"] == "heldout_accuracy"
    assert (c["reach"]["window"], c["reach"]["threshold"]) == (plan.reach_window, plan.threshold) == (1000, 0.99)
    assert col.cell_dict(1)["metric"] is None and col.cell_dict(1)["index"] == 1


def test_median_step_counts_never_as_later_than_any_step():
    """The median first-reach step is None as soon as half or more of the seeds never reached."""
    def median_step(steps):
        """The oracle: never = +inf, the statistics module's median, +inf shown as None."""
        m = statistics.median([math.inf if s is None else s for s in steps])
        return None if math.isinf(m) else float(m)

    cases = [[100, 200, 300, 400], [100, 200, 300, None], [100, 200, None, None], [100, None, None, None],
             [None, None, None, None], [50, 70, None, 60], [10, None, 30, 20]]
    for steps in cases:
        col = _collector(len(steps))
        for i, s in enumerate(steps):
            col.add(0, _result(100 + i, learned=s is not None, value=0.9, reach_step=s))
        got = col.cell_dict(0)["reach"]
        assert got["median_step"] == median_step(steps), steps
        assert got["reached"] == sum(s is not None for s in steps)
    # worked by hand for the doc's wording: 3 of 4 reached -> (200 + 300) / 2; 2 of 4 -> None; 2 of 3 -> 30
    assert median_step([100, 200, 300, None]) == 250.0 and median_step([100, 200, None, None]) is None
    assert median_step([10, None, 30]) == 30.0


def test_even_count_median_is_the_mean_of_the_middle_two():
    col = _collector(4)
    for seed, v in zip((100, 101, 102, 103), (0.2, 0.9, 0.4, 1.0)):
        col.add(0, _result(seed, learned=v > 0.5, value=v, reach_step=10 if v > 0.5 else None))
    c = col.cell_dict(0)
    assert c["heldout"]["median"] == pytest.approx((0.4 + 0.9) / 2)
    assert c["heldout"]["min"] == pytest.approx(0.2)
    assert c["fraction"] == pytest.approx(0.5) and c["first_failing_seed"] == 100


def test_diverged_learners_have_no_figure_and_all_learned_has_no_failing_seed():
    col = _collector(3)
    col.add(0, _result(100, learned=True, value=0.95, reach_step=40))
    col.add(0, _result(101, learned=False, value=float("nan"), reach_step=None, diverged=True))
    col.add(0, _result(102, learned=True, value=0.91, reach_step=60))
    c = col.cell_dict(0)
    assert c["diverged"] == 1 and c["diverged_seeds"] == [101]
    assert c["heldout"]["values"] == [0.95, None, 0.91]
    assert c["heldout"]["median"] == pytest.approx(0.93) and c["heldout"]["min"] == pytest.approx(0.91)
    assert c["first_failing_seed"] == 101
    col2 = _collector(2)
    col2.add(0, _result(100, learned=True, value=0.95, reach_step=40))
    col2.add(0, _result(101, learned=True, value=0.97, reach_step=20))
    c2 = col2.cell_dict(0)
    assert c2["first_failing_seed"] is None and c2["fraction"] == 1.0 and c2["reach"]["median_step"] == 30.0


def test_partial_cell_and_empty_cell():
    col = _collector(3)
    empty = col.cell_dict(1)
    assert empty["n_seeds"] == 0 and empty["fraction"] is None and empty["done"] is False
    assert empty["heldout"]["median"] is None and empty["heldout"]["min"] is None
    assert empty["reach"]["median_step"] is None and empty["first_failing_seed"] is None
    col.add(0, _result(102, learned=False, value=0.5, reach_step=None))
    part = col.cell_dict(0)
    assert part["done"] is False and part["n_seeds"] == 1 and part["fraction"] == 0.0
    rep = col.report(partial=False)
    assert rep["partial"] is True and rep["cells_done"] == 0 and rep["cells_total"] == 2


def _sensitivity_bytes(units: int) -> int:
    """RTRL carries two float32 sensitivity matrices per learner, units x (number of GRU weights), where a
    one-input GRU has 3 gates x (units x units recurrent + units x 1 input + 2 x units biases) weights."""
    n_weights = 3 * units * units + 3 * units * 1 + 2 * 3 * units
    return 2 * 4 * units * n_weights


@pytest.mark.parametrize("units", [32, 64])
def test_rtrl_batches_are_capped_to_512_mib_of_sensitivities(units):
    base = Config().replace(units=units, rule="rtrl")
    plan = plan_sweep(base, [parse_axis("lag=1:2")], 500, max_batch=4096)
    per_learner = _sensitivity_bytes(units)
    biggest = (512 * 2**20) // per_learner
    assert biggest < 1000  # the cap binds here (else this test would prove nothing)
    sizes = [len(b.members) for b in plan.batches]
    assert sum(sizes) == 1000
    assert max(sizes) * per_learner <= 512 * 2**20
    assert max(sizes) == biggest  # capped, not needlessly split further
    # the same sweep under TBPTT keeps max_batch: the cap is RTRL's alone
    tb = plan_sweep(base.replace(rule="tbptt"), [parse_axis("lag=1:2")], 500, max_batch=4096)
    assert [len(b.members) for b in tb.batches] == [1000]
