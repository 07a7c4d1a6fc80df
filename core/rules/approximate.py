"""Approximate online rules beside RTRL: UORO and SnAp-1, as fast NumPy engines, and their math as pure functions.

RTRL carries the exact sensitivity S = dh[t]/dtheta (units x cell parameters, docs/rtrl.md):

    S[t] = J[t] S[t-1] + M[t],    J = dh[t]/dh[t-1],  M = dh[t]/dtheta|immediate,   g = dL/dh[t] S[t] (+ readout)

M is nonzero only where unit i meets its own gate rows, so it fits in one vector m of length n_rec in the flat
parameter layout: m[p] = M[owner(p), p], owner(p) being the unit whose gate row p feeds (`immediate`).

SnAp-1 (Menick et al. 2021, "Practical Real Time Recurrent Learning with a Sparse Approximation", ICLR; section 3,
n = 1) keeps S only on the pattern of M: parameter p keeps only its own unit's entry s[p] = S[owner(p), p]. Then
(J S)[owner(p), p] reduces to J's diagonal, and the update and gradient are elementwise:

    s[t] = diag(J[t])[owner] * s[t-1] + m[t],          g[p] = dL/dh[owner(p)] * s[p]

With one unit nothing is dropped: SnAp-1 is RTRL.

UORO (Tallec & Ollivier 2017, "Unbiased Online Recurrent Optimization", ICLR 2018; Algorithm 1) carries a
rank-one estimate S ~ s~ theta~^T (s~: units, theta~: n_rec). With nu a vector of independent random signs,

    rho0 = sqrt((|theta~| + eps) / (|J s~| + eps)),    rho1 = sqrt((|nu^T M| + eps) / (|nu| + eps))
    s~ <- rho0 J s~ + rho1 nu,                        theta~ <- theta~ / rho0 + (nu^T M) / rho1
    g = (dL/dh[t] . s~) theta~ (+ readout)

E[s~ theta~^T] = J (s~ theta~^T) + E[nu nu^T] M = the RTRL recursion, since the cross terms are odd in nu (rho1 is
even in nu): the estimate is unbiased for weights held fixed. rho0, rho1 balance the two factors' norms, the paper's
variance reduction. nu^T M is M's rows scaled by nu, i.e. `immediate` with the coefficients multiplied by nu.

The pure functions take arrays with any leading batch dimensions (..., H) / (..., n_rec), so a batched engine can
reuse them; the engines below are the single-run fast engines (`_FlatEngine` subclasses, like TBPTTEngine and
RTRLEngine in core/rules/tbptt_rtrl.py; core.rules.engines says which engine runs each rule).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from core.gru.derivatives import Layout, cell_forward, readout_loss
from core.rules.flat import _FlatEngine
from core.state_checks import StateError, StateReader, bits

F32 = np.float32
UORO_EPS = 1e-7  # the paper's epsilon in rho0, rho1 (keeps the first step, where s~ = theta~ = 0, finite)


# -- the math, pure functions over arrays with optional leading batch dimensions -------------------------------
def coefficients(h_prev, r, z, n, hn):
    """d_ih, d_hh (..., 3, H): dh'/d(gate pre-activations), gates r, z, n (core.gru.derivatives's docstring)."""
    omz = 1 - z
    dan = omz * (1 - n * n)
    d_ih = np.empty(z.shape[:-1] + (3, z.shape[-1]), z.dtype)
    d_ih[..., 2, :] = dan
    d_ih[..., 1, :] = (h_prev - n) * z * omz
    d_ih[..., 0, :] = dan * hn * r * (1 - r)
    d_hh = d_ih.copy()
    d_hh[..., 2, :] = dan * r
    return d_ih, d_hh


def batched_state_jacobian(z, d_hh, w_hh3, out=None):
    """J = dh'/dh = diag(z) + sum_gate diag(d_hh[gate]) W_hh[gate]: (..., H, H), over any leading batch dimensions
    of z (..., H) and d_hh (..., 3, H), optionally into `out`. w_hh3: W_hh as (3, H, H), shared by the batch.
    (core.gru.derivatives.state_jacobian is the plain one-step reference, from flat (3H,) coefficients.)"""
    J = np.einsum("...gi,gij->...ij", d_hh, w_hh3, out=out)
    H = z.shape[-1]
    J.reshape(J.shape[:-2] + (H * H,))[..., :: H + 1] += z  # the diagonal, through a view (J is contiguous)
    return J


def state_jacobian_diag(z, d_hh, w_hh_diag):
    """diag(J) (..., H) without forming J. w_hh_diag: (..., 3, H), the diagonal of each gate's block of W_hh (one
    for the whole batch, or one per leading index: the seed-batched engine's learners each have their own)."""
    return np.einsum("...gi,...gi->...i", d_hh, w_hh_diag) + z


