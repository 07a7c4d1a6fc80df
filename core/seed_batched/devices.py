"""Where a sweep's learners run: `--device cpu` (the NumPy seed-batched engine, the default), `cuda` (the torch
engine on the GPU, core.seed_batched.torch_engine) or `torch-cpu` (the torch engine on the CPU: slower than the NumPy
engine; it exists to test the torch engine where there is no GPU).

The torch engine runs tbptt and rtrl (core.seed_batched.table.TORCH_ENGINES); under a torch device, batches of the
other rules (uoro, snap1: TORCH_DOES_NOT_RUN) still run on the NumPy engine, and `engine_info` says so in the
report, which records the engine and device that ran.
"""

from __future__ import annotations

DEVICES = ("cpu", "cuda", "torch-cpu")
DEFAULT_MAX_BATCH = {"cpu": 256, "torch-cpu": 256, "cuda": 4096}
DEVICE_HELP = ("where the learners run: cpu (the NumPy engine; default), cuda (the torch engine on the GPU, for "
               "large --max-batch; tbptt and rtrl, other rules stay on the CPU) or torch-cpu (the torch engine on "
               "the CPU, to test it without a GPU)")


def torch_device(device: str) -> str | None:
    """The torch device name of a --device value; None for the NumPy engine."""
    return {"cpu": None, "cuda": "cuda", "torch-cpu": "cpu"}[device]


def check_device(device: str) -> str | None:
    """None when `device` can run here, else the one-line reason."""
    if device not in DEVICES:
        return f"unknown device {device!r}; choose from {', '.join(DEVICES)}"
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            return ("CUDA is not available on this machine; use --device cpu (the NumPy engine) or torch-cpu "
                    "(the torch engine on the CPU)")
    return None


def from_app_device(name: str) -> tuple[str, str | None]:
    """The sweep device for the window's config device (auto | cpu | cuda), as core.device resolves a trainer's:
    auto and cuda take the GPU when there is one; cuda without one falls back to the CPU with the note why."""
    from core.device import resolve_device  # the one place the app decides auto | cpu | cuda

    device, warning = resolve_device(name)
    if device.type == "cuda":
        return "cuda", None
    return "cpu", (None if warning is None else
                   "the config asks for CUDA but no CUDA device is available; the sweep runs on the CPU")


def engine_factory(device: str):
    """An engine_factory for core.seed_batched.learners.BatchedLearners (None: the default NumPy engine). Under a torch
    device it builds the torch engine for the rules it runs and the NumPy engine for the others."""
    dev = torch_device(device)
    if dev is None:
        return None
    from core.seed_batched.table import TORCH_ENGINES, make_batched_engine, make_torch_engine

    def factory(shape, theta, lr, seeds=None):
        if shape.rule in TORCH_ENGINES:
            return make_torch_engine(shape, theta, lr, seeds=seeds, device=dev)
        return make_batched_engine(shape, theta, lr, seeds=seeds)

    return factory


def engine_info(device: str, rules=()) -> dict:
    """What the report records: {"device", "engine", "torch_device", "gpu", "numpy_rules"}; rules: the plan's
    rules (those the torch engine does not run are listed in numpy_rules)."""
    dev = torch_device(device)
    if dev is None:
        return {"device": device, "engine": "numpy", "torch_device": None, "gpu": None,
                "numpy_rules": sorted(set(rules))}
    import torch

    from core.seed_batched.table import TORCH_ENGINES

    gpu = torch.cuda.get_device_name(0) if dev == "cuda" and torch.cuda.is_available() else None
    return {"device": device, "engine": "torch", "torch_device": dev, "gpu": gpu,
            "numpy_rules": sorted({r for r in rules if r not in TORCH_ENGINES})}


def describe(info: dict) -> str:
    """One phrase for the progress line: 'NumPy engine on the CPU', 'torch engine on cuda (NVIDIA ...)'."""
    if info["engine"] == "numpy":
        return "NumPy engine on the CPU"
    where = info["torch_device"] + (f" ({info['gpu']})" if info["gpu"] else "")
    rest = f"; {', '.join(info['numpy_rules'])} on the NumPy engine" if info["numpy_rules"] else ""
    return f"torch engine on {where}{rest}"
