"""Optimizers: torch.optim (Adam as Keras's defaults, or SGD) and the one saved form of an optimizer's state.

Who owns which optimizer: the batch trainer and the autograd online engine update with torch.optim; the fast
online engines update with their own flat optimizer (core.gru.derivatives.FlatAdam / FlatSGD) and have no torch one.
Either way the owner keeps the learning rate and the moments, and saves them in one form, so a checkpoint
crosses engines:

    tensors  optim.m, optim.v   Adam's first and second moments, (n,) float32: the model's parameters
                                flattened in `model.parameters()` order (SGD keeps no state: none)
    meta     optimizer          {"step": the number of Adam updates} ({} for SGD)

The learning rate is not in it: it is the trainer's config (train.lr), which a trainer's `set_lr` replaces.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from core.state_checks import StateError, StateReader, is_int

ADAM_KEYS = ("step", "exp_avg", "exp_avg_sq")  # torch.optim.Adam's per-parameter state


def make_optimizer(params, name: str, lr: float, eps: float = 1e-8) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, eps=eps)  # Keras's defaults: lr 1e-3, betas (0.9, 0.999); eps 1e-7


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def get_lr(opt: torch.optim.Optimizer) -> float:
    return float(opt.param_groups[0]["lr"])


# -- the saved form ------------------------------------------------------------------------------------------
def flat_state(name: str, step: int, m: np.ndarray | None, v: np.ndarray | None) -> tuple[dict, dict]:
    """(tensors, meta) of an optimizer in the saved form, from flat moments (copied)."""
    if name != "adam":
        return {}, {"optimizer": {}}
    return ({"optim.m": torch.from_numpy(np.array(m, dtype=np.float32)),
             "optim.v": torch.from_numpy(np.array(v, dtype=np.float32))},
            {"optimizer": {"step": int(step)}})


def take_flat_state(r: StateReader, name: str, size: int) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Take and check an optimizer's saved state: (step, m, v) for Adam, None for SGD."""
    meta = r.value("optimizer")
    if not isinstance(meta, dict):
        raise StateError("truncated or corrupt (the optimizer state is not a table)")
    if name != "adam":
        if meta:
            raise StateError(f"the optimizer state has {', '.join(sorted(meta))[:60]}, but SGD keeps none")
        return None
    if set(meta) != {"step"}:
        raise StateError("truncated or corrupt (the optimizer state must hold its step count only)")
    step = meta["step"]
    if not is_int(step) or not 0 <= step < 2**53:
        raise StateError(f"truncated or corrupt (the optimizer step count is {str(step)[:40]})")
    m = r.tensor("optim.m", (size,)).detach().cpu().numpy().copy()
    v = r.tensor("optim.v", (size,)).detach().cpu().numpy().copy()
    if (v < 0).any():
        raise StateError("truncated or corrupt ({name}, squared averages, has negative values)", "optim.v")
    if step == 0 and (m.any() or v.any()):
        raise StateError("truncated or corrupt (the optimizer has moments but no steps)")
    return step, m, v


# -- torch.optim in the saved form ---------------------------------------------------------------------------
def _adam(opt) -> bool:
    return isinstance(opt, torch.optim.Adam)


def torch_state(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> tuple[dict, dict]:
    """A torch optimizer's state in the saved form."""
    if not _adam(opt):
        return flat_state("sgd", 0, None, None)
    sizes = [p.numel() for p in params]
    m, v = np.zeros(sum(sizes), np.float32), np.zeros(sum(sizes), np.float32)
    step, at = 0, 0
    for p, n in zip(params, sizes):
        st = opt.state.get(p)
        if st:
            m[at:at + n] = st["exp_avg"].detach().cpu().numpy().ravel()
            v[at:at + n] = st["exp_avg_sq"].detach().cpu().numpy().ravel()
            step = int(float(st["step"]))
        at += n
    return flat_state("adam", step, m, v)


def take_torch_state(r: StateReader, opt: torch.optim.Optimizer,
                     params: list[torch.nn.Parameter]) -> Callable[[], None]:
    """Take and check a saved optimizer state for a torch optimizer; returns the function that installs it."""
    size = sum(p.numel() for p in params)
    got = take_flat_state(r, "adam" if _adam(opt) else "sgd", size)

    def install() -> None:
        opt.state.clear()
        if got is None or got[0] == 0:
            return
        step, m, v = got
        at = 0
        for p in params:
            n = p.numel()
            opt.state[p] = {"step": torch.tensor(float(step)),
                            "exp_avg": torch.from_numpy(m[at:at + n].copy()).view(p.shape).to(p.device),
                            "exp_avg_sq": torch.from_numpy(v[at:at + n].copy()).view(p.shape).to(p.device)}
            at += n
    return install
