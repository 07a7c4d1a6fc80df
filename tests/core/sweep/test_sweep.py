"""Sweeps: axis specs, planning into batches, cells equal `train --seeds`, outputs, interrupts, the child entry."""

import csv
import io
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.children.sweep import sweep_child
from core.cli.sweep import main as sweep_main
from core.config import Config, preset
from core.messages import Error, StopSweep, SweepDone, SweepEvent
from core.runs.seeds import iter_seeds
from core.sweep.grid import AxisError, SweepCollector, parse_axis, plan_sweep, run_sweep
from core.sweep.render import colour, render_png, render_svg

ROOT = Path(__file__).resolve().parents[3]


def test_axis_forms():
    assert parse_axis("lag=1:6").values == (1, 2, 3, 4, 5, 6)
    assert parse_axis("window=1,3,5").values == (1, 3, 5)
    lr = parse_axis("lr=log:1e-4:1e-1:4").values
    assert lr == pytest.approx((1e-4, 1e-3, 1e-2, 1e-1))
    assert parse_axis("p=lin:0.1:0.5:5").values == pytest.approx((0.1, 0.2, 0.3, 0.4, 0.5))
    assert parse_axis("rule=tbptt,rtrl").values == ("tbptt", "rtrl")
    assert parse_axis("rtrl-decay=0.9,1").values == (0.9, 1.0)
    assert parse_axis("lag=3").values == (3,)


@pytest.mark.parametrize("spec,text", [
    ("lag=7:1", "start 7 is after its end 1"), ("foo=1:2", "no config field 'foo'"),
    ("lag=1:100", "value 65 is out of range"), ("window=0,1", "value 0 is out of range"),
    ("lr=log:1e-4:1e3:3", "value 1e+03 is out of range"), ("seed=0:3", "use --seeds"),
    ("epochs=1:3", "cannot be an axis"), ("p=0.1:0.5", "integer range"), ("lag=1,1", "repeats"),
    ("rule=tbptt,bptt", "value bptt is out of range"), ("rule=tbptt+x", "tbpttK"), ("lag", "expected FIELD=VALUES"),
    ("lag=x:3", "not an integer")])
