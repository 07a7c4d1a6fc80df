"""The run report (core/runs/report.py): `main.py train --markdown` and File ▸ Export report… write a Markdown file
whose links resolve to PNGs beside it; the Markdown carries the verdict, the log, the config as TOML, the
command that reproduces the run and the versions; a bad path is one message and writes nothing."""

import tomllib
from pathlib import Path

import pytest
from PIL import Image

from core.cli.train import main as train_main
from core.config import Config, preset
from core.runs.report import RunReport, config_toml, links, render_markdown, reproduce_command, write_report


def assert_links_resolve(md: Path) -> list[Path]:
    text = md.read_text()
    targets = links(text)
    assert targets, "the report links to its pictures"
    files = []
    for t in targets:
        f = md.parent / t
        assert f.is_file(), f"{t} does not exist beside {md}"
        with Image.open(f) as im:
            assert im.format == "PNG" and im.size[0] >= 400
        files.append(f)
    return files


def test_the_config_is_toml_that_reads_back_and_the_command_reproduces_it():
    cfg = preset("question-fixed").replace(lag=3, units=8)
    assert tomllib.loads(config_toml(cfg.to_dict())) == cfg.to_dict()
    cmd = reproduce_command(cfg)
    assert cmd == "python main.py train --preset question-fixed --lag 3 --units 8"
    assert reproduce_command(Config()) == "python main.py train"  # the defaults need no preset and no flag
    # and the command it gives reads back to the config: each flag names a field that differs from the preset
    assert reproduce_command(preset("question").replace(lag=4)) == "python main.py train --preset question --lag 4"


def test_train_markdown_writes_a_report_whose_links_resolve(tmp_path, capsys):
    md = tmp_path / "run.md"
    code = train_main(["--preset", "question-fixed", "--steps", "600", "--log-every", "200", "--eval-steps", "200",
                       "--markdown", str(md)])
    assert code == 0
    err = capsys.readouterr().err  # a message on stderr: stdout holds only the JSON line
    assert f"markdown: {md}" in err
    files = assert_links_resolve(md)
    assert sorted(f.name for f in files) == ["run-accuracy.png", "run-loss.png"]
    text = md.read_text()
    for piece in ("**Verdict:**", "**Held-out:**", "step 600/600 - loss:", "```toml", "[train]",
                  "python main.py train --preset question-fixed --steps 600 --eval-steps 200", "| python |",
                  "torch", "numpy", "PySide6", "pyqtgraph"):
        assert piece in text, piece
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-accuracy.png", "run-loss.png", "run.md"]


@pytest.mark.parametrize("bad", ["missing/run.md", "run.txt"])
def test_train_markdown_refuses_a_bad_path_before_training(tmp_path, capsys, bad):
    code = train_main(["--preset", "question-fixed", "--steps", "10", "--markdown", str(tmp_path / bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --markdown:") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_picture_that_was_not_rendered_is_not_linked(tmp_path):
    from core.runs.report import plan_images

    md = tmp_path / "r.md"
    rep = RunReport(config=Config().to_dict(), images=plan_images(md, ["loss", "portrait"]))
    png = (Path(__file__).resolve().parents[3] / "resources" / "portrait.png").read_bytes()
    write_report(md, rep, {"portrait": png})
    assert links(md.read_text()) == ["r-portrait.png"]
    assert links(render_markdown(rep)) == ["r-portrait.png"]