def split(flat, layout: Layout) -> tuple[np.ndarray, ...]:
    """Views of a (..., n_rec) vector as its cell blocks W_ih (..., 3, H, I), W_hh (..., 3, H, H), b_ih, b_hh
    (..., 3, H): index [gate, unit i, column], the layout's own order, so unit i owns [:, i]."""
    lead, H, Ii = flat.shape[:-1], layout.units, layout.inputs
    sl = layout.slices
    return (flat[..., sl["W_ih"]].reshape(*lead, 3, H, Ii), flat[..., sl["W_hh"]].reshape(*lead, 3, H, H),
            flat[..., sl["b_ih"]].reshape(*lead, 3, H), flat[..., sl["b_hh"]].reshape(*lead, 3, H))


def immediate(x, h_prev, d_ih, d_hh, blocks):
    """m (..., n_rec): the one-step dh'/dtheta on each parameter's own unit, m[p] = M[owner(p), p]. Pass
    coefficients scaled by nu (d_ih * nu[..., None, :]) to get UORO's nu^T M instead. Written into `blocks`,
    the four block views of the output (`split(m, layout)`)."""
    w_ih, w_hh, b_ih, b_hh = blocks
    np.multiply(d_ih[..., :, :, None], x[..., None, None, :], out=w_ih)
    np.multiply(d_hh[..., :, :, None], h_prev[..., None, None, :], out=w_hh)
    b_ih[...] = d_ih
    b_hh[...] = d_hh


def owner_index(layout: Layout) -> np.ndarray:
    """owner(p) for every cell parameter p (n_rec,): the unit whose gate row p feeds."""
    own = np.empty(layout.n_rec, np.intp)
    units = np.arange(layout.units)
    for block in split(own, layout):
        block[...] = units.reshape((1, -1) + (1,) * (block.ndim - 2))
    return own


def snap1_update(s, jdiag, m, owner):
    """SnAp-1: s <- diag(J)[owner] * s + m, in place; s, m (..., n_rec), jdiag (..., H)."""
    s *= np.take(jdiag, owner, axis=-1)
    s += m
    return s


def snap1_grad(s, dh, owner, out=None):
    """dL/dtheta for the cell from SnAp-1's sparse sensitivity: dh[owner] * s (..., n_rec)."""
    return np.multiply(np.take(dh, owner, axis=-1), s, out=out)


def uoro_update(s_t, th_t, J, nu, nu_m, eps: float = UORO_EPS):
    """UORO's rank-one step (Tallec & Ollivier 2017, Alg. 1): returns the new (s~ (..., H), theta~ (..., n_rec)).
    J (..., H, H); nu (..., H) random signs; nu_m = nu^T M (..., n_rec)."""
    Js = np.matmul(J, s_t[..., None])[..., 0]
    rho0 = np.sqrt((_norm(th_t) + eps) / (_norm(Js) + eps)).astype(s_t.dtype)
    rho1 = np.sqrt((_norm(nu_m) + eps) / (_norm(nu) + eps)).astype(s_t.dtype)
    s_new = rho0 * Js
    s_new += rho1 * nu
    th_new = th_t / rho0
    th_new += nu_m / rho1
    return s_new, th_new


def _norm(a):
    """Euclidean norm over the last axis, keepdims (a float for 1-D input: the fast path of the single engine)."""
    if a.ndim == 1:
        return np.sqrt(a @ a)
    return np.sqrt(np.einsum("...i,...i->...", a, a))[..., None]


