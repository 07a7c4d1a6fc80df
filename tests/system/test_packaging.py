"""Installable anywhere: the wheel's file list (every module, the run-time files, the license, no pictures), and
the wheel installed into a fresh venv run from a folder outside the repository (its --version, a training run that
learns, the claims read from the installed package). Nothing is downloaded: the build uses this venv's setuptools
and the fresh venv reaches this venv's packages through a .pth line after its own site-packages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SOURCES = ("core", "gui", "resources", "docs", "main.py", "pyproject.toml", "README.md", "LICENSE")


def test_the_wheel_lists_every_package_of_core_and_gui():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for pkg in ("core", "gui")
               for p in (ROOT / pkg).rglob("__init__.py")}
    assert listed == folders | {"gru_memory_lab_resources", "gru_memory_lab_resources.docs"}, (
        "pyproject.toml's [tool.setuptools] packages must list each package folder of core/ and gui/")


def test_metadata_is_spdx_mit_with_its_license_file_and_one_version():
    proj = PYPROJECT["project"]
    assert proj["license"] == "MIT" and proj["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text() and "2026 GRU Memory Lab authors" in (
        ROOT / "LICENSE").read_text()
    assert proj["requires-python"] == ">=3.11" and "Programming Language :: Python :: 3.11" in proj["classifiers"]
    assert not any(c.startswith("License ::") for c in proj["classifiers"])  # SPDX says it once
    assert "version" not in proj.get("dynamic", []) and proj["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the tree (the build writes build/ and *.egg-info beside its sources)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "--disable-pip-version-check", "-w", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = out.glob("gru_memory_lab-*.whl")
    return whl


@pytest.mark.slow
def test_the_wheel_carries_every_file_the_app_reads_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    version = PYPROJECT["project"]["version"]
    info = f"gru_memory_lab-{version}.dist-info"
    for f in ("claims.json", "claims.md", "gru-memory-lab.svg", "gru-memory-lab.desktop", "__init__.py"):
        assert f"gru_memory_lab_resources/{f}" in names, f
    for _title, doc in __import__("core.product.files", fromlist=["DOCS"]).DOCS:
        assert f"gru_memory_lab_resources/{doc}" in names, doc
    modules = {str(p.relative_to(ROOT)) for pkg in ("core", "gui") for p in (ROOT / pkg).rglob("*.py")}
    assert modules | {"main.py"} <= names
    assert f"{info}/licenses/LICENSE" in names
    pictures = sorted(n for n in names if n.endswith((".png", ".gif")))
    readme = sorted(f"gru_memory_lab_resources/{m}" for m in re.findall(r"\]\(resources/([^)]+\.png)\)",
                                                                       (ROOT / "README.md").read_text()))
    assert pictures == readme and len(readme) == 3  # the README's pictures; the rest stay in the repository
    meta = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Requires-Python: >=3.11" in meta
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "gru-memory-lab = main:main" in entry_points and "gru-memory-lab-train = main:train_entry" in entry_points


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed (--no-deps); this venv's site-packages after its own."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                        "--no-deps", "--disable-pip-version-check", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "zz_deps_from_the_dev_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, cwd: Path, *cmd: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GML_LOG_DIR=str(cwd / "logs"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    return subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_installed_commands_run_from_another_folder(installed, tmp_path):
    bin_ = installed / "bin"
    r = _run(installed, tmp_path, str(bin_ / "gru-memory-lab"), "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"gru-memory-lab {PYPROJECT['project']['version']}", r
    r = _run(installed, tmp_path, str(bin_ / "gru-memory-lab"), "--help")
    assert r.returncode == 0 and "gru-memory-lab claims ..." in r.stdout and "main.py" not in r.stdout
    r = _run(installed, tmp_path, str(bin_ / "gru-memory-lab-train"), "--preset", "question-fixed", "--steps", "2000")
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()  # stdout holds the JSON line alone; progress went to stderr
    assert json.loads(line)["final"]["verdict"]["code"] == "learned", line
    assert "verdict: learned" in r.stderr
    assert (tmp_path / "logs" / "gru-memory-lab.log").read_text().count("verdict: learned") == 1
    code = ("import json, core.runs.claims_report as c; from core.product import files; "
            "print(json.dumps([str(c.SHIPPED), len(c.load_shipped()['claims']), str(files.local_path('docs/guide.md')),"
            " c.refresh_command(), c.thread_items()[0]['verdict']]))")
    r = _run(installed, tmp_path, str(bin_ / "python"), "-c", code)
    assert r.returncode == 0, r.stderr
    shipped, n, guide, refresh, verdict = json.loads(r.stdout)
    site = str(next((installed / "lib").glob("python3*/site-packages")))
    assert shipped.startswith(site) and guide.startswith(site) and str(ROOT) not in shipped + guide
    from core.runs.claims import CLAIMS

    assert n == len(CLAIMS) == 8 and verdict != "not measured yet" and refresh.startswith("gru-memory-lab claims")
