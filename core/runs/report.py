"""A run report as one Markdown file with its PNGs beside it, meant to be pasted into a Q&A thread.

    rep = RunReport(config=cfg.to_dict(), log=lines, verdict=final["verdict"], hints=report["hints"],
                    heldout={...}, command=reproduce_command(cfg), images=plan_images("run.md", ["loss", ...]))
    text = render_markdown(rep)              # the Markdown; its image links are the images' file names
    write_report("run.md", rep, {"loss": png_bytes, ...})   # the PNGs and the .md as one unit (all or nothing)

The report says: the verdict and the held-out figures first (what a reader asks), the hints, the plots, the
Keras-style log, the config as TOML, the command line that reproduces the run and the software versions.
Which pictures exist depends on who renders them (the window: loss, accuracy, hidden heatmap, portrait, memory
probe; the headless runner: loss and accuracy through core/runs/report_plots.py); `plan_images` names them
`<stem>-<key>.png` beside the .md, so the links are relative and resolve wherever the folder is copied; a link
is written as `![Title](<file name>)` with `<`, `>` and `\\` escaped, so a name with spaces or markup stays a
link to that file and never becomes HTML. Writes go through core.atomic_io as one unit: every file is written
under a temporary name first and renamed only once all exist, so a failure changes nothing of an old report.
core/ never imports Qt (versions are read from package metadata).
"""

from __future__ import annotations

import math
import platform
import re
import shlex
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from core.atomic_io import LabFileError, check_writable, write_files
from core.config import PRESETS, Config
from core.product.about import version
from core.tasks import keras_split_at

IMAGE_TITLES = {
    "loss": ("Loss", "the training loss over the whole run"),
    "accuracy": ("Accuracy", "the training accuracy over the whole run"),
    "hidden": ("Hidden units", "the hidden state h over the last W steps (rows: units; columns: steps)"),
    "portrait": ("Hidden-state portrait", "h[t] in 2-D, coloured by the remembered bit x[t-lag]"),
    "probe": ("Memory probe", "how well a linear probe decodes x[t-k] from h[t], for each k"),
}
LOG_HEAD, LOG_TAIL = 8, 40  # a long log keeps its first and last lines
SOFTWARE = {"torch": ("torch",), "numpy": ("numpy",), "PySide6": ("PySide6", "PySide6_Essentials"),
            "pyqtgraph": ("pyqtgraph",), "Pillow": ("Pillow",), "PyAV": ("av",)}


class ReportError(LabFileError):
    """The report could not be written; the message names the path and why."""


@dataclass(frozen=True)
class ReportImage:
    key: str       # loss | accuracy | hidden | portrait | probe
    file: str      # the PNG's name, beside the .md
    title: str
    caption: str


@dataclass
class RunReport:
    config: dict
    log: list[str] = field(default_factory=list)
    verdict: dict | None = None          # core.analysis.verdict.Verdict.to_dict()
    hints: list[dict] = field(default_factory=list)  # core.analysis.hints.Hint.to_dict()
    heldout: dict | None = None          # {"accuracy", "loss", "steps"} or None when not measured
    figures: dict = field(default_factory=dict)  # more figures, label -> text (params, steps/s, device, ...)
    command: str = ""
    images: list[ReportImage] = field(default_factory=list)
    source: str = "main.py train"        # who made it: the headless runner or the window
    notes: list[str] = field(default_factory=list)


def image_path(md_path, key: str) -> Path:
    p = Path(md_path)
    return p.with_name(f"{p.stem}-{key}.png")


def plan_images(md_path, keys, captions: dict | None = None) -> list[ReportImage]:
    """The report's pictures for `keys`, named `<stem>-<key>.png` beside `md_path`."""
    out = []
    for k in keys:
        title, caption = IMAGE_TITLES[k]
        out.append(ReportImage(k, image_path(md_path, k).name, title, (captions or {}).get(k, caption)))
    return out


# -- pieces ----------------------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if not isinstance(v, float) or math.isfinite(v) else ('nan' if v != v else
                                                                           ("inf" if v > 0 else "-inf"))
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_toml(config: dict) -> str:
    """The config ({section: {field: value}}) as TOML, one table per section."""
    lines: list[str] = []
    for section, fields in config.items():
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in fields.items()]
    return "\n".join(lines)