def uoro_grad(s_t, th_t, dh, out=None):
    """dL/dtheta for the cell from UORO's estimate: (dh . s~) theta~ (..., n_rec)."""
    c = np.einsum("...i,...i->...", dh, s_t)
    return np.multiply(c[..., None], th_t, out=out)


def group_norms(sq, layout: Layout) -> dict[str, float]:
    """Frobenius norms per parameter group from per-column squared norms sq (n_rec,) of a sensitivity dh/dtheta,
    with RTRLEngine.sensitivity_norms's keys (W_ir, W_iz, W_in, W_hr, W_hz, W_hn, b_ih, b_hh)."""
    sl = layout.slices
    out = {f"W_i{g}": float(np.sqrt(v)) for g, v in zip("rzn", sq[sl["W_ih"]].reshape(3, -1).sum(axis=1))}
    out.update({f"W_h{g}": float(np.sqrt(v)) for g, v in zip("rzn", sq[sl["W_hh"]].reshape(3, -1).sum(axis=1))})
    out["b_ih"] = float(np.sqrt(sq[sl["b_ih"]].sum()))
    out["b_hh"] = float(np.sqrt(sq[sl["b_hh"]].sum()))
    return out


def _finite(t: torch.Tensor, key: str) -> np.ndarray:
    a = t.detach().cpu().numpy().copy()
    if not np.isfinite(a).all():
        raise StateError(f"truncated or corrupt ({key} holds NaN or infinity)")
    return a


def _no_window(r: StateReader) -> None:
    if bits(r.value("window_x"), "the window's inputs"):
        raise StateError("truncated or corrupt (this rule keeps no window, but the position has one)")


def _pcg64_state(st) -> dict:
    """A saved numpy PCG64 state, checked exactly (numpy itself would round or truncate some bad values)."""
    def uint(v, bits):
        return type(v) is int and 0 <= v < 2 ** bits
    ok = (isinstance(st, dict) and set(st) == {"bit_generator", "state", "has_uint32", "uinteger"}
          and st["bit_generator"] == "PCG64" and isinstance(st["state"], dict) and set(st["state"]) == {"state", "inc"}
          and all(uint(v, 128) for v in st["state"].values()) and st["has_uint32"] in (0, 1)
          and type(st["has_uint32"]) is int and uint(st["uinteger"], 32))
    if not ok:
        raise ValueError("UORO's random sign generator state is malformed")
    return st


# -- the engines -----------------------------------------------------------------------------------------------
class _SensitivityEngine(_FlatEngine):
    """The forward step the approximate rules share; subclasses carry their own sensitivity estimate."""

    name = "fast"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        H, lay = self.H, self.layout
        self.owner = owner_index(lay)
        self._wh3 = self.w_hh.reshape(3, H, H)
        self._wh_diag = np.diagonal(self._wh3, axis1=1, axis2=2)  # a view: follows the shared weights
        self._m = np.zeros(lay.n_rec, F32)
        self._m_blocks = split(self._m, lay)

    def _forward(self, x: int):
        xv, h_prev = self._xv[x], self.h
        r, z, n, hn, h = cell_forward(xv, h_prev, self.w_ih, self.w_hh, self.b_ih, self.b_hh)
        d_ih, d_hh = coefficients(h_prev, r, z, n, hn)
        return xv, h_prev, r, z, n, hn, h, d_ih, d_hh


