"""Older session formats, brought up to the current one before a trainer sees them: one function per step.

`migrate(version, cfg, tensors, meta)` takes a file's config, trainer tensors (names without "trainer.") and
trainer position, as read from a file of format `version`, and returns them in the current format's layout.
Each step knows the layout it replaces; nothing else in the app does.

    1 -> 2   The optimizer's state moved from torch.optim's per-parameter layout (opt.<i>.step, opt.<i>.exp_avg,
             opt.<i>.exp_avg_sq; meta optimizer = {"param_groups": [torch's settings]}) to the one saved form of
             core/gru/optimizers.py (optim.m, optim.v flat in parameter order; meta optimizer = {"step"}). The learning
             rate a run had when saved (its param_groups' lr) becomes the config's train.lr, which is where
             format 2 keeps it. Other settings must be the ones this app uses, as format 1 required.
"""

from __future__ import annotations

import json
import re

import numpy as np
import torch

from core.config import Config
from core.gru.cells import make_model
from core.gru.optimizers import ADAM_KEYS, flat_state, make_optimizer
from core.sessions.container import Problem
from core.state_checks import is_number, shape_text

_OPT_NAME = re.compile(r"opt\.([0-9]{1,6})\.(\w+)")


def migrate(version: int, cfg: Config, tensors: dict[str, np.ndarray], meta: dict):
    """(cfg, tensors, meta) of a format-`version` file in the current format's layout."""
    if version < 2:
        cfg, tensors, meta = _v1_to_v2(cfg, tensors, meta)
    return cfg, tensors, meta


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def _v1_lr(saved, name: str, n_params: int) -> float:
    """The learning rate in format 1's torch param_groups; the other settings must be a fresh optimizer's."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(n_params)]
    fresh = make_optimizer(params, name, 1e-3).state_dict()["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(fresh) or not all(isinstance(g, dict) for g in groups):
        raise Problem("truncated or corrupt (the optimizer settings are malformed)")
    for g, tg in zip(groups, fresh):
        for key, value in g.items():
            if key == "lr":
                if not is_number(value) or not (0 < value <= 100):
                    raise Problem(f"truncated or corrupt (the optimizer's learning rate is {str(value)[:40]})")
            elif key in tg:
                if _canonical(value) != _canonical(tg[key]):
                    raise Problem(f"the optimizer setting {key!r} is {_canonical(value)[:40]}; this app uses "
                                  f"{_canonical(tg[key])[:40]}")
            elif value is not None and type(value) not in (bool, int, float, str):
                raise Problem(f"truncated or corrupt (the optimizer setting {key[:40]!r} is malformed)")
    if "lr" not in groups[0]:
        raise Problem("truncated or corrupt (the optimizer settings lack the learning rate)")
    return float(groups[0]["lr"])


def _v1_to_v2(cfg: Config, tensors: dict[str, np.ndarray], meta: dict):
    name = cfg.train.optimizer
    if not isinstance(meta, dict) or "optimizer" not in meta:
        raise Problem("the trainer position lacks optimizer (made for another trainer?)")
    meta = dict(meta)
    with torch.device("meta"):
        shapes = [tuple(p.shape) for p in make_model(cfg.model).parameters()]
    lr = _v1_lr(meta.pop("optimizer"), name, len(shapes))
    per_param: dict[int, dict[str, np.ndarray]] = {}
    rest = {}
    for key, a in tensors.items():
        m = _OPT_NAME.fullmatch(key)
        if m is None:
            rest[key] = a
            continue
        idx, part = int(m.group(1)), m.group(2)
        if idx >= len(shapes):
            raise Problem(f"trainer.{key}: the optimizer state names parameter {idx}, but the model has "
                          f"{len(shapes)}")
        step = part == "step"
        want, want_dtype = ((), np.dtype("<f4")) if step else (shapes[idx], np.dtype("<f4"))
        if tuple(a.shape) != want:
            raise Problem(f"trainer.{key} has shape {shape_text(a.shape)}, but this config needs {shape_text(want)}")
        if a.dtype != want_dtype:
            raise Problem(f"trainer.{key} holds {a.dtype} values, expected {want_dtype}")
        if step and not (a >= 1 and a == np.floor(a)):
            raise Problem(f"truncated or corrupt (trainer.{key}, an optimizer step count, is {a})")
        if part == "exp_avg_sq" and (a < 0).any():
            raise Problem(f"truncated or corrupt (trainer.{key}, squared averages, has negative values)")
        per_param.setdefault(idx, {})[part] = a
    keys = set(ADAM_KEYS) if name == "adam" else set()
    if per_param and (set(per_param) != set(range(len(shapes))) or any(set(v) != keys for v in per_param.values())):
        raise Problem("truncated or corrupt (the optimizer state is incomplete: every parameter needs "
                      f"{', '.join(sorted(keys)) or 'no entries'})")
    if name == "adam":
        steps = {float(v["step"]) for v in per_param.values()}
        if len(steps) > 1:
            raise Problem("truncated or corrupt (the optimizer's step counts differ between parameters)")
        order = range(len(shapes))
        size = sum(int(np.prod(s)) for s in shapes)
        m_flat = np.concatenate([per_param[i]["exp_avg"].ravel() for i in order]) if per_param else np.zeros(size)
        v_flat = np.concatenate([per_param[i]["exp_avg_sq"].ravel() for i in order]) if per_param else np.zeros(size)
        new_t, new_m = flat_state(name, int(steps.pop()) if steps else 0, m_flat, v_flat)
    else:
        new_t, new_m = flat_state(name, 0, None, None)
    rest.update({k: t.numpy() for k, t in new_t.items()})
    meta.update(new_m)
    if lr != cfg.train.lr:
        cfg = cfg.replace(lr=lr)
    return cfg, rest, meta
