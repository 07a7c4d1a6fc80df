"""View ▸ Theme: System (the desktop's colour scheme), Light or Dark, remembered in the settings as `view/theme`;
the theme a window starts in (`--theme`, else the remembered choice, else System). The colours themselves are
gui.plots.theme's."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from gui.plots.theme import CHOICES, manager

THEME_KEY = "view/theme"
LABELS = {"system": "&System", "light": "&Light", "dark": "&Dark"}


def remembered(store: QSettings) -> str:
    """The remembered choice; "system" when none was remembered or the value is not one of CHOICES."""
    try:
        raw = store.value(THEME_KEY)
    except Exception:  # noqa: BLE001 - a value QSettings itself cannot read back: not remembered
        return "system"
    return raw if raw in CHOICES else "system"


def start_theme(flag: str | None, store: QSettings) -> str:
    """Show the theme a window starts in: `--theme` when given (for this run only), else the remembered one."""
    choice = flag or remembered(store)
    manager().set_choice(choice)
    return choice


def choose(store: QSettings, choice: str) -> None:
    """Show `choice` now (every view re-colours itself) and remember it."""
    manager().set_choice(choice)
    store.setValue(THEME_KEY, choice)
    store.sync()


def install(menu: QMenu, store: QSettings) -> QMenu:
    """Add the Theme submenu to `menu` (View): one exclusive action per choice, the one shown checked."""
    sub = menu.addMenu("&Theme")
    group = QActionGroup(sub)
    group.setExclusive(True)
    actions: dict[str, QAction] = {}
    for choice in CHOICES:
        a = QAction(LABELS[choice], sub, checkable=True)
        a.setData(choice)
        a.setToolTip("Follow the desktop's colour scheme" if choice == "system" else f"Always {choice}")
        a.triggered.connect(lambda _c=False, c=choice: choose(store, c))
        group.addAction(a)
        sub.addAction(a)
        actions[choice] = a

    def check() -> None:
        actions[manager().choice].setChecked(True)

    sub.aboutToShow.connect(check)
    check()
    sub.theme_actions = actions  # tests and automation trigger them
    return sub
