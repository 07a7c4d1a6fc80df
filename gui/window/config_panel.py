"""The config panel: one widget per config field, built from the fields' own metadata (ranges, choices, help).

Widgets enforce the ranges; presets fill every field; editing a field turns the preset to "custom". Fields that
need a new model apply on Reset, and the panel says which are pending (against the AppState's applied config,
which it follows but never writes); lr applies live. The pending note takes the theme's colours.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.config import PRESET_HELP, PRESETS, Config, ConfigError, all_fields, preset, range_text
from gui.app_state import AppState
from gui.plots.theme import Palette, follow

ONLINE_ONLY = {"rule", "window", "rtrl_decay", "steps", "eval_steps", "fidelity"}
EXTRA_TIPS = {"fidelity": "Off by default: TBPTT(1) runs about 2x slower with it (a shadow RTRL costs a little "
                          "less than one RTRL step; bench/online.py); see the Inspect dock's Gradient tab"}
BATCH_ONLY = {"n_sequences", "seq_len", "batch_size", "epochs", "shuffle", "validation_split"}
LABELS = {"kind": "task", "p": "P(x = 1)", "lag": "lag", "units": "units", "readout": "readout", "mode": "mode",
          "rule": "learning rule", "window": "truncation window k", "rtrl_decay": "RTRL decay",
          "optimizer": "optimizer", "lr": "learning rate", "loss": "loss", "device": "device", "seed": "seed",
          "steps": "steps", "eval_steps": "held-out steps", "n_sequences": "sequences N", "seq_len": "length L",
          "batch_size": "batch size", "epochs": "epochs", "shuffle": "shuffle", "validation_split": "validation split"}
SECTION_TITLES = {"task": "Task", "model": "Model", "train": "Training"}
FLOAT_DECIMALS = {"lr": 7, "p": 4, "rtrl_decay": 4, "validation_split": 3, "adam_eps": 10}


class ConfigPanel(QWidget):
    """Emits `edited()` whenever a field changes; `live_changed(name, value)` for fields that apply live."""

    edited = Signal()
    live_changed = Signal(str, object)

    def __init__(self, state: AppState, parent=None):
        super().__init__(parent)
        self.state = state
        self._loading = False
        self.widgets: dict[str, QWidget] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self.meta = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        pre = QGroupBox("Preset")
        pl = QFormLayout(pre)
        self.preset_box = QComboBox()
        for name in PRESETS:
            self.preset_box.addItem(name, name)
            self.preset_box.setItemData(self.preset_box.count() - 1, PRESET_HELP[name], 3)  # tooltip role
        self.preset_box.addItem("custom", "custom")
        self.preset_box.setToolTip("Start from a setup of the seed thread; editing any field makes it custom")
        self.preset_box.currentIndexChanged.connect(self._preset_chosen)
        pl.addRow("preset", self.preset_box)
        lay.addWidget(pre)
        forms = {}
        for section, title in SECTION_TITLES.items():
            box = QGroupBox(title)
            forms[section] = QFormLayout(box)
            lay.addWidget(box)
        for section, f in all_fields():
            w = self._make_widget(f)
            self.widgets[f.name] = w
            self.meta[f.name] = f
            label = QLabel(LABELS.get(f.name, f.name))
            allowed = "true | false" if isinstance(f.default, bool) else range_text(f.metadata)
            tip = f"{f.metadata['help']}\n" + (f"{EXTRA_TIPS[f.name]}\n" if f.name in EXTRA_TIPS else "") + (
                f"allowed: {allowed}\n") + (
                "applies live" if f.metadata.get("live") else "applies on Reset")
            w.setToolTip(tip)
            label.setToolTip(tip)
            forms[section].addRow(label, w)
            self.rows[f.name] = (label, w)
        self.pending = QLabel()
        self.pending.setWordWrap(True)
        self.pending.setVisible(False)
        lay.addWidget(self.pending)
        lay.addStretch(1)
        self.set_config(Config())
        state.applied_changed.connect(self._update_pending)
        follow(self.apply_theme)

    def apply_theme(self, t: Palette) -> None:
        """The pending-changes note in the theme's warning banner colours."""
        fg, bg, border = t.banners["pending"]
        self.pending.setStyleSheet(f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {border};"
                                   " border-radius: 3px; padding: 4px; }")

    def _make_widget(self, f) -> QWidget:
        m, d = f.metadata, f.default
        if isinstance(d, bool):
            w = QCheckBox()
            w.toggled.connect(lambda _v, n=f.name: self._field_edited(n))
            return w
        if m.get("choices"):
            w = QComboBox()
            for c in m["choices"]:
                w.addItem(c, c)
            w.currentIndexChanged.connect(lambda _v, n=f.name: self._field_edited(n))
            return w
        if isinstance(d, int):
            w = QSpinBox()
            hi = min(int(m["hi"]), 2**31 - 1)
            w.setRange(int(m["lo"]), hi)
            w.setGroupSeparatorShown(True)
            w.setAccelerated(True)
            w.valueChanged.connect(lambda _v, n=f.name: self._field_edited(n))
            return w
        w = QDoubleSpinBox()
        dec = FLOAT_DECIMALS.get(f.name, 4)
        w.setDecimals(dec)
        eps = 10.0 ** -dec
        lo = m["lo"] + (eps if m.get("lo_open") else 0.0)
        hi = m["hi"] - (eps if m.get("hi_open") else 0.0)
        w.setRange(lo, hi)
        w.setSingleStep(0.05 if f.name in ("p", "validation_split") else (1e-4 if f.name == "lr" else 0.01))
        w.valueChanged.connect(lambda _v, n=f.name: self._field_edited(n))
        return w

    # -- values -------------------------------------------------------------------------------------------
    def value(self, name: str):
        w = self.widgets[name]
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            if w.currentIndex() < 0:  # no selection (only reachable from code): treat as the first choice
                w.setCurrentIndex(0)
            return w.currentData()
        return w.value()

    def set_value(self, name: str, v) -> None:
        w = self.widgets[name]
        if isinstance(w, QCheckBox):
            w.setChecked(bool(v))
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(max(0, w.findData(v)))
        else:
            w.setValue(v)

    def config(self) -> Config:
        return Config().replace(**{name: self.value(name) for name in self.widgets})

    def set_config(self, cfg: Config, preset_name: str | None = None) -> None:
        self._loading = True
        try:
            for name, v in cfg.flat().items():
                self.set_value(name, v)
            name = preset_name or self._matching_preset(cfg)
            self.preset_box.setCurrentIndex(self.preset_box.findData(name))
        finally:
            self._loading = False
        self._update_visibility()
        self._update_pending()

    def _matching_preset(self, cfg: Config) -> str:
        for name in PRESETS:
            if preset(name).replace(seed=cfg.train.seed, device=cfg.train.device) == cfg:
                return name
        return "custom"

    def values(self) -> dict:
        """The widgets' values by field name, unchecked: each is in its range, but together they may not make a
        Config (core.config's joint bounds, e.g. a batch data set too large to build); config() says why."""
        return {name: self.value(name) for name in self.widgets}

    def pending_fields(self) -> list[str]:
        cur, old = self.values(), self.state.applied.flat()
        # live fields are applied the moment they change, so one that differs here was clamped by its widget
        def same(a, b):
            if isinstance(a, float) and isinstance(b, float):
                return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)  # a spin box's decimal rounding
            return a == b

        return [k for k in cur if not same(cur[k], old[k])]

    # -- reactions ----------------------------------------------------------------------------------------
    def _preset_chosen(self) -> None:
        if self._loading:
            return
        name = self.preset_box.currentData()
        if name in PRESETS:
            self.set_config(preset(name).replace(seed=self.value("seed"), device=self.value("device")), name)
            self.edited.emit()

    def _field_edited(self, name: str) -> None:
        if self._loading:
            return
        if self.preset_box.currentData() != "custom":
            self._loading = True
            try:
                match = self._matching_preset(self.config())
            except ConfigError:  # jointly out of bounds: no preset is, and Reset will say why
                match = "custom"
            self.preset_box.setCurrentIndex(self.preset_box.findData(match))
            self._loading = False
        if self.meta[name].metadata.get("live"):
            self.live_changed.emit(name, self.value(name))
        self._update_visibility()
        self._update_pending()
        self.edited.emit()

    def _update_visibility(self) -> None:
        mode = self.value("mode")
        for name, (label, w) in self.rows.items():
            show = not ((mode == "online" and name in BATCH_ONLY) or (mode == "batch" and name in ONLINE_ONLY))
            if name == "rtrl_decay":
                show = show and self.value("rule") == "rtrl"
            if name == "window":
                show = show and self.value("rule") == "tbptt"
            label.setVisible(show)
            w.setVisible(show)

    def _update_pending(self, *_applied) -> None:
        """The panel's one note: what changed and applies on Reset, or, when the fields together make no config
        (a rule or measurement that does not run the chosen cell, core.config), the one sentence saying why."""
        names = self.pending_fields()
        try:
            self.config()
            refused = ""
        except ConfigError as e:
            refused = e.message
        if refused:
            self.pending.setText(f"Reset refuses this: {refused}.")
        elif names:
            shown = ", ".join(LABELS.get(n, n) for n in names[:6]) + ("…" if len(names) > 6 else "")
            self.pending.setText(f"Changed: {shown}.\nThese apply on Reset (R); the learning rate applies live.")
        self.pending.setVisible(bool(names or refused))
