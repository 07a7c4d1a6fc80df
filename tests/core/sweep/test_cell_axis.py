"""The sweep's cell axis: cell=rnn,gru,lstm parses, labels the map with the cells' names, keeps each cell's learners
in batches of their own, equals the single runs of the same seeds, and refuses an unknown cell with one line."""

import pytest

from core.config import preset
from core.runs.seeds import iter_seeds
from core.sweep.grid import AxisError, SweepCollector, parse_axis, plan_sweep, run_sweep
from core.sweep.render import title


def test_the_cell_axis_parses_and_labels_with_the_cells_names():
    a = parse_axis("cell=rnn,gru,lstm")
    assert a.field == "cell" and a.values == ("rnn", "gru", "lstm") and a.labels == ["rnn", "gru", "lstm"]
    plan = plan_sweep(preset("question-fixed"), [parse_axis("lag=1:2"), a], 3)
    assert [c.cfg.model.cell for c in plan.cells] == ["rnn", "gru", "lstm"] * 2
    for b in plan.batches:  # learners of different cells never share a batch
        assert len({plan.cells[c].cfg.model.cell for c, _ in b.members}) == 1
    assert len(plan.batches) == 3
    rep = SweepCollector(plan).report(partial=True)
    assert rep["axes"][1]["labels"] == ["rnn", "gru", "lstm"]
    assert "cell" not in title(rep)  # swept: the axis says it
    lstm = SweepCollector(plan_sweep(preset("question-fixed").replace(cell="lstm"), [parse_axis("lag=1:2")], 1))
    assert "cell lstm" in title(lstm.report(partial=True))  # fixed and not the GRU: the title says which


@pytest.mark.parametrize("spec", ["cell=rnn,gru,transformer", "cell=GRU", "cell=rnn,rnn"])
def test_an_unknown_cell_is_refused_with_one_line(spec):
    with pytest.raises(AxisError) as e:
        parse_axis(spec)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(spec)
    if "rnn,rnn" not in spec:
        assert "is not a cell (a cell value is gru, lstm, rnn)" in msg


def test_a_cell_no_batched_engine_runs_under_the_rule_is_refused_with_one_line(monkeypatch):
    from core.seed_batched import shape

    monkeypatch.setitem(shape.BATCHED_CELLS, "rnn", ("tbptt",))
    base = preset("question-fixed").replace(rule="rtrl")
    with pytest.raises(AxisError) as e:
        plan_sweep(base, [parse_axis("cell=gru,rnn", base)], 2)
    assert "\n" not in str(e.value) and str(e.value).startswith("cell {'cell': 'rnn'}: model.cell:")


def test_an_rtrl_batch_of_lstms_is_capped_by_the_lstms_own_sensitivity():
    """RTRL's two sensitivities are (state x n_rec): the LSTM's state is 2H, its n_rec 4H(H + 2)."""
    base = preset("question-fixed").replace(rule="rtrl", units=128)
    plan = plan_sweep(base, [parse_axis("cell=gru,lstm")], 64)
    per: dict = {}
    for b in plan.batches:
        cell = plan.cells[b.members[0][0]].cfg.model.cell
        per[cell] = max(per.get(cell, 0), len(b.members))
    assert per["gru"] == (512 << 20) // (8 * 128 * 3 * 128 * 131)
    assert per["lstm"] == (512 << 20) // (8 * 256 * 4 * 128 * 130)


@pytest.mark.slow
def test_cells_equal_train_seeds_for_every_cell():
    """Each cell's per-seed verdicts and held-out figures are those of `main.py train --seeds S` of its cell."""
    base = preset("question-fixed").replace(steps=1500, eval_steps=200, lr=3e-3, units=6)
    plan = plan_sweep(base, [parse_axis("lag=1"), parse_axis("cell=rnn,gru,lstm")], 2)
    col = SweepCollector(plan)
    cells = [ev["cell"] for ev in run_sweep(plan, col) if ev["type"] == "cell"]
    assert len(cells) == 3 and all(c["done"] for c in cells)
    losses = {}
    for c in cells:
        cfg = plan.cells[c["index"]].cfg
        assert cfg.model.cell == c["changes"]["cell"]
        single = list(iter_seeds(cfg, 2))
        assert c["heldout"]["values"] == [r.value for r in single]
        assert c["learned"] == sum(r.learned for r in single)
        got = [col.results[c["index"]][r.seed]["heldout_loss"] for r in single]
        assert got == pytest.approx([r.final["heldout_loss"] for r in single], rel=1e-4, abs=1e-6)
        losses[cfg.model.cell] = got
    assert len({tuple(v) for v in losses.values()}) == 3  # three cells, three different learners
