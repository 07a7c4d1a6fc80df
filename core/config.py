"""Run configuration: task, model and training dataclasses, their validation, presets, dict round trips.

Every field carries its own metadata (help, allowed range or choices), so validation messages, the command
line flags and the GUI's widgets all come from one place.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from core import learning_rules


class ConfigError(ValueError):
    """A config value out of range; `field` names the offending field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _f(default, help: str, *, lo=None, hi=None, lo_open=False, hi_open=False, choices=None, live=False):
    """A dataclass field with its range metadata. `live`: can change without rebuilding the model."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "live": live}
    return field(default=default, metadata=meta)


@dataclass
class TaskConfig:
    kind: str = _f("not", "target over the past: not = NOT x[t-lag], copy = x[t-lag], xor = x[t] XOR x[t-lag]",
                   choices=("not", "copy", "xor"))
    p: float = _f(0.25, "probability that an input bit is 1", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    lag: int = _f(1, "how many steps back the target looks (0 = the current input)", lo=0, hi=64)


@dataclass
class ModelConfig:
    units: int = _f(16, "hidden units of the recurrent cell", lo=1, hi=256)
    readout: str = _f("linear", "linear = a Linear layer on the state (Conv1D 1x1); "
                      "raw = loss on the hidden state itself (the question's mistake)", choices=("linear", "raw"))
    init: str = _f("torch", "initial weights: torch = nn.GRU/nn.Linear's uniform(+-1/sqrt(units)); keras = Keras's "
                   "(kernel glorot_uniform, recurrent kernel orthogonal, biases zero; readout glorot_uniform)",
                   choices=("torch", "keras"))
    cell: str = _f("gru", "recurrent cell: gru = GRU (Keras reset_after=True); lstm = LSTM (Keras's, one bias, "
                   "forget bias 1 under keras init); rnn = simple tanh RNN (Keras SimpleRNN); docs/cells.md",
                   choices=learning_rules.CELLS)


@dataclass
class TrainConfig:
    mode: str = _f("online", "online = stateful, batch 1, one timestep per update; batch = sequences in minibatches",
                   choices=("online", "batch"))
    rule: str = _f("tbptt", f"online learning rule: {learning_rules.help_text()}",
                   choices=learning_rules.NAMES)  # the catalogue, core/learning_rules.py
    window: int = _f(1, "online truncation window k (1 = one timestep per update, the question)", lo=1, hi=256)
    rtrl_decay: float = _f(1.0, "RTRL sensitivity decay per step (1 = exact)", lo=0.0, hi=1.0)
    fidelity: bool = _f(False, "online: measure each step's gradient against exact RTRL's (costs one RTRL step)")
    optimizer: str = _f("adam", "optimizer", choices=("adam", "sgd"))
    lr: float = _f(1e-3, "learning rate", lo=0.0, hi=100.0, lo_open=True, live=True)
    adam_eps: float = _f(1e-8, "Adam's epsilon, added to the bias-corrected sqrt(v) as torch does (torch's default "
                         "1e-8; Keras's is 1e-7, added to the uncorrected sqrt(v))", lo=0.0, hi=1.0, lo_open=True)
    loss: str = _f("mse", "mse, or bce on logits", choices=("mse", "bce"))
    device: str = _f("auto", "auto takes CUDA when present", choices=("auto", "cpu", "cuda"))
    seed: int = _f(0, "random seed (stream, split and weights)", lo=0, hi=2**31 - 1)
    steps: int = _f(20000, "online: training steps", lo=1, hi=10**9)
    eval_steps: int = _f(1000, "online: held-out steps after training (weights frozen, state carried)",
                         lo=0, hi=10**7)
    n_sequences: int = _f(10000, "batch: number of sequences", lo=2, hi=10**7)
    seq_len: int = _f(32, "batch: steps per sequence", lo=1, hi=10**5)
    batch_size: int = _f(512, "batch: minibatch size", lo=1, hi=10**6)
    epochs: int = _f(50, "batch: epochs", lo=1, hi=10**6)
    shuffle: bool = _f(True, "batch: shuffle the training sequences each epoch")
    validation_split: float = _f(0.1, "batch: fraction of sequences held out, taken from the end (as Keras)",
                                 lo=0.0, hi=1.0, hi_open=True)


MAX_BATCH_VALUES = 20_000_000  # n_sequences x seq_len a batch run may build (about 0.5 GB while generating)
BYTES_PER_BATCH_VALUE = 25  # numpy's float64 draw + int64 bits + torch float32 inputs and targets, at the peak


def batch_memory_text(n_values: int) -> str:
    """'7.3 TiB' for the memory a batch data set of n_values values needs while it is built."""
    b = float(n_values) * BYTES_PER_BATCH_VALUE
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.0f} {unit}" if unit == "bytes" else f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.1f} TiB"


FLOAT32_TINY = 1.1754943508222875e-38  # float32's smallest normal number: below it a value loses precision or is 0
FLOAT32_MAX = 3.4028234663852886e38

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]{1,400}(\.[0-9]{0,400})?|\.[0-9]{1,400})([eE][+-]?[0-9]{1,5})?")


def parse_int(text: str) -> int:
    """An integer typed by a person: ASCII digits with an optional sign, at most 30 digits; no '_', no other
    scripts' digits, no spaces inside (int() takes all three). ValueError says why."""
    t = text.strip()
    if not _INT_TEXT.fullmatch(t):
        raise ValueError(f"{text!r} is not an integer (ASCII digits 0-9, at most 30)")
    return int(t)


