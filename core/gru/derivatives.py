"""The GRU cell's derivatives by hand (NumPy), in torch.nn.GRU's formulation and its r, z, n row order.

    gi = W_ih x + b_ih,  gh = W_hh h + b_hh            (3H rows each: r, z, n)
    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z)
    hn = gh_n,  n = tanh(gi_n + r * hn)
    h' = (1 - z) * n + z * h

Unit i's new state h'_i depends only on row i of each gate, so the derivative of h' w.r.t. the gates'
pre-activations is diagonal per gate. With

    g_n = (1 - z)(1 - n^2)         dh'/d(gi_n)
    g_z = (h - n) z (1 - z)        dh'/d(gi_z) = dh'/d(gh_z)
    g_r = g_n hn r (1 - r)         dh'/d(gi_r) = dh'/d(gh_r)
    g_hn = g_n r                   dh'/d(gh_n)

and d_ih = [g_r, g_z, g_n], d_hh = [g_r, g_z, g_hn] (3H each), the Jacobians are

    dh'/dh        = diag(z) + sum_gate diag(d_hh[gate]) W_hh[gate]
    dh'_i/dW_ih[k, :] = d_ih[k] x     (k = gate*H + i; zero for any other unit)
    dh'_i/dW_hh[k, :] = d_hh[k] h
    dh'_i/db_ih[k]    = d_ih[k],  dh'_i/db_hh[k] = d_hh[k]

A backward pass with upstream gradient dh' multiplies d_ih, d_hh by dh' tiled over the three gates. The flat
parameter vector follows GRUModel.parameters(): W_ih (3H, I), W_hh (3H, H), b_ih, b_hh, then the linear
readout's weight (1, H) and bias (1,) when there is one. Everything works for float32 and float64 arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BETAS = (0.9, 0.999)
EPS = 1e-8


CELL_GATES = {"gru": 3, "lstm": 4, "rnn": 1}  # gate blocks of W_ih and W_hh per cell (core.gru.cells)


def state_size(cell: str, units: int) -> int:
    """The length of the carried state: 2H for the LSTM ([h, c]), H for the GRU and the RNN."""
    return 2 * units if cell == "lstm" else units


@dataclass(frozen=True)
class Layout:
    """Offsets of each parameter in the flat vector (the model's parameters() order). The GRU's cell is W_ih, W_hh,
    b_ih, b_hh; the LSTM's and the RNN's (Keras's one bias, core.gru.cells) W_ih, W_hh, b."""

    units: int
    inputs: int = 1
    readout: bool = True
    cell: str = "gru"

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        H, Ii, G = self.units, self.inputs, CELL_GATES[self.cell]
        s: dict[str, tuple[int, ...]] = {"W_ih": (G * H, Ii), "W_hh": (G * H, H)}
        if self.cell == "gru":
            s.update({"b_ih": (3 * H,), "b_hh": (3 * H,)})
        else:
            s["b"] = (G * H,)
        if self.readout:
            s.update({"w_out": (1, H), "b_out": (1,)})
        return s

    @property
    def slices(self) -> dict[str, slice]:
        out, at = {}, 0
        for name, shape in self.shapes.items():
            n = math.prod(shape)
            out[name] = slice(at, at + n)
            at += n
        return out

    @property
    def n_rec(self) -> int:
        """Parameters of the recurrent cell (the columns of RTRL's sensitivity dh/dtheta)."""
        n_bias = 2 if self.cell == "gru" else 1
        return CELL_GATES[self.cell] * self.units * (self.inputs + self.units + n_bias)

    @property
    def state_size(self) -> int:
        return state_size(self.cell, self.units)

    @property
    def size(self) -> int:
        return self.n_rec + (self.units + 1 if self.readout else 0)

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views (no copies) into a flat vector."""
        return {k: flat[sl].reshape(self.shapes[k]) for k, sl in self.slices.items()}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cell_forward(x, h, w_ih, w_hh, b_ih, b_hh):
    """One step for one sample: x (I,), h (H,) -> (r, z, n, hn, h_new), each (H,)."""
    H = h.shape[0]
    gi = w_ih @ x + b_ih
    gh = w_hh @ h + b_hh
    rz = sigmoid(gi[: 2 * H] + gh[: 2 * H])
    r, z = rz[:H], rz[H:]
    hn = gh[2 * H:]
    n = np.tanh(gi[2 * H:] + r * hn)
    h_new = (1 - z) * n + z * h
    return r, z, n, hn, h_new


def cell_backward(dh, h, r, z, n, hn, w_hh, out=None, need_dh=True):
    """Backward through one step given dL/dh' (H,): returns (dL/d(gi) (3H,), dL/d(gh) (3H,), dL/dh (H,)).

    dL/dW_ih = outer(dgi, x), dL/db_ih = dgi, dL/dW_hh = outer(dgh, h), dL/db_hh = dgh. With dh = ones the
    first two are the coefficients d_ih, d_hh of the module docstring. `out` = (dgi, dgh) arrays to write
    into (the engines pass their gradient buffers); need_dh=False skips dL/dh (returned as None) at the
    window's first step.
    """
    H = h.shape[0]
    omz = 1 - z
    dan = dh * omz * (1 - n * n)
    if out is None:
        dt = dan.dtype
        out = np.empty(3 * H, dt), np.empty(3 * H, dt)
    dgi, dgh = out
    dgi[2 * H:] = dan
    np.multiply(dh * (h - n) * z, omz, out=dgi[H:2 * H])
    np.multiply(dan * hn * r, 1 - r, out=dgi[:H])
    dgh[:2 * H] = dgi[:2 * H]
    np.multiply(dan, r, out=dgh[2 * H:])
    return dgi, dgh, (dh * z + w_hh.T @ dgh) if need_dh else None


def state_jacobian(z, d_hh, w_hh):
    """dh'/dh (H, H) for one step of one run, from z and the flat coefficients d_hh (3H,), W_hh as (3H, H): the
    plain reference (a fresh array). The engines' fast form, over batch dimensions and into a buffer, is
    core.rules.approximate.batched_state_jacobian."""
    H = z.shape[0]
    J = (d_hh.reshape(3, H, 1) * w_hh.reshape(3, H, H)).sum(axis=0)
    J[np.diag_indices(H)] += z
    return J


def param_jacobians(x, h, d_ih, d_hh) -> dict[str, np.ndarray]:
    """Dense dh'/dtheta per cell parameter: {'W_ih': (H, 3H, I), 'W_hh': (H, 3H, H), 'b_ih': (H, 3H), ...}.

    For tests and documentation; the engines write only the nonzero diagonal (see `diagonal_views`).
    """
    H, Ii = h.shape[0], x.shape[0]
    out = {"W_ih": np.zeros((H, 3 * H, Ii), d_ih.dtype), "W_hh": np.zeros((H, 3 * H, H), d_ih.dtype),
           "b_ih": np.zeros((H, 3 * H), d_ih.dtype), "b_hh": np.zeros((H, 3 * H), d_ih.dtype)}
    for g in range(3):
        for i in range(H):
            k = g * H + i
            out["W_ih"][i, k] = d_ih[k] * x
            out["W_hh"][i, k] = d_hh[k] * h
            out["b_ih"][i, k] = d_ih[k]
            out["b_hh"][i, k] = d_hh[k]
    return out


def diagonal_views(S: np.ndarray, layout: Layout) -> tuple[np.ndarray, ...]:
    """Writable strided views of the entries of S (H, n_rec) where unit i meets its own rows (the only
    nonzero entries of the one-step Jacobian dh'/dtheta): shapes (3, H, I), (3, H, H), (3, H), (3, H)."""
    H, Ii, P = layout.units, layout.inputs, layout.n_rec
    if S.shape != (H, P) or not S.flags.c_contiguous:
        raise ValueError("S must be a C-contiguous (units, n_rec) array")
    e = S.itemsize
    st = np.lib.stride_tricks.as_strided
    sl = layout.slices
    w_ih = st(S[:, sl["W_ih"].start:], shape=(3, H, Ii), strides=(H * Ii * e, (P + Ii) * e, e), writeable=True)
    w_hh = st(S[:, sl["W_hh"].start:], shape=(3, H, H), strides=(H * H * e, (P + H) * e, e), writeable=True)
    b_ih = st(S[:, sl["b_ih"].start:], shape=(3, H), strides=(H * e, (P + 1) * e), writeable=True)
    b_hh = st(S[:, sl["b_hh"].start:], shape=(3, H), strides=(H * e, (P + 1) * e), writeable=True)
    return w_ih, w_hh, b_ih, b_hh


# -- readout and loss --------------------------------------------------------------------------------------
def readout_loss(h, y: float, readout: str, loss: str, w=None, b=None):
    """(y_hat, loss, dL/dh (H,), dL/dout) for one sample; dL/dout is a float (linear) or (H,) (raw).

    Matches core.gru.model.predict / loss_fn: raw takes the loss on every unit against y (mean over units) and
    predicts the units' mean; bce works on logits.
    """
    if readout == "linear":
        o = float(w[0] @ h) + float(b[0])
        if loss == "bce":
            s = 1.0 / (1.0 + math.exp(-o)) if o >= 0 else math.exp(o) / (1.0 + math.exp(o))
            lv = max(o, 0.0) - o * y + math.log1p(math.exp(-abs(o)))
            dout, y_hat = s - y, s
        else:
            d = o - y
            lv, dout, y_hat = d * d, 2.0 * d, o
        return y_hat, lv, dout * w[0], dout
    H = h.shape[0]
    m = float(h.mean())
    if loss == "bce":
        lv = float(np.mean(np.logaddexp(0.0, h) - h * y))
        dout = (sigmoid(h) - y) * (1.0 / H)
        y_hat = 1.0 / (1.0 + math.exp(-m)) if m >= 0 else math.exp(m) / (1.0 + math.exp(m))
    else:
        d = h - y
        lv = float(np.mean(d * d))
        dout = d * (2.0 / H)
        y_hat = m
    return y_hat, lv, dout, dout


# -- optimizers on a flat vector, the same arithmetic as torch.optim's single-tensor paths ------------------
class FlatSGD:
    name = "sgd"

    def __init__(self, size: int, dtype=np.float32):
        self.size = size

    def update(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> None:
        theta -= grad * lr  # torch: param.add_(grad, alpha=-lr)


class FlatAdam:
    """torch.optim.Adam (no weight decay, no amsgrad): m.lerp_(g, 1-b1); v = v*b2 + (1-b2) g^2;
    theta -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""

    name = "adam"

    def __init__(self, size: int, dtype=np.float32, betas=BETAS, eps=EPS):
        self.m = np.zeros(size, dtype)
        self.v = np.zeros(size, dtype)
        self.t = 0
        self.b1, self.b2 = betas
        self.eps = eps
        self._tmp = np.empty(size, dtype)
        self._tmp2 = np.empty(size, dtype)

    def update(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> None:
        m, v, tmp, tmp2 = self.m, self.v, self._tmp, self._tmp2
        self.t += 1
        np.subtract(grad, m, out=tmp)
        tmp *= 1 - self.b1
        m += tmp
        v *= self.b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.b2
        v += tmp
        bc1 = 1 - self.b1 ** self.t
        bc2_sqrt = (1 - self.b2 ** self.t) ** 0.5
        np.sqrt(v, out=tmp)
        tmp /= bc2_sqrt
        tmp += self.eps
        np.divide(m, tmp, out=tmp2)
        tmp2 *= -(lr / bc1)
        theta += tmp2
