"""The house's import rule, read from the source: no import cycle among the project's modules, late imports
(inside functions) included; each of core/ and gui/ holds at most 12 modules directly; every module is listed in
docs/architecture.md. The layers themselves are import-linter contracts in pyproject.toml (`make lint`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "gui")


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of core/ and gui/ (packages' __init__ under the package's name)."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file (top level, functions, TYPE_CHECKING blocks)."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `from core.x import name` -> core.x; a submodule stays itself
                t = t.rpartition(".")[0]
            if t and t != name and t not in PACKAGES:
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_late_import_counts_as_an_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from core.x import y\n")
    assert imports_of("core.m", f, {"core.m", "core.x", "core.x.y"}) == {"core.x.y"}


def test_no_import_cycle_among_the_project_modules():
    assert cycles(graph()) == []


def test_core_and_gui_hold_at_most_twelve_modules_directly():
    for pkg in PACKAGES:
        direct = sorted(f.stem for f in (ROOT / pkg).glob("*.py") if f.name != "__init__.py")
        assert len(direct) <= 12, (pkg, direct)


def test_package_inits_import_nothing():
    """So importing a package never loads its members (the window's process loads no torch): a package's
    __init__ holds its docstring and at most plain constants (gui's INSPECT_TABS, for the command line)."""
    for name, path in modules().items():
        if path.name == "__init__.py":
            body = ast.parse(path.read_text()).body
            assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), name
            assert all(isinstance(n, (ast.Expr, ast.Assign, ast.AnnAssign)) for n in body), name


def test_every_module_is_listed_in_the_architecture_doc():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in modules().values()
               if p.name != "__init__.py" and f"`{p.relative_to(ROOT)}`" not in doc
               and f"`{p.name}`" not in doc]
    assert missing == []
