"""The one theme: the light and dark palettes that every plot, heatmap, reference line, stylesheet and painted
widget takes its colours from; the choice (system, light or dark: "system" follows Qt's
QStyleHints.colorScheme, live); the application's Fusion QPalette, so Qt's own widgets match; and `follow`,
through which a view re-colours itself when the theme changes at run time. Exports and recordings grab what is
shown, so they carry the theme shown. `contrast` is WCAG 2's contrast ratio (the tests hold text to it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

CHOICES = ("system", "light", "dark")


@dataclass(frozen=True)
class Palette:
    """The colours of one theme. Text colours (fg, muted, good, warn, bad, info) read at WCAG AA (≥ 4.5:1) on
    `window`, `base`, `plot_bg` and `panel`; series colours are told apart on `plot_bg`."""

    name: str
    window: str     # window and button background
    base: str       # text fields, tables, lists
    fg: str         # text everywhere
    muted: str      # secondary text
    plot_bg: str
    plot_fg: str    # axes, ticks, titles, legends
    grid: str
    ref: str        # neutral reference lines (rows, zero, constant predictor, base rate)
    panel: str      # the Inspector's equations and other boxed text
    border: str
    highlight: str
    good: str
    warn: str
    bad: str
    info: str
    series: dict = field(default_factory=dict)  # role → colour (x, y, p, wrong, marker, loss, accuracy, …)
    banners: dict = field(default_factory=dict)  # level → (fg, bg, border): message bar, pending changes
    diverging: str = "CET-D1"  # heatmap colour map of values in (−1, 1)
    sequential: str = "viridis"  # heatmap colour map of gates in (0, 1)

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    def color(self, role: str) -> str:
        """A series colour by role (`self.series`), a palette field by name, or `role` itself (a literal colour)."""
        if role in self.series:
            return self.series[role]
        value = getattr(self, role, None)
        return value if isinstance(value, str) and role != "name" else role

    def tint(self, color, amount: float = 0.22) -> QColor:
        """`color` faded towards the plot background (opaque: alpha blending is slow to paint); on a dark
        background a fainter fade would vanish, so it keeps at least 40 % of the colour there."""
        amount = max(amount, 0.4) if self.dark else amount
        c, bg = pg.mkColor(self.color(color) if isinstance(color, str) else color), QColor(self.plot_bg)
        mix = [int(round(b + amount * (v - b))) for v, b in ((c.red(), bg.red()), (c.green(), bg.green()),
                                                            (c.blue(), bg.blue()))]
        return QColor(*mix)

    def stylesheet_label(self, level: str) -> str:
        """A QLabel stylesheet for a boxed banner of `level` (info, error, pending)."""
        fg, bg, border = self.banners[level]
        return f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {border}; padding: 3px; }}"


LIGHT = Palette(
    name="light", window="#efefef", base="#ffffff", fg="#1a1a1a", muted="#555555", plot_bg="#ffffff",
    plot_fg="#1a1a1a", grid="#e4e4e4", ref="#606060", panel="#fafafa", border="#c8c8c8", highlight="#3074c4",
    good="#1a7f37", warn="#8a5a00", bad="#c62828", info="#0b4f8a",
    series={"x": "#1f77b4", "y": "#2ca02c", "p": "#ff7f0e", "wrong": "#d62728", "marker": "#9467bd",
            "loss": "#1f77b4", "accuracy": "#2ca02c", "epochs": "#d62728", "solved": "#1a7a1a",
            "all": "#1f77b4", "input": "#2ca02c", "recurrent": "#d62728", "biases": "#9467bd", "readout": "#ff7f0e",
            "class0": "#1f77b4", "class1": "#d62728", "unlabelled": "#b0b0b0", "bars": "#1f77b4",
            "sensitivity": "#9467bd", "lag": "#d62728", "rec": "#d00000"},
    banners={"info": ("#0b4f8a", "#e3f0fb", "#9cc3e6"), "error": ("#8a1111", "#fde8e8", "#e6a0a0"),
             "pending": ("#8a5a00", "#fff4d6", "#e0c080")},
    diverging="CET-D1", sequential="viridis")

DARK = Palette(
    name="dark", window="#2b2b2b", base="#1e1e1e", fg="#e8e8e8", muted="#b0b0b0", plot_bg="#1c1c1c",
    plot_fg="#e0e0e0", grid="#363636", ref="#9a9a9a", panel="#252526", border="#4a4a4a", highlight="#3d7fd1",
    good="#5cc26a", warn="#e6b450", bad="#ff7070", info="#7cbcf2",
    series={"x": "#4aa3e8", "y": "#5cc26a", "p": "#ffa040", "wrong": "#ff5c5c", "marker": "#c39bff",
            "loss": "#4aa3e8", "accuracy": "#5cc26a", "epochs": "#ff5c5c", "solved": "#6fcf6f",
            "all": "#4aa3e8", "input": "#5cc26a", "recurrent": "#ff5c5c", "biases": "#c39bff", "readout": "#ffa040",
            "class0": "#4aa3e8", "class1": "#ff5c5c", "unlabelled": "#6a6a6a", "bars": "#4aa3e8",
            "sensitivity": "#c39bff", "lag": "#ff5c5c", "rec": "#ff4040"},
    banners={"info": ("#d2e8ff", "#15324d", "#2f5f8a"), "error": ("#ffdada", "#4a1818", "#8a3030"),
             "pending": ("#ffe3a8", "#3d2f10", "#7a5c20")},
    diverging="CET-D4", sequential="viridis")  # blue-black-red: its middle (0) is dark like the background

PALETTES = {"light": LIGHT, "dark": DARK}


def luminance(color) -> float:
    """WCAG 2's relative luminance of a colour (a name, '#rrggbb', a QColor or an (r, g, b) tuple)."""
    c = pg.mkColor(color) if not isinstance(color, QColor) else color

    def lin(v: int) -> float:
        s = v / 255.0
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.red()) + 0.7152 * lin(c.green()) + 0.0722 * lin(c.blue())


