"""Actions and keys: `make_action` (a QAction with its shortcuts named in its tooltip; the standard keys, Save, Open,
Save As, Quit and Close, are the platform's through QKeySequence.StandardKey) and `FieldKeys`, which keeps the
window's shortcuts working while a number field has focus.

A spin box's line edit claims every printable key, so Space, R, S or P typed in a config field would never reach
the window. `FieldKeys` gives those keys back to the window (after the field took in what was typed, so R
resets with the value just typed); the field keeps what it needs to edit a number: digits, sign and decimal
point, Backspace/Delete, Home/End, Up/Down (its value) and Left/Right (the cursor; → steps when no text field
has focus, S always does). Enter or Escape in a field applies it and leaves it: focus goes back to the plots.
A focused slider keeps its keys (arrows, Page Up/Down, Home/End move it; → does not step the run there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QLineEdit, QWidget

FIELD_KEYS = {Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down, Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp,
              Qt.Key_PageDown, Qt.Key_Backspace, Qt.Key_Delete, Qt.Key_Tab, Qt.Key_Backtab,
              Qt.Key_Minus, Qt.Key_Plus, Qt.Key_Period, Qt.Key_Comma, *range(Qt.Key_0, Qt.Key_9 + 1)}
LEAVE_KEYS = {Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape}
SLIDER_KEYS = {Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down, Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp,
               Qt.Key_PageDown}


def key_sequences(keys) -> list[QKeySequence]:
    """The shortcuts `keys` name: a string ("Space", "F12") is one key; a QKeySequence.StandardKey is the
    platform's own keys for it (Save is Ctrl+S on every desktop; Quit is Ctrl+Q on GNOME and KDE but has no key
    on Windows or a bare X11, so a string after it is the fallback). Duplicates are left out."""
    out: list[QKeySequence] = []
    for k in keys:
        seqs = QKeySequence.keyBindings(k) if isinstance(k, QKeySequence.StandardKey) else [QKeySequence(k)]
        out += [q for q in seqs if not q.isEmpty() and q not in out]
    return out


def keys_text(keys) -> str:
    """The keys of `keys` a keyboard types, as the platform names them ("Ctrl+S or F12"): the dedicated keys some
    keyboards have (a Save or Exit key, which Qt also binds) are left out of the text."""
    typed = [q for q in key_sequences(keys) if q[0].key() < Qt.Key_Super_L]  # printable, arrows, F1-F35
    return " or ".join(q.toString(QKeySequence.NativeText) for q in typed)


def make_action(parent: QObject, text: str, slot, keys=(), tip: str = "") -> QAction:
    """A QAction parented to `parent`; `keys` are shortcut strings ("Ctrl+R") or standard keys
    (QKeySequence.StandardKey.Save), listed in the tooltip."""
    a = QAction(text, parent)
    if keys:
        a.setShortcuts(key_sequences(keys))
        tip = f"{tip} ({keys_text(keys)})"
    a.setToolTip(tip.strip())
    a.setStatusTip(tip.strip())
    a.triggered.connect(slot)
    return a


def _spin_box(obj) -> QAbstractSpinBox | None:
    """The spin box `obj` is, or whose line edit it is."""
    if isinstance(obj, QAbstractSpinBox):
        return obj
    parent = obj.parent() if isinstance(obj, QLineEdit) else None
    return parent if isinstance(parent, QAbstractSpinBox) else None


class FieldKeys(QObject):
    """Watches number fields (`watch_all(root)`); `shortcuts()` gives the window's shortcut key sequences, and
    `leave()` moves the focus out of a field (to the plots)."""

    def __init__(self, shortcuts: Callable[[], Iterable[QKeySequence]], leave: Callable[[], None], parent=None):
        super().__init__(parent)
        self.shortcuts, self.leave = shortcuts, leave
        self._watched: set[int] = set()

    def watch_all(self, root: QWidget) -> None:
        """Watch every spin box under `root` (and its line edit, which holds the focus while editing) and every
        slider."""
        sliders = [s for s in root.findChildren(QAbstractSlider) if not isinstance(s, QAbstractSpinBox)]
        for s in sliders:
            if id(s) not in self._watched:
                self._watched.add(id(s))
                s.installEventFilter(self)
        for spin in root.findChildren(QAbstractSpinBox):
            for w in (spin, *spin.findChildren(QLineEdit)):
                if id(w) not in self._watched:
                    self._watched.add(id(w))
                    w.installEventFilter(self)

    def _window_key(self, event) -> bool:
        """A shortcut of the window that a number field does not need."""
        if event.key() in FIELD_KEYS and not (event.modifiers() & (Qt.ControlModifier | Qt.AltModifier)):
            return False
        pressed = QKeySequence(event.keyCombination())
        return any(seq.matches(pressed) == QKeySequence.ExactMatch for seq in self.shortcuts())

    def eventFilter(self, obj, event) -> bool:
        t = event.type()
        if t not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        if isinstance(obj, QAbstractSlider):  # its keys move it: claimed before any shortcut of the window
            if (t == QEvent.ShortcutOverride and event.key() in SLIDER_KEYS
                    and not (event.modifiers() & (Qt.ControlModifier | Qt.AltModifier))):
                event.accept()  # accepted override: the slider gets the key press, the shortcut does not fire
                return True
            return False
        spin = _spin_box(obj)
        if spin is None:
            return False
        if t == QEvent.ShortcutOverride:
            if self._window_key(event):
                spin.interpretText()  # what was typed counts: R then resets with it
                event.ignore()        # not claimed by the field: the window's shortcut fires
                return True
            return False
        if event.key() in LEAVE_KEYS and not (event.modifiers() & ~Qt.KeypadModifier):
            spin.interpretText()
            self.leave()
            return True
        return False
