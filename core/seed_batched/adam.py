"""Adam over S learners' flat weights (S, P) in one pass: torch's fused CPU Adam kernel on the same memory.

torch.from_numpy shares the NumPy buffers, so theta, grad and the moments stay NumPy arrays for the engine
while `torch._fused_adam_` reads grad, m, v, theta once and writes m, v, theta once (the NumPy version takes 13
passes). The kernel takes one scalar learning rate, so learners are grouped by rate: each group is a list of
contiguous row ranges, one kernel call per distinct rate. The arithmetic is torch.optim.Adam(fused=True)'s;
it differs from the single engine's FlatAdam (torch.optim.Adam's single-tensor path) only by float32 rounding.
"""

from __future__ import annotations

import numpy as np
import torch

from core.gru.derivatives import BETAS, EPS

F32 = np.float32


def lr_runs(lr: np.ndarray) -> list[tuple[float, list[tuple[int, int]]]]:
    """Group rows by learning rate: [(rate, [(start, stop), ...]), ...], each run a maximal contiguous range."""
    groups: dict[float, list[tuple[int, int]]] = {}
    start = 0
    for i in range(1, len(lr) + 1):
        if i == len(lr) or lr[i] != lr[start]:
            groups.setdefault(float(lr[start]), []).append((start, i))
            start = i
    return list(groups.items())


class FusedBatchedAdam:
    """torch.optim.Adam (no weight decay, no amsgrad) row by row, each row with its own rate, in one pass."""

    def __init__(self, shape: tuple[int, int], betas=BETAS, eps=EPS, dtype=F32):
        self.m = np.zeros(shape, dtype)  # float32 in sweeps; float64 for core/seed_batched/cells.py's tests
        self.v = np.zeros(shape, dtype)
        self.t = 0
        self.b1, self.b2 = betas
        self.eps = eps
        self._step = torch.zeros((), dtype=torch.float32)
        self._key: tuple[int, int, bytes] | None = None
        self._bound: list[tuple] = []  # set by the first _bind (no key matches None)

    def _bind(self, theta: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> list:
        key = (theta.__array_interface__["data"][0], grad.__array_interface__["data"][0], lr.tobytes())
        if key != self._key:
            tt, tg, tm, tv = (torch.from_numpy(a) for a in (theta, grad, self.m, self.v))
            calls = []
            for rate, runs in lr_runs(lr):
                calls.append((rate, [tt[a:b] for a, b in runs], [tg[a:b] for a, b in runs],
                              [tm[a:b] for a, b in runs], [tv[a:b] for a, b in runs], [self._step] * len(runs)))
            self._key, self._bound = key, calls
        return self._bound

    def update(self, theta: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        calls = self._bind(theta, grad, lr)
        self.t += 1
        self._step.fill_(self.t)
        for rate, p, g, m, v, steps in calls:
            torch._fused_adam_(p, g, m, v, [], steps, lr=rate, beta1=self.b1, beta2=self.b2, weight_decay=0.0,
                               eps=self.eps, amsgrad=False, maximize=False)