def contrast(a, b) -> float:
    """WCAG 2's contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background) -> QColor:
    """Black or white, whichever reads better on `background` (text on a coloured cell)."""
    return QColor("black") if contrast("black", background) >= contrast("white", background) else QColor("white")


def system_scheme() -> str:
    """"dark" when the desktop asks for a dark scheme (QStyleHints.colorScheme), else "light"."""
    app = QGuiApplication.instance()
    if app is None:
        return "light"
    return "dark" if QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark else "light"


def qt_palette(p: Palette) -> QPalette:
    """The application palette of a theme (for the Fusion style): Qt's own widgets in the theme's colours."""
    pal = QPalette()
    roles = {QPalette.Window: p.window, QPalette.WindowText: p.fg, QPalette.Base: p.base,
             QPalette.AlternateBase: p.panel, QPalette.ToolTipBase: p.panel, QPalette.ToolTipText: p.fg,
             QPalette.PlaceholderText: p.muted, QPalette.Text: p.fg, QPalette.Button: p.window,
             QPalette.ButtonText: p.fg, QPalette.BrightText: p.bad, QPalette.Highlight: p.highlight,
             QPalette.HighlightedText: "#ffffff", QPalette.Link: p.info, QPalette.LinkVisited: p.info,
             QPalette.Light: "#ffffff" if not p.dark else "#4a4a4a", QPalette.Midlight: p.border,
             QPalette.Mid: p.border, QPalette.Dark: "#a0a0a0" if not p.dark else "#151515",
             QPalette.Shadow: "#000000"}
    for role, colour in roles.items():
        pal.setColor(QPalette.All, role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(p.muted))
    return pal


class ThemeManager(QObject):
    """Holds the choice and the palette shown; `changed` carries the new Palette whenever the shown one changes
    (a menu choice, --theme, or the desktop's scheme while the choice is "system")."""

    changed = Signal(object)

    def __init__(self):
        super().__init__()
        self.choice = "system"
        self.palette = LIGHT
        self._hooked = False
        self._applied = False

    def set_choice(self, choice: str) -> Palette:
        """Show the theme `choice` (one of CHOICES); returns the palette now shown."""
        if choice not in CHOICES:
            raise ValueError(f"unknown theme {choice!r}: expected one of {', '.join(CHOICES)}")
        self.choice = choice
        app = QGuiApplication.instance()
        if app is not None and not self._hooked:
            QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)
            self._hooked = True
        self._show(PALETTES[system_scheme() if choice == "system" else choice])
        return self.palette

    def _system_changed(self, *_a) -> None:
        if self.choice == "system":
            self._show(PALETTES[system_scheme()])

    def _show(self, pal: Palette) -> None:
        pg.setConfigOptions(background=pal.plot_bg, foreground=pal.plot_fg)  # plots made later start right
        app = QGuiApplication.instance()
        if app is not None and hasattr(app, "setStyle"):  # a QApplication: widgets take the palette
            if app.style().name().lower() != "fusion":
                app.setStyle("Fusion")  # the platform styles ignore a palette in places; Fusion draws with it
            app.setPalette(qt_palette(pal))
        changed = pal is not self.palette or not self._applied
        self.palette, self._applied = pal, True
        if changed:
            self.changed.emit(pal)


_manager: ThemeManager | None = None


def manager() -> ThemeManager:
    """The one ThemeManager of the process."""
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def current() -> Palette:
    """The palette shown now."""
    return manager().palette


def follow(slot) -> None:
    """Call `slot(palette)` now and again whenever the theme changes. `slot` is a bound method of a QObject, so
    the connection ends with that object."""
    slot(current())
    manager().changed.connect(slot)


def colour_scene(view: pg.GraphicsView, p: Palette) -> None:
    """Re-colour what every plot shares in one view: its background, axes and tick labels, titles and labels,
    legends and the grid. Series, markers and maps are their view's own (each view's apply_theme)."""
    view.setBackground(p.plot_bg)
    scene = view.scene()
    if scene is None:
        return
    fg = pg.mkColor(p.plot_fg)
    for item in scene.items():
        if isinstance(item, pg.AxisItem):
            item.setPen(pg.mkPen(p.muted))
            item.setTextPen(pg.mkPen(fg))
        elif isinstance(item, pg.LabelItem):
            item.opts["color"] = p.plot_fg
            item.setText(item.text)
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(fg)
        elif isinstance(item, pg.GridItem):
            item.setPen(pg.mkPen(p.grid, width=1))
            item.picture = None
            item.update()
