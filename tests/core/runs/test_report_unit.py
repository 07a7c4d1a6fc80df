"""Issue 21, items 2-4 and 6: a Markdown report and its PNGs are one unit (a full disk changes none of an old
report's files, and says so in one line with exit 1); a bad output path is refused before training (exit 2);
a stale temporary file of a dead writer is removed at once; links to names with spaces or markup stay links."""

from __future__ import annotations

import json
import os

import pytest

import core.atomic_io as A
from core.cli.sweep import main as sweep_main
from core.cli.train import main as train_main
from core.config import Config
from core.runs.report import RunReport, links, plan_images, render_markdown, write_report
from tests.full_disk import FullDisk

TRAIN = ["--preset", "question-fixed", "--steps", "60", "--eval-steps", "10", "--quiet"]


class _Disk:
    """A disk that fills up while the `full_at`-th temporary file (1-based) is written through core.atomic_io:
    the files before it are written whole (and not yet renamed), that one gets ENOSPC (tests/full_disk.py)."""

    def __init__(self, full_at):
        self.full_at, self.opened = full_at, 0

    def __call__(self, fd, path):
        os.close(fd)
        self.opened += 1
        return FullDisk(path, room=10 if self.opened == self.full_at else 1 << 30)


def _old_report(tmp_path):
    files = {tmp_path / "r.md": b"old md", tmp_path / "r-loss.png": b"old loss",
             tmp_path / "r-accuracy.png": b"old acc"}
    for p, data in files.items():
        p.write_bytes(data)
    return files


def _only(tmp_path, files):
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in files)  # no temporary file left
    assert all(p.read_bytes() == data for p, data in files.items())


def test_a_full_disk_changes_no_file_of_the_old_report(tmp_path, monkeypatch):
    files = _old_report(tmp_path)
    monkeypatch.setattr(A, "_open_temp", _Disk(full_at=3))  # both PNGs are written, the .md is not
    rep = RunReport(config=Config().to_dict(), images=plan_images(tmp_path / "r.md", ["loss", "accuracy"]),
                    log=["x" * 5_000])
    with pytest.raises(A.LabFileError, match="no space left on device; nothing of an old report changed"):
        write_report(tmp_path / "r.md", rep, {"loss": b"L" * 500, "accuracy": b"A" * 500})
    _only(tmp_path, files)


def test_train_markdown_on_a_full_disk_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    files = _old_report(tmp_path)
    monkeypatch.setattr(A, "_open_temp", _Disk(full_at=3))  # the PNGs are written, the .md is not
    assert train_main(TRAIN + ["--markdown", str(tmp_path / "r.md")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --markdown:") and "nothing of an old report changed" in err[0]
    _only(tmp_path, files)


def test_sweep_outputs_are_one_unit_on_a_full_disk(tmp_path, monkeypatch, capsys):
    files = {tmp_path / "s.json": b"old json", tmp_path / "s.csv": b"old csv"}
    for p, data in files.items():
        p.write_bytes(data)
    monkeypatch.setattr(A, "_open_temp", _Disk(full_at=2))  # the JSON is written, the CSV is not
    argv = ["--x", "lag=1,2", "--seeds", "2", "--steps", "50", "--eval-steps", "10", "--quiet",
            "--report", str(tmp_path / "s.json"), "--csv", str(tmp_path / "s.csv")]
    assert sweep_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no space left on device" in err[0]
    _only(tmp_path, files)


def _bad_paths(tmp_path):
    (tmp_path / "f-loss.png").mkdir()
    os.symlink(tmp_path / "nowhere.md", tmp_path / "dangling.md")
    os.symlink(tmp_path / "loop2.md", tmp_path / "loop1.md")
    os.symlink(tmp_path / "loop1.md", tmp_path / "loop2.md")
    return [("f.md", "f-loss.png"), ("dangling.md", "dangling symlink"), ("loop1.md", "cannot be followed"),
            ("a" * 300 + ".md", "too long"), ("a" * 230 + ".md", "too long")]


def test_bad_markdown_paths_are_refused_before_training(tmp_path, capsys):
    for name, why in _bad_paths(tmp_path):
        assert train_main(TRAIN + ["--markdown", str(tmp_path / name)]) == 2, name
        cap = capsys.readouterr()
        err = cap.err.strip().splitlines()
        assert len(err) == 1 and why in err[0], err
        assert cap.out == ""  # nothing trained


def test_bad_report_paths_are_refused_before_training(tmp_path, capsys):
    for name, why in _bad_paths(tmp_path)[1:]:
        name = name.replace(".md", ".json")
        if "loop" in name or "dangling" in name:
            name = name.replace(".json", ".md")  # the same links, as a JSON report path
        assert train_main(TRAIN + ["--report", str(tmp_path / name)]) == 2, name
        assert why in capsys.readouterr().err


def test_links_to_names_with_spaces_or_markup_stay_links():
    """The oracle is a CommonMark parser (markdown-it-py): one image token whose source is the file's name, and
    no raw HTML anywhere in the report."""
    md_it = pytest.importorskip("markdown_it")
    from urllib.parse import unquote

    for stem in ("my run", "<img src=x onerror=alert(1)>", "a](b) [c", "back\\slash", "tab\tname"):
        rep = RunReport(config=Config().to_dict(), images=plan_images(f"/tmp/{stem}.md", ["loss"]))
        text = render_markdown(rep)
        assert links(text) == [f"{stem}-loss.png"]
        tokens = md_it.MarkdownIt("commonmark").parse(text)
        assert not [t for t in tokens if t.type.startswith("html")]
        children = [c for t in tokens if t.children for c in t.children]
        assert not [c for c in children if c.type.startswith("html")], stem
        images = [c for c in children if c.type == "image"]
        assert [unquote(str(c.attrGet("src"))) for c in images] == [f"{stem}-loss.png"], stem


def test_a_dead_writers_temp_file_is_removed_at_the_next_write(tmp_path):
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)  # a pid that no longer exists
    left = tmp_path / f".r.md.p{dead}.abcd1234{A.TEMP_MARK}.md"
    left.write_bytes(b"half" * 1000)
    A.write_bytes(tmp_path / "other.json", b"{}")
    assert sorted(os.listdir(tmp_path)) == ["other.json"]
    json.loads((tmp_path / "other.json").read_text())
