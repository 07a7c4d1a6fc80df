"""The LSTM's and the simple RNN's derivatives by hand (NumPy): one step, its backward, RTRL's Jacobians.

The state s is h (H,) for the RNN and [h, c] (2H,) for the LSTM (core.gru.cells). Both cells read the previous
state through one pre-activation a = W_ih x + W_hh h + b (G H rows: LSTM i, f, g, o; RNN one block), so one step is

    s' = F(s, a),     ds' = C da + D ds        C = ds'/da (len(s), G H),  D = ds'/ds at fixed a (len(s), len(s))

and the one-step Jacobians are

    J = ds'/ds = D + C [W_hh | 0]             (a reads h only, never c)
    ds'/dW_ih[k, :] = C[:, k] x,   ds'/dW_hh[k, :] = C[:, k] h,   ds'/db[k] = C[:, k]

RNN (h' = tanh(a)): C = diag(1 - h'^2), D = 0.
LSTM (c' = f c + i g, h' = o tanh(c'), tc = tanh(c'), k = o (1 - tc^2)); C is zero except where unit u's rows
meet its own gate rows:

    dc'_u/da_i = g i (1 - i),  dc'_u/da_f = c f (1 - f),  dc'_u/da_g = i (1 - g^2),  dc'_u/da_o = 0
    dh'_u/da_{i,f,g} = k dc'_u/da_{i,f,g},  dh'_u/da_o = tc o (1 - o)
    D = [[0, diag(k f)], [0, diag(f)]]         (rows h', c'; columns h, c)

A backward pass with upstream ds' gives da = C^T ds' (so dL/dW_ih = outer(da, x), dL/dW_hh = outer(da, h),
dL/db = da) and ds = D^T ds' + [W_hh^T da, 0]. RTRL carries S = ds/dtheta (len(s), n_rec): S' = J S + M with M the
immediate term above (`add_immediate`); dL/dtheta = dL/dh S[:H]. The flat layout is core.gru.derivatives.Layout's.
"""

from __future__ import annotations

import numpy as np

from core.gru.derivatives import Layout, sigmoid


def forward(cell: str, x, s, w_ih, w_hh, b):
    """One step for one sample: x (I,), s (D,) -> (s' (D,), the step's cache for `coefficients`)."""
    H = w_hh.shape[1]
    h = s[:H]
    a = w_ih @ x + w_hh @ h + b
    if cell == "rnn":
        h_new = np.tanh(a)
        return h_new, (x, s, h_new, a)
    i, f, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), sigmoid(a[3 * H:])
    g = np.tanh(a[2 * H:3 * H])
    c_new = f * s[H:] + i * g
    tc = np.tanh(c_new)
    return np.concatenate([o * tc, c_new]), (x, s, i, f, g, o, tc)


def step_parts(cell: str, cache, s_new) -> tuple[np.ndarray, ...]:
    """The step's own quantities in core.snapshot.CELL_PARTS's order, from its `forward` cache and new state:
    RNN (a,); LSTM (i, f, g, o, c[t−1], c[t])."""
    if cell == "rnn":
        return (cache[3],)
    _, s, i, f, g, o, _ = cache
    H = len(i)
    return i, f, g, o, s[H:], s_new[H:]


def coefficients(cell: str, cache) -> tuple[np.ndarray, np.ndarray]:
    """(C, D) of one step (module docstring): C = ds'/da (D_s, G H), D = ds'/ds at fixed a (D_s, D_s)."""
    if cell == "rnn":
        _, s, h_new, _ = cache
        return np.diag(1 - h_new * h_new), np.zeros((len(s), len(s)), s.dtype)
    x, s, i, f, g, o, tc = cache
    H = len(i)
    c = s[H:]
    dc = np.stack([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), np.zeros_like(i)])  # (4, H): i, f, g, o
    k = o * (1 - tc * tc)
    dh = dc * k
    dh[3] = tc * o * (1 - o)
    C = np.zeros((2 * H, 4 * H), s.dtype)
    u = np.arange(H)
    C[:H].reshape(H, 4, H)[u, :, u] = dh.T
    C[H:].reshape(H, 4, H)[u, :, u] = dc.T
    D = np.zeros((2 * H, 2 * H), s.dtype)
    D[u, H + u] = k * f
    D[H + u, H + u] = f
    return C, D


def state_jacobian(C, D, w_hh) -> np.ndarray:
    """J = ds'/ds = D + C [W_hh | 0], a fresh (D_s, D_s) array."""
    H = w_hh.shape[1]
    J = D.copy()
    J[:, :H] += C @ w_hh
    return J


def backward(ds_new, C, D, w_hh) -> tuple[np.ndarray, np.ndarray]:
    """(dL/da (G H,), dL/ds (D_s,)) from dL/ds' (D_s,)."""
    H = w_hh.shape[1]
    da = C.T @ ds_new
    ds = D.T @ ds_new
    ds[:H] += w_hh.T @ da
    return da, ds


def add_immediate(S, C, x, h_prev, layout: Layout) -> None:
    """S (D_s, n_rec) += the immediate term M = ds'/dtheta at fixed s (module docstring), in place."""
    Ds, GH = C.shape
    sl = layout.slices
    S[:, sl["W_ih"]] += (C[:, :, None] * x).reshape(Ds, -1)
    S[:, sl["W_hh"]] += (C[:, :, None] * h_prev).reshape(Ds, -1)
    S[:, sl["b"]] += C


def param_jacobian(C, x, h_prev, layout: Layout) -> np.ndarray:
    """The dense one-step ds'/dtheta (D_s, n_rec), for tests and documentation."""
    M = np.zeros((C.shape[0], layout.n_rec), C.dtype)
    add_immediate(M, C, x, h_prev, layout)
    return M