def test_bad_axis_specs_exit_2_with_one_line(spec, text, capsys):
    with pytest.raises(AxisError, match=text.replace("+", r"\+")):
        parse_axis(spec)
    assert sweep_main(["--x", spec, "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --x {spec}:") and text in err


def test_help_shows_the_rule_forms(capsys):
    with pytest.raises(SystemExit) as e:
        sweep_main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "tbptt+D is tbptt with window lag+D" in " ".join(out.split()) and "--fidelity" not in out


def test_bad_y_axis_and_flags_exit_2(capsys):
    assert sweep_main(["--x", "lag=1:2", "--y", "window=0:2"]) == 2
    assert capsys.readouterr().err.startswith("error: --y window=0:2:")
    assert sweep_main(["--x", "lag=1:2", "--y", "lag=3:4"]) == 2
    assert "both sweep lag" in capsys.readouterr().err
    assert sweep_main(["--x", "lag=1:2", "--units", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --units:")


def test_rule_axis_carries_tbptts_window():
    """rule=tbptt1,tbptt+1,rtrl,uoro,snap1: tbpttK is window K, tbptt+D window lag+D; one sweep makes the rules map."""
    base = preset("question-fixed")
    axis = parse_axis("rule=tbptt1,tbptt+1,rtrl,uoro,snap1", base)
    assert axis.values == ("tbptt1", "tbptt+1", "rtrl", "uoro", "snap1")
    assert axis.labels == ["tbptt k=1", "tbptt k=lag+1", "rtrl", "uoro", "snap1"]
    plan = plan_sweep(base, [parse_axis("lag=1:6"), axis], 16)
    got = {(c.changes["lag"], c.changes["rule"]): (c.cfg.train.rule, c.cfg.train.window) for c in plan.cells}
    assert got[(3, "tbptt1")] == ("tbptt", 1) and got[(3, "tbptt+1")] == ("tbptt", 4)
    assert got[(6, "tbptt+1")] == ("tbptt", 7) and got[(6, "uoro")][0] == "uoro"
    assert plan.cells[1].applied == {"lag": 1, "rule": "tbptt", "window": 2}
    # one batch per shape: tbptt k=1, k=2..7 (one lag each), rtrl, uoro, snap1
    assert sorted(len(b.members) for b in plan.batches) == [16] * 6 + [96] * 4
    with pytest.raises(AxisError, match="cannot be combined with a window axis"):
        plan_sweep(base, [parse_axis("window=1,2"), axis], 2)
    with pytest.raises(AxisError, match="tbptt\\+200'}: train.window: must be <= 256, got 260"):
        plan_sweep(base, [parse_axis("lag=60:62"), parse_axis("rule=tbptt+200")], 2)


def test_a_sweep_of_the_approximate_rules_runs(tmp_path):
    out = tmp_path / "m.json"
    rc = sweep_main(["--x", "lag=0,1", "--y", "rule=tbptt+1,uoro,snap1", "--seeds", "2", "--steps", "300",
                     "--eval-steps", "50", "--quiet", "--report", str(out)])
    assert rc == 0
    rep = json.loads(out.read_text())
    assert rep["cells_done"] == 6 and rep["axes"][1]["labels"] == ["tbptt k=lag+1", "uoro", "snap1"]
    assert {c["applied"]["rule"] for c in rep["cells"]} == {"tbptt", "uoro", "snap1"}


def test_planning_groups_by_shape():
    base = preset("question-fixed")
    plan = plan_sweep(base, [parse_axis("lag=1:6"), parse_axis("window=1:7")], 16)
    assert len(plan.cells) == 42 and len(plan.batches) == 7  # one batch per window: 6 lags x 16 seeds
    assert all(len(b.members) == 96 for b in plan.batches)
    plan = plan_sweep(base, [parse_axis("lag=1:3"), parse_axis("lr=log:1e-3:1e-1:3")], 4)
    assert len(plan.batches) == 1 and len(plan.batches[0].members) == 36  # task and lr share a batch
    plan = plan_sweep(base, [parse_axis("units=4,8"), parse_axis("rule=tbptt,rtrl")], 2, max_batch=3)
    assert [len(b.members) for b in plan.batches] == [2] * 4
    plan = plan_sweep(base, [parse_axis("lag=1:4")], 5, max_batch=8)
    assert [len(b.members) for b in plan.batches] == [8, 8, 4]


@pytest.mark.slow
def test_cells_equal_train_seeds():
    """Each cell's per-seed verdicts and held-out accuracies are those of `main.py train --seeds S`."""
    base = preset("question-fixed").replace(steps=2500, eval_steps=200, lr=3e-3)
    plan = plan_sweep(base, [parse_axis("lag=1,2"), parse_axis("rule=tbptt,rtrl")], 2)
    col = SweepCollector(plan)
    cells = [ev["cell"] for ev in run_sweep(plan, col) if ev["type"] == "cell"]
    assert len(cells) == 4 and all(c["done"] for c in cells)
    for c in cells:
        single = list(iter_seeds(plan.cells[c["index"]].cfg, 2))
        assert c["heldout"]["values"] == [r.value for r in single]
        assert c["learned"] == sum(r.learned for r in single)
    assert any(c["learned"] for c in cells)


def test_outputs_are_written(tmp_path):
    paths = {k: tmp_path / f"m.{k}" for k in ("json", "png", "csv", "svg")}
    rc = sweep_main(["--x", "lag=1:3", "--y", "window=1,2", "--seeds", "3", "--steps", "400", "--eval-steps", "50",
                     "--quiet", "--report", str(paths["json"]), "--png", str(paths["png"]), "--csv", str(paths["csv"]),
                     "--svg", str(paths["svg"])])
    assert rc == 0
    rep = json.loads(paths["json"].read_text())
    assert rep["partial"] is False and rep["cells_done"] == rep["cells_total"] == 6
    assert rep["axes"][0]["field"] == "lag" and rep["axes"][1]["values"] == [1, 2]
    c = rep["cells"][0]
    assert set(c) >= {"learned", "n_seeds", "heldout", "reach", "first_failing_seed"} and c["n_seeds"] == 3
    assert set(c["heldout"]) >= {"median", "min"} and "median_step" in c["reach"]
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert len(rows) == 6 and rows[0]["lag"] == "1" and rows[0]["window"] == "1"
    img = Image.open(paths["png"])
    assert img.size[0] > 200 and img.size[1] > 100
    assert paths["svg"].read_text().startswith("<svg")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]  # atomic writes leave no temp files


def test_map_colours_and_pending_cells():
    assert colour(0.0) == (215, 48, 39) and colour(1.0) == (26, 152, 80) and colour(None) == (200, 200, 200)
    plan = plan_sweep(Config(), [parse_axis("lag=1:2")], 2)
    rep = SweepCollector(plan).report(partial=True)  # nothing finished: still a map that says so
    assert rep["partial"] is True and rep["cells_done"] == 0
    Image.open(io.BytesIO(render_png(rep)))
    assert b"PARTIAL" in render_svg(rep)


def test_stop_keeps_finished_cells_and_reports_partial():
    base = preset("question-fixed").replace(eval_steps=50)
    plan = plan_sweep(base, [parse_axis("steps=200,100000")], 2)
    col = SweepCollector(plan)
    seen = []
    for ev in run_sweep(plan, col, stop=lambda: bool(seen), chunk=100):
        if ev["type"] == "cell":
            seen.append(ev["cell"])
    rep = json.loads(json.dumps(col.report(partial=True), allow_nan=False))
    assert rep["partial"] is True and rep["cells_done"] == 1 and rep["cells"][0]["done"]
    assert not rep["cells"][1]["done"] and rep["cells"][1]["n_seeds"] == 0


@pytest.mark.slow
def test_ctrl_c_writes_a_partial_report(tmp_path):
    """A real SIGINT to `main.py sweep`: exit 130, the report is valid JSON, partial, with the finished cell."""
    out = tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "sweep", "--x", "steps=200,10000000",
                             "--seeds", "2", "--eval-steps", "50", "--report", str(out)], cwd=ROOT,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            # as from a terminal: Ctrl+C not ignored (an in-process training child run by an
                            # earlier test ignores SIGINT in this process, and a child would inherit that)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stderr:
            if line.startswith("cell steps=200"):
                break
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    rep = json.loads(out.read_text())
    assert rep["partial"] is True and rep["cells_done"] == 1 and rep["cells"][0]["learned"] in (0, 1, 2)
    assert json.loads(stdout.strip().splitlines()[-1])["partial"] is True


@pytest.mark.slow
def test_sweep_child_streams_events_and_stops():
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    req = {"config": preset("question-fixed").replace(eval_steps=20).to_dict(), "axes": ["steps=100,1000000"],
           "seeds": 2}
    proc = ctx.Process(target=sweep_child, args=(child, req), daemon=True)
    proc.start()
    child.close()
    kinds = []
    try:
        while True:
            assert parent.poll(60)
            msg = parent.recv()
            kinds.append(type(msg))
            if isinstance(msg, SweepEvent) and msg.event["type"] == "cell":
                parent.send(StopSweep())
            if isinstance(msg, (SweepDone, Error)):
                break
    finally:
        proc.join(30)
    assert isinstance(msg, SweepDone), msg
    assert msg.report["partial"] is True and msg.report["cells_done"] == 1, msg.report
    assert kinds.count(SweepEvent) >= 2


def test_sweep_child_reports_a_bad_spec_as_one_line():
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=sweep_child, args=(child, {"config": {}, "axes": ["lag=7:1"], "seeds": 2}), daemon=True)
    proc.start()
    child.close()
    assert parent.poll(60)
    msg = parent.recv()
    proc.join(30)
    assert isinstance(msg, Error) and "lag=7:1" in msg.text and "\n" not in msg.text


def test_the_windows_device_choice_maps_to_a_sweep_device_with_a_fallback_note(monkeypatch):
    import torch

    from core.seed_batched.devices import from_app_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert from_app_device("cpu") == ("cpu", None) and from_app_device("auto") == ("cpu", None)
    dev, note = from_app_device("cuda")
    assert dev == "cpu" and "no CUDA device" in note
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert from_app_device("auto") == ("cuda", None) and from_app_device("cuda") == ("cuda", None)
    assert from_app_device("cpu") == ("cpu", None)
