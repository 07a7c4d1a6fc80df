"""Themes (issue 22, 3): under --theme dark the plots are dark and every text reads on its background (WCAG
contrast ≥ 4.5, computed from the colours the widgets and plots really use and from grabbed pixels); the same
under light; View ▸ Theme re-colours the plots already made; the choice is remembered, --theme is not."""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from gui.app import parse
from gui.plots.theme import contrast, luminance, manager
from gui.settings import WindowSettings
from gui.window.appearance import THEME_KEY, remembered, start_theme
from tests.gui_helpers import make_window

AA = 4.5  # WCAG AA for text


@pytest.fixture(autouse=True)
def _theme_back_to_system():
    yield
    manager().set_choice("system")


def _plots(win):
    """(name, GraphicsView, PlotItem) of every live plot and the Inspector's plots."""
    out = [(k, v, v.getPlotItem()) for k, v in (("bits", win.bits), ("loss", win.loss), ("accuracy", win.acc))]
    out.append(("hidden", win.hidden.plot_widget, win.hidden.plot))
    for k in ("portrait", "probe"):
        view = getattr(win.inspect, k)
        out.append((k, view, view.getPlotItem()))
    return out


def _grabbed_background(view) -> QColor:
    """The colour the view really painted in its top-left corner (the plot's background)."""
    return view.grab().toImage().pixelColor(2, 2)


def _css(sheet: str, prop: str) -> str:
    m = re.search(rf"(?<![-\w]){prop}\s*:\s*(#[0-9a-fA-F]{{6}})", sheet)
    assert m, f"no {prop} in {sheet!r}"
    return m.group(1)


def _check_readable(win, dark: bool) -> None:
    for name, view, plot in _plots(win):
        bg = _grabbed_background(view)
        assert (luminance(bg) < 0.05) if dark else (luminance(bg) > 0.8), (name, bg.name())
        assert view.backgroundBrush().color().name() == bg.name(), name  # exports take this brush
        for side in ("left", "bottom"):
            text = plot.getAxis(side).textPen().color()
            assert contrast(text, bg) >= AA, (name, side, text.name(), bg.name())
        title = plot.titleLabel.opts["color"]
        assert contrast(title, bg) >= AA, (name, "title", title, bg.name())
        legend = getattr(plot, "legend", None)
        for _sample, label in (legend.items if legend is not None else ()):
            assert contrast(label.opts["color"], bg) >= AA, (name, label.text)
    eq = win.inspect.inspector.eq.styleSheet()  # the Inspector's equations
    assert contrast(_css(eq, "color"), _css(eq, "background")) >= AA, eq
    assert (luminance(_css(eq, "background")) < 0.05) if dark else (luminance(_css(eq, "background")) > 0.8)
    win.message.error("a message")
    bar = win.message.styleSheet()
    assert contrast(_css(bar, "color"), _css(bar, "background")) >= AA, bar
    pal = QApplication.palette()  # Qt's own widgets: the app palette (Fusion)
    for fg, bg in ((QPalette.WindowText, QPalette.Window), (QPalette.Text, QPalette.Base),
                   (QPalette.ButtonText, QPalette.Button)):
        assert contrast(pal.color(fg), pal.color(bg)) >= AA
        assert (luminance(pal.color(bg)) < 0.05) if dark else (luminance(pal.color(bg)) > 0.5)
    cmap = win.hidden.cbar.colorMap().name
    assert cmap == ("CET-D4" if dark else "CET-D1"), cmap  # a diverging map whose middle is the background's side


@pytest.mark.parametrize("flag", ["dark", "light"])
def test_theme_from_the_command_line_reads_everywhere(qtbot, tmp_path, monkeypatch, flag):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    args, _cfg = parse(["--theme", flag])
    assert start_theme(args.theme, WindowSettings().store) == flag  # what gui.app.main does before the window
    win = make_window(qtbot, tmp_path, monkeypatch)
    try:
        _check_readable(win, dark=flag == "dark")
        assert remembered(win.settings.store) == "system"  # --theme is for this run: nothing remembered
    finally:
        win.close()


def test_switching_theme_recolours_existing_plots_and_is_remembered(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    start_theme("light", WindowSettings().store)
    win = make_window(qtbot, tmp_path, monkeypatch)
    try:
        _check_readable(win, dark=False)
        theme_menu = next(a.menu() for a in win.m_view.actions() if a.menu() is not None
                          and a.menu().title() == "&Theme")
        theme_menu.theme_actions["dark"].trigger()  # View ▸ Theme ▸ Dark
        _check_readable(win, dark=True)  # the same plots, re-coloured
        assert win.settings.store.value(THEME_KEY) == "dark"
        assert start_theme(None, WindowSettings().store) == "dark"  # the next start opens dark
        assert start_theme("light", WindowSettings().store) == "light"  # a --theme flag wins for its run
        assert remembered(WindowSettings().store) == "dark"
        theme_menu.theme_actions["light"].trigger()
        _check_readable(win, dark=False)
    finally:
        win.close()


def test_a_damaged_remembered_theme_means_system(tmp_path, monkeypatch):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    store = WindowSettings().store
    store.setValue(THEME_KEY, "purple")
    assert remembered(store) == "system"


def test_exports_carry_the_theme_shown(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GML_SETTINGS", str(tmp_path / "settings.ini"))
    start_theme("dark", WindowSettings().store)
    win = make_window(qtbot, tmp_path, monkeypatch)
    try:
        png = win.exports.export_view("loss", tmp_path / "loss.png")
        corner = QImage(str(png)).pixelColor(2, 2)
        assert luminance(corner) < 0.05, corner.name()
        svg = win.exports.export_view("loss", tmp_path / "loss.svg").read_text()
        assert manager().palette.plot_bg in svg.lower()  # the SVG's background is the dark plot background
    finally:
        win.close()
