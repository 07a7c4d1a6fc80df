"""Sweeps on worker processes and on Dask: the same cells as in one process, whatever the chunks; a worker killed
mid-sweep (its chunk retried, or its cells missing, never wrong); a real `dask scheduler` with two `dask worker`
processes on 127.0.0.1; Ctrl+C and SIGTERM with workers running. Every network test uses 127.0.0.1 only, and every
process a test starts is stopped in its `finally`."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from core.config import preset
from core.sweep import parallel
from core.sweep.grid import SweepCollector, parse_axis, plan_sweep
from core.sweep.parallel import plan_chunks, sweep_events
from core.workers.pool import Where

ROOT = Path(__file__).resolve().parents[3]
BASE = preset("question-fixed").replace(steps=300, eval_steps=100)


def tiny_plan(seeds=5, steps=300):
    base = BASE.replace(steps=steps)
    return plan_sweep(base, [parse_axis("lag=1,2", base), parse_axis("rule=tbptt,uoro,snap1", base)], seeds)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few learners: batches are cut (no per-step overhead counted, no minimum size)."""
    monkeypatch.setattr(parallel, "MIN_CHUNK", 2)
    monkeypatch.setattr(parallel, "OVERHEAD", 0)


def cells(plan, where, progress=None, **kw):
    col = SweepCollector(plan)
    for ev in sweep_events(plan, col, where, **kw):
        if progress is not None and ev["type"] == "progress":
            progress.append((ev["done"], sum(n for _, n in ev["live"].values())))
    return col, json.dumps([col.cell_dict(c.index) for c in plan.cells], sort_keys=True)


def test_chunks_cut_batches_and_keep_every_learner_once(small_chunks):
    plan = tiny_plan()
    chunks = plan_chunks(plan, 2)
    assert len(chunks) > len(plan.batches)
    assert sorted(m for ch in chunks for m in ch.members) == sorted(m for b in plan.batches for m in b.members)
    assert [len(ch.members) for ch in plan_chunks(plan, 1)] == [len(b.members) for b in plan.batches]


def test_whole_batches_when_cutting_would_cost_more():
    """The README map's 7 batches of 96 on 2 workers: halving them pays the engine's per-step overhead twice."""
    base = preset("question-fixed")
    plan = plan_sweep(base, [parse_axis("lag=1:6", base), parse_axis("window=1:7", base)], 16)
    assert [len(c.members) for c in plan_chunks(plan, 2)] == [96] * 7
    assert max(len(c.members) for c in plan_chunks(plan, 32)) < 96


@pytest.mark.slow  # starts processes of its own (workers / a window process)
def test_workers_1_and_2_give_identical_cells(small_chunks):
    """Bit for bit, with batches cut into chunks of a few learners (UORO draws random numbers per learner)."""
    plan = tiny_plan()
    assert len(plan_chunks(plan, 2)) > len(plan.batches)
    one_col, one = cells(plan, Where(1))
    two_col, two = cells(plan, Where(2))
    assert one == two and two_col.report(False)["cells_done"] == 6
    assert two_col.report(False)["where"]["executor"] == "local processes (spawn)"
    assert one_col.report(False)["where"] == {"workers": 1, "scheduler": None, "executor": "in-process"}


@pytest.mark.slow  # starts processes of its own (workers / a window process)
def test_progress_merges_the_workers(small_chunks):
    """Learner-steps never go back and end at the plan's total; the live counts hold learners of both workers'
    chunks at once."""
    plan = tiny_plan(steps=2000)
    seen: list[tuple[int, int]] = []
    cells(plan, Where(2), seen, chunk=100)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == plan.learner_steps
    assert max(n for _, n in seen) > max(len(c.members) for c in plan_chunks(plan, 2))


@pytest.mark.slow
def test_a_dask_local_cluster_gives_identical_cells(small_chunks):
    from distributed import LocalCluster

    plan = tiny_plan()
    _, one = cells(plan, Where(1))
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        col, dask = cells(plan, Where(2, cluster.scheduler_address))
    assert dask == one and col.where["executor"] == "dask" and col.where["scheduler"].startswith("tcp://127.0.0.1")


@pytest.mark.slow
@pytest.mark.parametrize("allowed_failures", [3, 0])
def test_a_dask_worker_killed_mid_sweep_is_retried_or_missing_never_wrong(small_chunks, allowed_failures):
    """Dask reschedules a dead worker's chunk (its nanny starts a new worker): the cells are the local run's. With
    no retries allowed the chunk comes back KilledWorker: its learners are missing and the other cells are right."""
    import dask
    from distributed import LocalCluster

    plan = tiny_plan(seeds=4, steps=3000)
    one_col, _ = cells(plan, Where(1))
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}), \
            LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                         dashboard_address=None) as cluster:
        col = SweepCollector(plan)
        killed = []
        for ev in sweep_events(plan, col, Where(2, cluster.scheduler_address), chunk=100):
            if not killed and ev["type"] == "progress":  # a chunk came back: the others are running
                victim = next(p for p in psutil.Process().children() if "dask worker" in " ".join(p.cmdline()))
                victim.kill()
                killed.append(victim.pid)
    assert killed and bool(col.missing) == (allowed_failures == 0)
    lost = {m["cell"] for m in col.missing}
    for c in plan.cells:
        got = col.cell_dict(c.index)
        assert got["done"] == (c.index not in lost)
        if got["done"]:
            assert json.dumps(got, sort_keys=True) == json.dumps(one_col.cell_dict(c.index), sort_keys=True)
        assert set(got["seeds"]).isdisjoint(m["seed"] for m in col.missing if m["cell"] == c.index)