def parse_float(text: str) -> float:
    """A number typed by a person: ASCII decimal or scientific notation (1e-3, 0.5, 2); no '_', no inf or nan,
    no other scripts' digits; a nonzero value must be a normal float32 (FLOAT32_TINY..FLOAT32_MAX), as training is
    float32. ValueError says why."""
    t = text.strip()
    if not _FLOAT_TEXT.fullmatch(t):
        raise ValueError(f"{text!r} is not a number (ASCII digits, e.g. 0.001 or 1e-3; no inf or nan)")
    v = float(t)
    if v != 0 and not FLOAT32_TINY <= abs(v) <= FLOAT32_MAX:
        what = "rounds to 0 or to a denormal" if abs(v) < FLOAT32_TINY else "overflows"
        raise ValueError(f"{text!r} {what} in float32 (nonzero magnitudes from {FLOAT32_TINY:.4g} to "
                         f"{FLOAT32_MAX:.4g})")
    return v


MAX_BATCH_TRAIN_BYTES = 4 << 30  # what a batch run may take at its peak (batch_training_bytes), before it starts


def memory_text(n_bytes: float) -> str:
    """'7.3 GiB' for a byte count."""
    return batch_memory_text(int(n_bytes / BYTES_PER_BATCH_VALUE))


def batch_training_bytes(n_sequences: int, seq_len: int, batch_size: int, validation_split: float,
                         units: int) -> int:
    """An estimate of a batch run's peak memory: building the data set (BYTES_PER_BATCH_VALUE a value) plus the
    larger of a minibatch's and the validation pass's activations: about 100 bytes a value and 12 per unit and
    value (fitted to the peaks measured for issue 21: 2.7 GB at 1,000,000 x 20 sequences, batch 1,000,000 and 2
    units; 55 GB with 256 units)."""
    n_val = n_sequences - math.floor(n_sequences * (1.0 - validation_split))
    rows = max(min(batch_size, n_sequences - n_val), n_val)
    return n_sequences * seq_len * BYTES_PER_BATCH_VALUE + rows * seq_len * (100 + 12 * units)


SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


