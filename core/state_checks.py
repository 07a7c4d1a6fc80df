"""Checking a trainer's saved state before taking it: `StateError` and `StateReader`.

A trainer's state is (tensors, meta): named tensors and a JSON-able dict. Each owner of a part (the trainer, its
online engine, the optimizer state in core/gru/optimizers.py) takes its own keys from one StateReader, checking shape,
type and range as it takes them, and returns how to install them; the trainer installs nothing until every part
was taken and nothing is left over. So a state that loads never fails later on a step, and adding a key to one
owner touches only that owner. Messages name the key: `StateError.text(prefix)` puts `prefix` before tensor
names (core/sessions/gmlab.py passes "trainer.", as the file names them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


class StateError(ValueError):
    """A saved state that does not fit; `name` is the tensor it concerns (None when it is not about one)."""

    def __init__(self, message: str, name: str | None = None):
        self.template, self.name = message, name
        super().__init__(self.text())

    def text(self, prefix: str = "") -> str:
        return self.template if self.name is None else self.template.replace("{name}", prefix + self.name)


def shape_text(s) -> str:
    s = tuple(s)
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def is_int(v) -> bool:
    return type(v) is int


def is_number(v) -> bool:
    return type(v) in (int, float)


MAX_STEPS = 2**53  # the most steps any count may claim: exact as a float, so no view overflows


def int_in(v, lo: int, hi: int, what: str) -> int:
    if not is_int(v) or not lo <= v <= hi:
        raise StateError(f"truncated or corrupt ({what} = {str(v)[:40]} is not an integer in [{lo}, {hi}])")
    return v


def bits(v, what: str, length: int | None = None) -> list:
    if not isinstance(v, list) or not all(is_int(b) and b in (0, 1) for b in v):
        raise StateError(f"truncated or corrupt ({what} must be a list of 0/1 bits)")
    if length is not None and len(v) != length:
        raise StateError(f"truncated or corrupt ({what} has {len(v)} bits, expected {length})")
    return v


class StateReader:
    """Hands out a state's parts to their owners, each part once; `finish()` refuses whatever nobody took."""

    def __init__(self, tensors: Mapping[str, Any], meta: Mapping[str, Any], what: str = "trainer"):
        if not isinstance(meta, Mapping):
            raise StateError(f"truncated or corrupt (the {what} position is not a table)")
        self._tensors = dict(tensors)
        self._meta = dict(meta)
        self.what = what

    def has(self, name: str) -> bool:
        return name in self._tensors

    def tensor(self, name: str, shape: tuple[int, ...], dtype: torch.dtype = torch.float32,
               needs: str = "this config needs") -> torch.Tensor:
        """Take tensor `name`, which must have `shape` and `dtype`."""
        if name not in self._tensors:
            raise StateError(f"the {self.what} state lacks {{name}}", name)
        t = self._tensors.pop(name)
        if not torch.is_tensor(t):
            t = torch.as_tensor(t)
        if tuple(t.shape) != tuple(shape):
            raise StateError(f"{{name}} has shape {shape_text(t.shape)}, but {needs} {shape_text(shape)}", name)
        if t.dtype != dtype:
            raise StateError(f"{{name}} holds {_np_name(t.dtype)} values, expected {_np_name(dtype)}", name)
        return t

    def tensors_named(self, prefix: str) -> list[str]:
        """The names of the tensors still untaken that start with `prefix`, sorted."""
        return sorted(k for k in self._tensors if k.startswith(prefix))

    def value(self, key: str) -> Any:
        """Take the position's entry `key`."""
        if key not in self._meta:
            raise StateError(f"the {self.what} position lacks {key} (made for another trainer?)")
        return self._meta.pop(key)

    def finish(self) -> None:
        if self._meta:
            unknown = ", ".join(sorted(str(k)[:40] for k in self._meta))
            raise StateError(f"the {self.what} position has unknown {unknown} (made for another trainer?)")
        if self._tensors:
            name = sorted(self._tensors)[0]
            raise StateError(f"{{name}} is not part of this {self.what}'s state (made for another trainer?)",
                             name[:80])


def _np_name(dtype: torch.dtype) -> str:
    return str(torch.empty(0, dtype=dtype).numpy().dtype)


def take_model(r: StateReader, model: torch.nn.Module, cfg) -> dict[str, torch.Tensor]:
    """The model's tensors (`model.<name>`), shaped as this config's model; for `model.load_state_dict`."""
    needs = (f"this config (model.units = {cfg.model.units}, readout {cfg.model.readout}, cell {cfg.model.cell}) "
             "needs")
    return {k: r.tensor(f"model.{k}", tuple(v.shape), v.dtype, needs) for k, v in model.state_dict().items()}