def _pool_workers(parent=None) -> list[psutil.Process]:
    """The live spawn workers of a pool started by `parent` (this process by default)."""
    out = []
    for p in psutil.Process(parent).children():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:  # gone meanwhile
            pass
    return out


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_has_its_chunk_retried_and_the_cells_are_right(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_CHUNK", 3)
    plan = tiny_plan(seeds=6, steps=3000)
    _, one = cells(plan, Where(1))
    col = SweepCollector(plan)
    killed = []
    for ev in sweep_events(plan, col, Where(2), chunk=100):
        if not killed and ev["type"] == "progress" and ev["live"]:  # a chunk is running: kill its worker
            victim = _pool_workers()[0]
            victim.kill()
            killed.append(victim.pid)
    assert killed and not col.missing
    assert json.dumps([col.cell_dict(c.index) for c in plan.cells], sort_keys=True) == one


@pytest.mark.slow
def test_learners_a_dead_worker_took_twice_are_missing_never_a_figure(monkeypatch):
    """Every worker is killed as soon as it reports progress: its chunks fail twice and are reported missing."""
    monkeypatch.setattr(parallel, "MIN_CHUNK", 3)
    plan = tiny_plan(seeds=3, steps=3000)
    col = SweepCollector(plan)
    for ev in sweep_events(plan, col, Where(2), chunk=100):
        if ev["type"] == "progress" and ev["live"]:
            for p in _pool_workers():
                try:
                    p.kill()
                except psutil.Error:
                    pass
    rep = col.report(False)
    assert len(rep["missing"]) == 18 and rep["partial"] and rep["cells_done"] == 0
    assert all(c["n_seeds"] == 0 and c["heldout"]["median"] is None for c in rep["cells"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=20)


@pytest.mark.slow
def test_a_sweep_on_a_dask_scheduler_and_two_dask_workers_matches_the_local_run(tmp_path):
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the workers import core (installed, on a real cluster)
    procs = []
    try:
        sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(sched)
        for line in sched.stderr:  # ready when it says where it listens
            if "Scheduler at:" in line:
                break
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                           "--no-dashboard"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=120)
        args = ["sweep", "--x", "lag=1,2", "--y", "rule=tbptt,uoro", "--seeds", "5", "--steps", "300",
                "--eval-steps", "100", "--quiet"]
        for name, extra in (("dask", ["--scheduler", address]), ("local", ["--workers", "1"])):
            p = subprocess.run([sys.executable, "main.py", *args, *extra, "--report", str(tmp_path / f"{name}.json")],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr[-2000:]
        dask_rep, local_rep = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("dask", "local"))
        assert dask_rep["cells"] == local_rep["cells"] and dask_rep["cells_done"] == 4
        assert dask_rep["where"] == {"workers": 2, "scheduler": address, "executor": "dask",
                                     "worker_peak_rss_mb": dask_rep["where"]["worker_peak_rss_mb"]}
    finally:
        _stop(procs[1:] + procs[:1])


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_with_workers_running_writes_a_partial_report_and_ends_the_workers(tmp_path, sig):
    out = tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, "main.py", "sweep", "--x", "steps=200,10000000", "--seeds", "2",
                             "--eval-steps", "50", "--workers", "2", "--report", str(out)], cwd=ROOT,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers = []
    try:
        for line in proc.stderr:
            if line.startswith("cell steps=200"):
                break
        workers = _pool_workers(proc.pid)
        assert workers  # the long chunk is still running in one
        proc.send_signal(sig)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    rep = json.loads(out.read_text())
    assert rep["partial"] is True and rep["cells_done"] == 1 and not rep["cells"][1]["done"]
    assert rep["where"]["workers"] == 2
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


@pytest.mark.slow
def test_the_sweep_child_runs_on_workers_and_stops_them():
    """The window's sweep child (daemonic, as ChildLink starts it) on 2 workers: same cells as in one process,
    the engine event says where, and StopSweep ends the workers and sends a partial report."""
    import multiprocessing as mp

    from core.children.sweep import sweep_child
    from core.messages import StopSweep, SweepDone, SweepEvent

    def run(request, stop_at_progress=False):
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=sweep_child, args=(child, request), daemon=True)
        proc.start()
        events, workers = [], []
        try:
            while parent.poll(120):
                msg = parent.recv()
                if isinstance(msg, SweepDone):
                    return events, msg.report, workers
                assert isinstance(msg, SweepEvent), msg
                events.append(msg.event)
                if stop_at_progress and msg.event["type"] == "progress" and not workers:
                    workers = _pool_workers(proc.pid)
                    parent.send(StopSweep())
            pytest.fail("no SweepDone within 120 s")
        finally:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()

    req = {"config": BASE.to_dict(), "axes": ["lag=1,2", "rule=tbptt,uoro"], "seeds": 3}
    ev1, rep1, _ = run(req)
    ev2, rep2, _ = run({**req, "workers": 2})
    assert rep2["cells"] == rep1["cells"] and rep2["where"]["workers"] == 2
    assert "2 local worker processes" in ev2[0]["text"] and ev2[0]["where"]["workers"] == 2
    _, rep3, workers = run({**req, "config": BASE.replace(steps=10_000_000).to_dict(), "workers": 2}, True)
    assert rep3["partial"] and rep3["cells_done"] == 0 and workers
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