def _check(section: str, obj: Any) -> None:
    for f in dataclasses.fields(obj):
        name, meta, value = f.name, f.metadata, getattr(obj, f.name)
        label = f"{section}.{name}"
        typ = type(f.default)
        if typ is bool:
            if not isinstance(value, bool):
                raise ConfigError(label, f"must be true or false, got {value!r}")
            continue
        if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(label, f"must be an integer, got {value!r}")
        if typ is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(label, f"must be a number, got {value!r}")
            if value != value or value in (float("inf"), float("-inf")):
                raise ConfigError(label, f"must be finite, got {value!r}")
            if value != 0 and not FLOAT32_TINY <= abs(value) <= FLOAT32_MAX:  # training is float32
                what = "rounds to 0 or to a denormal" if abs(value) < FLOAT32_TINY else "overflows"
                raise ConfigError(label, f"{value!r} {what} in float32, the precision training uses (nonzero "
                                  f"magnitudes from {FLOAT32_TINY:.4g} to {FLOAT32_MAX:.4g})")
        if typ is str and not isinstance(value, str):
            raise ConfigError(label, f"must be a string, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(label, f"must be one of {', '.join(meta['choices'])}; got {value!r}")
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and (value < lo or (meta["lo_open"] and value == lo)):
            raise ConfigError(label, f"must be {'>' if meta['lo_open'] else '>='} {lo}, got {value!r} "
                              f"(allowed {range_text(meta)})")
        if hi is not None and (value > hi or (meta["hi_open"] and value == hi)):
            raise ConfigError(label, f"must be {'<' if meta['hi_open'] else '<='} {hi}, got {value!r} "
                              f"(allowed {range_text(meta)})")


def range_text(meta) -> str:
    """Human text for a field's allowed range, e.g. '0 < p < 1' style: '(0, 1)' or '[1, 256]'."""
    if meta.get("choices"):
        return " | ".join(meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") else "["
    right = ")" if meta.get("hi_open") else "]"
    return f"{left}{lo}, {hi}{right}"


@dataclass
class Config:
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> Config:
        for name in SECTIONS:
            _check(name, getattr(self, name))
        t = self.train
        cell = self.model.cell
        if cell != "gru" and t.mode == "online":
            rule = learning_rules.learning_rule(t.rule)
            if cell not in rule.cells:
                runs = ", ".join(r.name for r in learning_rules.RULES if cell in r.cells)
                raise ConfigError("train.rule", f"rule {t.rule} runs the GRU only today; cell {cell} runs {runs} "
                                  "(docs/cells.md)")
            if t.fidelity:
                raise ConfigError("train.fidelity", f"gradient fidelity's shadow RTRL runs the GRU only today, not "
                                  f"cell {cell} (docs/cells.md)")
        if t.mode == "batch":
            if math.floor(t.n_sequences * (1.0 - t.validation_split)) < 1:  # as tasks.keras_split_at
                raise ConfigError("train.validation_split", "leaves no training sequences")
            n = t.n_sequences * t.seq_len  # checked before anything is allocated
            if n > MAX_BATCH_VALUES:
                raise ConfigError("train.n_sequences", f"n_sequences x seq_len = {n:,} values would need about "
                                  f"{batch_memory_text(n)} to build; at most {MAX_BATCH_VALUES:,} values "
                                  f"(about {batch_memory_text(MAX_BATCH_VALUES)})")
            need = batch_training_bytes(t.n_sequences, t.seq_len, t.batch_size, t.validation_split, self.model.units)
            if need > MAX_BATCH_TRAIN_BYTES:
                raise ConfigError("train.batch_size", f"this batch run would need about {memory_text(need)} "
                                  f"(the data set, plus {self.model.units} units' activations over a minibatch of "
                                  f"{min(t.batch_size, t.n_sequences):,} sequences of {t.seq_len:,}); at most "
                                  f"{memory_text(MAX_BATCH_TRAIN_BYTES)}: lower batch_size, units or n_sequences")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        """Build and validate from a plain dict; unknown keys are an error, missing ones take defaults."""
        if not isinstance(d, dict):
            raise ConfigError("config", f"must be a table/dict, got {type(d).__name__}")
        unknown = set(d) - set(SECTIONS)
        if unknown:
            raise ConfigError("config", f"unknown section(s): {', '.join(sorted(unknown))}")
        parts = {}
        for name, klass in SECTIONS.items():
            sub = d.get(name, {})
            if not isinstance(sub, dict):
                raise ConfigError(name, f"must be a table/dict, got {type(sub).__name__}")
            names = {f.name for f in dataclasses.fields(klass)}
            bad = set(sub) - names
            if bad:
                raise ConfigError(name, f"unknown field(s): {', '.join(sorted(bad))}")
            kwargs = dict(sub)
            for f in dataclasses.fields(klass):  # ints are acceptable where a float is expected
                if f.name in kwargs and type(f.default) is float and type(kwargs[f.name]) is int:
                    kwargs[f.name] = float(kwargs[f.name])
            parts[name] = klass(**kwargs)
        return cls(**parts).validate()

    def replace(self, **flat) -> Config:
        """A validated copy with flat field names changed, e.g. replace(lag=3, window=4)."""
        d = self.to_dict()
        for key, value in flat.items():
            section = field_section(key)
            d[section][key] = value
        return Config.from_dict(d)

    def flat(self) -> dict:
        out = {}
        for name in SECTIONS:
            out.update(dataclasses.asdict(getattr(self, name)))
        return out


def field_section(name: str) -> str:
    for section, klass in SECTIONS.items():
        if name in {f.name for f in dataclasses.fields(klass)}:
            return section
    raise ConfigError(name, "no such config field")


def all_fields():
    """(section, dataclasses.Field) for every config field, in display order."""
    for section, klass in SECTIONS.items():
        for f in dataclasses.fields(klass):
            yield section, f


# The seed thread's scripts (ai.stackexchange.com/q/33995), as exactly as this app can express them. Both ran
# Keras: its initialisation and Adam's epsilon 1e-7.
_KERAS = {"cell": "gru", "init": "keras"}
PRESETS: dict[str, dict] = {
    # The answer: X = np.random.rand(10000, 32, 1) > 0.5, Y = 1 - X; GRU(2, return_sequences) + Conv1D(1, 1)
    # (33 parameters); fit(batch_size=512, validation_split=0.1), 10 then 40 more epochs; Adam, MSE.
    "answer": {"task": {"kind": "not", "p": 0.5, "lag": 0},
               "model": {"units": 2, "readout": "linear", **_KERAS},
               "train": {"mode": "batch", "n_sequences": 10000, "seq_len": 32, "batch_size": 512,
                         "epochs": 50, "validation_split": 0.1, "shuffle": True, "optimizer": "adam", "lr": 1e-3,
                         "adam_eps": 1e-7, "loss": "mse"}},
    # The question: isBlack = randrange(4) == 2 (P = 1/4); a stateful GRU(16), batch 1, one timestep per fit;
    # y = NOT of the previous bit (SAME = False) repeated over all 16 units: the loss on the raw state.
    "question": {"task": {"kind": "not", "p": 0.25, "lag": 1},
                 "model": {"units": 16, "readout": "raw", **_KERAS},
                 "train": {"mode": "online", "window": 1, "steps": 20000, "optimizer": "adam", "lr": 1e-3,
                           "adam_eps": 1e-7, "loss": "mse"}},
    # The question, fixed: the same with a linear readout (the answer's "add a Dense/Conv1D layer").
    "question-fixed": {"task": {"kind": "not", "p": 0.25, "lag": 1},
                       "model": {"units": 16, "readout": "linear", **_KERAS},
                       "train": {"mode": "online", "window": 1, "steps": 20000, "optimizer": "adam", "lr": 1e-3,
                                 "adam_eps": 1e-7, "loss": "mse"}},
}

PRESET_HELP = {
    "answer": "the answer's script: batch GRU, 2 units, P(x=1) 0.5, target 1 - x, 10,000 sequences of 32, "
              "batch 512, 50 epochs, the last tenth for validation, Keras initialisation",
    "question": "the question's script: online GRU, 16 units, loss on the raw state, P(x=1) 1/4, "
                "target NOT x[t-1], window 1, Keras initialisation",
    "question-fixed": "the question with a linear readout",
}


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return Config.from_dict(PRESETS[name])
