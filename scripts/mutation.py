"""`make mutation`: mutmut over the code that tells the user something, each module run against its own tests only.

    python scripts/mutation.py [GROUP ...] [--jobs N] [--keep]

Groups (default: all, in this order; docs/testing.md has the score of each and every survivor explained):
  verdict   core/analysis/verdict.py        tests/core/analysis/test_verdict*.py
  hints     core/analysis/hints.py          tests/core/analysis/test_diagnostics.py, test_analysis.py,
                                            test_hint_words.py
  sweep     core/sweep/grid.py              tests/core/sweep/test_summaries.py, test_sweep.py, test_cell_axis.py
  claims    core/runs/claims.py, claim_runs.py, claims_cells.py
                                            tests/core/runs/test_claim*.py
  atomic    core/atomic_io.py               tests/core/test_atomic_io*.py
  sessions  core/sessions/gmlab.py, container.py
                                            tests/core/sessions/test_session.py, test_session_migration.py,
                                            test_session_file*.py
  window    gui/files/sessions.py           tests/gui/files/test_session_layer_*.py (offscreen Qt, no
                                            window: test_session_layer_parts.py, test_session_layer_dialogs.py)
A test list may hold globs (relative to the checkout): a new test file named to match joins its group.

Each group runs in its own copy of the working tree under $TMPDIR/gml-mutation/GROUP (mutmut writes a mutants/
folder beside the code: never in the checkout), with a setup.cfg naming the module (only_mutate) and its tests
(pytest_add_cli_args_test_selection). It prints killed/survived/timeout per group and writes each survivor's
diff to out/mutation/GROUP-survivors.txt. Exit 0 when every group ran (surviving mutants are reported, not
failed: some are equivalent, see docs/testing.md). Slow: minutes per group on two cores; not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "verdict": (["core/analysis/verdict.py"],
                ["tests/core/analysis/test_verdict.py", "tests/core/analysis/test_verdict_edges.py",
                 "tests/core/analysis/test_verdict_rules.py"]),
    "hints": (["core/analysis/hints.py"],
              ["tests/core/analysis/test_diagnostics.py", "tests/core/analysis/test_analysis.py",
               "tests/core/analysis/test_hint_words.py"]),
    "sweep": (["core/sweep/grid.py"], ["tests/core/sweep/test_summaries.py", "tests/core/sweep/test_sweep.py",
                                       "tests/core/sweep/test_cell_axis.py"]),
    "claims": (["core/runs/claims.py", "core/runs/claim_runs.py", "core/runs/claims_cells.py"],
               ["tests/core/runs/test_claim*.py"]),
    "atomic": (["core/atomic_io.py"], ["tests/core/test_atomic_io.py", "tests/core/test_atomic_io_mode.py",
                                       "tests/core/test_atomic_io_checks.py"]),
    "sessions": (["core/sessions/gmlab.py", "core/sessions/container.py"],
                 ["tests/core/sessions/test_session.py", "tests/core/sessions/test_session_migration.py",
                  "tests/core/sessions/test_session_file*.py"]),
    # the session layer without a window or a child (tests/gui_helpers.py's rig): a window test per mutant would
    # take hours; the window tests (test_session_layer.py, test_session_gui.py) killed none of these survivors
    "window": (["gui/files/sessions.py"], ["tests/gui/files/test_session_layer_*.py"]),
}
MUTMUT_MAIN = "import sys; from mutmut.__main__ import cli; sys.argv[0] = 'mutmut'; sys.exit(cli())"
COUNTS = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+)\s+🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)\s+🔇 (\d+)")


def copy_tree(dest: Path) -> None:
    """The working tree as git sees it (tracked and new, not ignored) into dest."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)


def expand(tests: list[str]) -> list[str]:
    """Each test pattern (a path or a glob relative to the checkout) as the files it names, sorted."""
    return sorted({str(p.relative_to(ROOT)) for t in tests for p in ROOT.glob(t)})


def setup_cfg(modules: list[str], tests: list[str]) -> str:
    lines = ["[mutmut]", "source_paths=core", "    gui", "only_mutate=" + "\n    ".join(modules),
             "also_copy=main.py", "    resources",
             "pytest_add_cli_args_test_selection=" + "\n    ".join(tests),
             "pytest_add_cli_args=-p", "    no:cacheprovider", "    -q", "    -m", "    not slow", ""]
    return "\n".join(lines)


def run_group(name: str, jobs: int, keep: bool) -> dict | None:
    modules, patterns = GROUPS[name]
    tests = expand(patterns)
    work = Path(tempfile.gettempdir()) / "gml-mutation" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copy_tree(work)
    (work / "setup.cfg").write_text(setup_cfg(modules, tests))
    mutmut = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    print(f"== {name}: {', '.join(modules)} against {', '.join(tests)}", flush=True)
    # mutmut started through -c, not its script: a test's training child (a multiprocessing spawn) re-imports the
    # parent's main script, and mutmut's would look for setup.cfg in the test's folder (tmp_path), where there is none
    run = subprocess.run([sys.executable, "-c", MUTMUT_MAIN, "run", "--max-children", str(jobs)], cwd=work, env=env,
                         capture_output=True, text=True)
    found = COUNTS.findall(run.stdout + run.stderr)
    if run.returncode != 0 or not found:
        print(f"   mutmut failed (exit {run.returncode}): {(run.stdout + run.stderr)[-1500:]}")
        return None
    done, total, killed, no_tests, timeout, suspicious, survived, skipped = map(int, found[-1])
    res = subprocess.run([str(mutmut), "results"], cwd=work, capture_output=True, text=True, env=env).stdout
    names = [line.split(":")[0].strip() for line in res.splitlines() if line.strip().endswith(": survived")]
    out = ROOT / "out" / "mutation"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}-survivors.txt", "w") as fh:
        for m in names:
            diff = subprocess.run([str(mutmut), "show", m], cwd=work, capture_output=True, text=True, env=env).stdout
            fh.write(f"== {m}\n" + "\n".join(line for line in diff.splitlines()
                                                if line[:1] in "+-" and line[:3] not in ("+++", "---")) + "\n")
    score = (killed + timeout) / max(1, total - skipped)
    print(f"   {total} mutants: {killed} killed, {timeout} timed out (killed), {survived} survived, "
          f"{no_tests} not covered, {suspicious} suspicious: {100 * score:.1f} % killed "
          f"(survivors: out/mutation/{name}-survivors.txt)", flush=True)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"total": total, "killed": killed + timeout, "survived": survived, "no_tests": no_tests}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("groups", nargs="*", choices=list(GROUPS), default=list(GROUPS))
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--keep", action="store_true", help="keep each group's copy (to `mutmut browse` it)")
    a = ap.parse_args(argv)
    ok = True
    for g in a.groups:
        ok = run_group(g, a.jobs, a.keep) is not None and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
