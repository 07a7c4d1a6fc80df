"""Optimizers (Adam as Keras's defaults, or SGD), live learning-rate changes, and their state as plain tensors."""

from __future__ import annotations

import torch


def make_optimizer(params, name: str, lr: float, eps: float = 1e-8) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, eps=eps)  # Keras's defaults: lr 1e-3, betas (0.9, 0.999); eps 1e-7


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def optimizer_state(opt: torch.optim.Optimizer, prefix: str = "opt.") -> tuple[dict, dict]:
    """(tensors, meta): the optimizer's state as named CPU tensors plus JSON-able hyper-parameters."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            t = val if torch.is_tensor(val) else torch.tensor(val)
            tensors[f"{prefix}{idx}.{key}"] = t.detach().cpu().clone()
    groups = [{k: v for k, v in g.items() if isinstance(v, (int, float, bool, str, list, tuple, type(None)))}
              for g in sd["param_groups"]]
    return tensors, {"param_groups": groups}


def load_optimizer_state(opt: torch.optim.Optimizer, tensors: dict, meta: dict, prefix: str = "opt.") -> None:
    state: dict = {}
    for name, val in tensors.items():
        if not name.startswith(prefix):
            continue
        idx, key = name[len(prefix):].split(".", 1)
        state.setdefault(int(idx), {})[key] = val
    groups = opt.state_dict()["param_groups"]
    saved = meta["param_groups"]
    if len(saved) != len(groups):
        raise ValueError("optimizer state has a different number of parameter groups")
    for g, s in zip(groups, saved):
        g.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in s.items() if k != "params"})
    opt.load_state_dict({"state": state, "param_groups": groups})
