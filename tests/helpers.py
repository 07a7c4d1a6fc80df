"""Helpers shared by several test files (one copy each; Qt-free, and torch loaded only inside the function that
needs it, so any test process may import this module). The GUI's own are in tests/gui_helpers.py; a full disk
for streams in tests/full_disk.py; reading a session image in tests/session_files.py."""

from __future__ import annotations

import errno
import os

import numpy as np

from core.config import preset

# -- the child's pipe ---------------------------------------------------------------------------------------


def recv_until(conn, kind, timeout=30.0):
    """Read the child's replies until one of type `kind`: (that reply, every reply read). The timeout is a safety
    net per read, not a measurement."""
    seen = []
    while conn.poll(timeout):
        msg = conn.recv()
        seen.append(msg)
        if isinstance(msg, kind):
            return msg, seen
    raise AssertionError(f"no {kind.__name__} within {timeout}s; got {seen}")


# -- a full disk for the atomic writer ------------------------------------------------------------------------


def fail_fsync(monkeypatch):
    """Every atomic write fails as on a full disk: ENOSPC when core.atomic_io syncs its temporary file."""
    from core import atomic_io

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(atomic_io.os, "fsync", fsync)


# -- seed-batched learners --------------------------------------------------------------------------------------
LAGS = (1, 2, 1, 3, 1, 2)
LRS = (1e-2, 1e-3, 3e-3, 1e-2, 1e-3, 5e-3)


def mixed_batch(rule, window, steps, eval_steps, lags=LAGS, lrs=LRS, **extra):
    """question-fixed learners of one batch shape with mixed lags and learning rates (seeds 10, 11, ...)."""
    base = preset("question-fixed").replace(rule=rule, window=window, steps=steps, eval_steps=eval_steps, **extra)
    return [base.replace(seed=10 + i, lag=lag, lr=lr) for i, (lag, lr) in enumerate(zip(lags, lrs))]


# -- exact gradients ------------------------------------------------------------------------------------------


def bptt_grad(weights, xs, y_last, readout, loss) -> list[np.ndarray]:
    """Autograd (float64) gradient of the last step's loss through the whole sequence from h0 = 0, one array per
    weight (w_ih, w_hh, b_ih, b_hh, readout weight and bias), by core.gru.model's cell and loss."""
    import torch

    from core.gru.model import gru_cell, loss_fn

    ps = [w.detach().double().clone().requires_grad_(True) for w in weights]
    h = torch.zeros(1, ps[1].shape[1], dtype=torch.float64)
    for x in xs:
        h = gru_cell(torch.tensor([[float(x)]], dtype=torch.float64), h, *ps[:4]).h
    out = h @ ps[4].t() + ps[5] if readout == "linear" else h
    L = loss_fn(out, torch.tensor([[float(y_last)]], dtype=torch.float64), readout, loss)
    return [g.numpy() for g in torch.autograd.grad(L, ps)]


# -- the experiment pages' window ---------------------------------------------------------------------------------


class FakeServices:
    """The slice of gui.services.WindowServices the experiment pages use: the left panel's config (`cfg`; an
    exception is raised as a bad config), load_config (recorded in `loaded`) and the messages they send."""

    def __init__(self, cfg=None):
        self.cfg, self.loaded, self.notes, self.errors = cfg, [], [], []
        self.dialog_parent = None

    def edited_config(self):
        if isinstance(self.cfg, Exception):
            raise self.cfg
        return self.cfg

    def load_config(self, cfg, start=False):
        self.loaded.append((cfg, start))
        return True

    def notify(self, text):
        self.notes.append(text)

    def report_error(self, text):
        self.errors.append(text)

    def show_status(self, text, ms=5000):
        self.notes.append(text)