def _flag_value(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def reproduce_command(cfg: Config, extra: list[str] | None = None) -> str:
    """`python main.py train --preset NAME --flag value ...`: the preset nearest to `cfg` plus what differs."""
    flat = cfg.flat()
    best_name, best_diff = None, {k: v for k, v in flat.items() if Config().flat()[k] != v}
    for name in PRESETS:
        pflat = Config.from_dict(PRESETS[name]).flat()
        diff = {k: v for k, v in flat.items() if pflat[k] != v}
        if len(diff) < len(best_diff):
            best_name, best_diff = name, diff
    args = ["python", "main.py", "train"] + (["--preset", best_name] if best_name else [])
    for k, v in best_diff.items():
        args += ["--" + k.split(".")[-1].replace("_", "-"), _flag_value(v)]
    return shlex.join(args + list(extra or []))


def software_versions() -> dict:
    """python and the packages the run used (those installed), by their metadata: no import, no Qt."""
    out = {"gru-memory-lab": version(), "python": platform.python_version()}
    for name, dists in SOFTWARE.items():
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            out[name] = "not installed"
    out["platform"] = f"{platform.system()} {platform.machine()}"
    return out


def trim_log(lines: list[str], head: int = LOG_HEAD, tail: int = LOG_TAIL) -> list[str]:
    if len(lines) <= head + tail + 1:
        return list(lines)
    return lines[:head] + [f"... ({len(lines) - head - tail} lines left out) ..."] + lines[-tail:]


def _fmt(v, spec=".4f") -> str:
    return format(v, spec) if isinstance(v, (int, float)) and math.isfinite(v) else "n/a"


# -- the Markdown --------------------------------------------------------------------------------------------
def render_markdown(rep: RunReport) -> str:
    cfg = rep.config
    task, model, train = cfg.get("task", {}), cfg.get("model", {}), cfg.get("train", {})
    what = (f"remember x[t-{task.get('lag')}] ({task.get('kind')}, p = {task.get('p')}), "
            f"GRU of {model.get('units')} units, {train.get('mode')}")
    if train.get("mode") == "online":
        what += f" ({train.get('rule')}, window {train.get('window')}, {train.get('steps'):,} steps)"
    else:
        what += f" ({train.get('epochs')} epochs of {train.get('n_sequences'):,} sequences)"
    verdict = (rep.verdict or {}).get("text") or "no verdict (nothing was measured)"
    out = ["# GRU Memory Lab run report", "", f"**Task:** {what}.", f"**Verdict:** {verdict}."]
    if rep.heldout:
        h = rep.heldout
        out.append(f"**Held-out:** accuracy {_fmt(h.get('accuracy'))}, loss {_fmt(h.get('loss'))} over "
                   f"{int(h.get('steps') or 0):,} {h.get('unit', 'steps')}" + (f" ({h['how']})" if h.get("how") else "")
                   + ".")
    out += [f"**{label}:** {text}" for label, text in rep.figures.items()]
    out[2:] = [line + "  " for line in out[2:]]  # one line each (a Markdown hard break)
    for note in rep.notes:
        out += ["", f"> {note}"]
    out += ["", "## Hints", ""]
    if rep.hints:
        out += [f"- **{h.get('level', 'info')}: {h.get('title', '')}** {h.get('text', '')}".rstrip() for h in rep.hints]
    else:
        out.append("- none: nothing to warn about")
    if rep.images:
        out += ["", "## Pictures"]
        for im in rep.images:
            out += ["", f"**{im.title}:** {im.caption}.", "", f"![{im.title}]({link_target(im.file)})"]
    out += ["", "## Log", "", "```text", *(trim_log(rep.log) or ["(no log)"]), "```"]
    out += ["", "## Config", "", "```toml", config_toml(cfg), "```"]
    out += ["", "## Reproduce", "", "```sh", rep.command or "(unknown)", "```"]
    versions = software_versions()
    out += ["", "## Software", "", "| " + " | ".join(versions) + " |", "|" + "---|" * len(versions),
            "| " + " | ".join(versions.values()) + " |", "", f"_Written by GRU Memory Lab ({rep.source})._", ""]
    return "\n".join(out)


_LINK = re.compile(r"!?\[[^\]]*\]\((?:<((?:[^<>\\\n]|\\.)*)>|([^)\s<]+))\)")
_ESCAPED = re.compile(r"\\(.)")


def link_target(file: str) -> str:
    """A relative file name as a CommonMark link destination: in angle brackets (spaces allowed), with `\\`, `<`
    and `>` backslash-escaped, so the name can neither end the link nor open an HTML tag."""
    return "<" + re.sub(r"([\\<>])", r"\\\1", file) + ">"


def links(markdown: str) -> list[str]:
    """The link targets in `markdown` (images and links), in order, unescaped."""
    return [_ESCAPED.sub(r"\1", a) if a else b for a, b in _LINK.findall(markdown)]


def check_report_path(path, keys=("loss", "accuracy")) -> str | None:
    """Why a report cannot be written to `path` (suffix, folder, the name's length or shape) or its pictures
    `<stem>-<key>.png` for `keys` beside it (a folder there, a name too long), or None: checked before training."""
    if Path(path).suffix.lower() != ".md":
        return "the report's file name must end in .md"
    why = check_writable(path)
    if why is not None:
        return why
    for k in keys:
        png = image_path(path, k)
        why = check_writable(png)
        if why is not None:
            return f"its picture {png.name}: {why}"
    return None


def write_report(md_path, rep: RunReport, pngs: dict[str, bytes]) -> Path:
    """Write the PNGs named by `rep.images` (a picture missing from `pngs` is left out of the report) and the
    Markdown as one unit (core.atomic_io.write_files: all written under temporary names, then renamed, the .md
    last). ReportError (one message) when a file cannot be written: then no file of an old report changed."""
    why = check_report_path(md_path, keys=())
    if why is not None:
        raise ReportError(f"cannot write the report {md_path}: {why}; nothing of an old report changed")
    try:
        md_path = Path(md_path).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop (RuntimeError before Python 3.13)
        raise ReportError(f"cannot write the report {md_path}: {e}; nothing of an old report changed") from None
    rep.images = [im for im in rep.images if im.key in pngs]
    items = [(md_path.with_name(im.file), pngs[im.key]) for im in rep.images]
    items.append((md_path, render_markdown(rep).encode("utf-8")))
    try:
        write_files(items, error=ReportError)
    except ReportError as e:
        raise ReportError(f"{e.message}; nothing of an old report changed (the report and its pictures are "
                          "written together or not at all)") from None
    return md_path


# -- the headless runner's report ----------------------------------------------------------------------------
def headless_report(md_path, report: dict, log: list[str], command: str) -> tuple[RunReport, dict[str, bytes]]:
    """The report of `main.py train` (its JSON report dict and printed lines): loss and accuracy plots drawn
    without Qt (core/runs/report_plots.py) from the logged history."""
    from core.runs.report_plots import line_plot

    cfg = report["config"]
    hist, final = report.get("history", {}), report.get("final", {})
    online = cfg["train"]["mode"] == "online"
    if online:
        x, unit = hist.get("step", []), "step"
        every = (x[1] - x[0]) if len(x) > 1 else (x[0] if x else 0)
        loss = {"loss": hist.get("loss", [])}
        acc = {"accuracy": hist.get("accuracy", [])}
        how = f"each point averages the {every:,} steps before it (the log's lines; --log-every sets it)"
        heldout = {"accuracy": final.get("heldout_accuracy"), "loss": final.get("heldout_loss"),
                   "steps": final.get("heldout_steps"), "how": "the next steps of the stream, weights frozen"}
    else:
        x, unit = list(range(1, len(hist.get("loss", [])) + 1)), "epoch"
        loss = {"loss": hist.get("loss", []), "val_loss": hist.get("val_loss", [])}
        acc = {"accuracy": hist.get("accuracy", []), "val_accuracy": hist.get("val_accuracy", [])}
        how = "per epoch, as Keras logs it (val_: the validation split)"
        t = cfg["train"]
        n_val = (t["n_sequences"] - keras_split_at(t["n_sequences"], t["validation_split"])) * t["seq_len"]
        heldout = {"accuracy": final.get("val_accuracy"), "loss": final.get("val_loss"), "steps": n_val,
                   "unit": "validation targets", "how": "the validation split"}
    pngs = {"loss": line_plot("Loss", x, loss, xlabel=unit, ylabel="loss"),
            "accuracy": line_plot("Accuracy", x, acc, xlabel=unit, ylabel="accuracy", ylim=(0.0, 1.02))}
    rate = report.get("steps_per_second")
    figures = {"Run": f"{report.get('params', '?')} parameters, device {report.get('device', '?')}, "
               f"{report.get('elapsed_s', 0):.1f} s" + (f" ({rate:,.0f} {'steps' if online else 'minibatches'}/s)"
                                                       if rate else "")}
    captions = {"loss": f"the training loss, {how}", "accuracy": f"the training accuracy, {how}"}
    rep = RunReport(config=cfg, log=list(log), verdict=final.get("verdict"), hints=list(report.get("hints", [])),
                    heldout=heldout, figures=figures, command=command,
                    images=plan_images(md_path, ["loss", "accuracy"], captions), source="main.py train")
    return rep, pngs