class SnAp1Engine(_SensitivityEngine):
    """SnAp-1 (Menick et al. 2021): RTRL's sensitivity kept only on each parameter's own unit, one number per
    cell parameter (`s`, n_rec), updated with J's diagonal. O(n_rec) per step; equal to RTRL with one unit."""

    rule = "snap1"

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.s = np.zeros(self.layout.n_rec, F32)

    def step(self, x: int, y: int, train: bool):
        xv, h_prev, r, z, n, hn, h, d_ih, d_hh = self._forward(x)
        immediate(xv, h_prev, d_ih, d_hh, self._m_blocks)
        snap1_update(self.s, state_jacobian_diag(z, d_hh, self._wh_diag), self._m, self.owner)
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            snap1_grad(self.s, dh, self.owner, out=self.grad[: self.layout.n_rec])
            self._readout_grads(h, dout)
        self._finish(train, y, (xv, h_prev, r, z, n, hn, h, dh, dout))
        self.h = h
        return y_hat, lv, h_prev, (r, z, n), h

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of SnAp-1's (sparse) dh/dtheta per parameter group, RTRL's keys."""
        return group_norms(self.s.astype(np.float64) ** 2, self.layout)

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["snap1.s"] = torch.from_numpy(self.s.copy())
        meta["window_x"] = []  # no window; the key is every online engine's
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_common = self._take_common(r)
        _no_window(r)
        s = _finite(r.tensor("snap1.s", self.s.shape), "snap1.s")

        def install() -> None:
            install_common()
            self.s[:] = s
        return install


class UOROEngine(_SensitivityEngine):
    """UORO (Tallec & Ollivier 2017): the rank-one unbiased estimate s~ theta~^T of RTRL's sensitivity, with
    random signs from its own generator (seeded from train.seed; its state is part of the position). The
    estimate is carried during evaluation too, drawing signs, so it always matches the carried state."""

    rule = "uoro"
    RNG_SALT = 0x0E0  # keeps the sign stream apart from the seed's other uses

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.s_t = np.zeros(self.H, F32)  # s~
        self.th_t = np.zeros(self.layout.n_rec, F32)  # theta~
        self._J = np.empty((self.H, self.H), F32)
        self.rng = np.random.default_rng([int(cfg.train.seed), self.RNG_SALT])

    def signs(self) -> np.ndarray:
        """The next nu: H independent random signs (float32 +-1)."""
        return np.copysign(F32(1), self.rng.random(self.H, dtype=F32) - F32(0.5))  # P(u < 1/2) is exactly 1/2

    def step(self, x: int, y: int, train: bool):
        xv, h_prev, r, z, n, hn, h, d_ih, d_hh = self._forward(x)
        J = batched_state_jacobian(z, d_hh, self._wh3, out=self._J)
        nu = self.signs()
        d_ih *= nu
        d_hh *= nu
        immediate(xv, h_prev, d_ih, d_hh, self._m_blocks)  # nu^T M
        self.s_t, self.th_t = uoro_update(self.s_t, self.th_t, J, nu, self._m)
        y_hat, lv, dh, dout = readout_loss(h, y, self.readout, self.loss, self.w_out, self.b_out)
        if train:
            uoro_grad(self.s_t, self.th_t, dh, out=self.grad[: self.layout.n_rec])
            self._readout_grads(h, dout)
        self._finish(train, y, (xv, h_prev, r, z, n, hn, h, dh, dout))
        self.h = h
        return y_hat, lv, h_prev, (r, z, n), h

    def sensitivity_norms(self) -> dict[str, float]:
        """Frobenius norm of the rank-one estimate s~ theta~^T per parameter group, RTRL's keys."""
        return group_norms(float(self.s_t.astype(np.float64) @ self.s_t) * self.th_t.astype(np.float64) ** 2,
                           self.layout)

    def state(self) -> tuple[dict, dict]:
        tensors, meta = super().state()
        tensors["uoro.s"] = torch.from_numpy(self.s_t.copy())
        tensors["uoro.theta"] = torch.from_numpy(self.th_t.copy())
        meta["window_x"] = []  # no window; the key is every online engine's
        meta["uoro_rng"] = self.rng.bit_generator.state
        return tensors, meta

    def take_state(self, r: StateReader) -> Callable[[], None]:
        """Take and check this engine's part of a saved state; returns the function that installs it."""
        install_common = self._take_common(r)
        _no_window(r)
        s = _finite(r.tensor("uoro.s", self.s_t.shape), "uoro.s")
        th = _finite(r.tensor("uoro.theta", self.th_t.shape), "uoro.theta")
        try:
            st = _pcg64_state(r.value("uoro_rng"))
        except ValueError as e:
            raise StateError(f"truncated or corrupt ({e})") from None

        def install() -> None:
            install_common()
            self.s_t, self.th_t = s, th
            self.rng.bit_generator.state = st
        return install

