"""Device choice: auto | cpu | cuda, falling back to the CPU with a message that says why."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> tuple[torch.device, str | None]:
    """Returns (device, warning or None). Asking for CUDA without one falls back to the CPU."""
    if name == "cpu":
        return torch.device("cpu"), None
    has_cuda = torch.cuda.is_available()
    if name == "cuda" and not has_cuda:
        return torch.device("cpu"), "CUDA was requested but no CUDA device is available; training on the CPU."
    if name in ("auto", "cuda") and has_cuda:
        return torch.device("cuda"), None
    return torch.device("cpu"), None
