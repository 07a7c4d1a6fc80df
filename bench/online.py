"""Online steps per second, one thread, side by side: the autograd loop, fast TBPTT(1), fast TBPTT(4), RTRL, UORO,
SnAp-1, TBPTT(1) with gradient fidelity (a shadow RTRL measuring every step, its rows drained every 256 steps as
the live engine does), and a bare hand-written NumPy step (forward + backward + Adam, window 1) as the floor, for the
GRU; then the LSTM's and the RNN's autograd loop, fast TBPTT(1) and RTRL (--cells), each against its own loop.

    python bench/online.py [--steps 20000] [--rounds 5] [--units 16] [--cpu] [--cells lstm,rnn]

Each round times every contender for --steps steps, in turn (interleaved, so a busy machine slows all of them
alike); the table gives the median over rounds and the ratio to the autograd loop measured in the same run.
--cpu times the process's CPU time instead of wall time, which other jobs on a shared machine disturb less.
The trainers' rows include everything a trainer step does (stream, record); the floor row does only the math.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.config import preset  # noqa: E402
from core.train.online import OnlineTrainer  # noqa: E402


class NumpyFloor:
    """The least a window-1 online step can do in NumPy: GRU forward, linear readout, MSE, backward, Adam,
    with preallocated buffers; no stream, no record, no checks."""

    def __init__(self, units: int, seed: int = 0):
        H = self.H = units
        rng = np.random.default_rng(seed)
        k = 1 / np.sqrt(H)
        self.p = rng.uniform(-k, k, 3 * H * (H + 3) + H + 1).astype(np.float32)
        o = 0
        def take(n, shape):
            nonlocal o
            v = self.p[o:o + n].reshape(shape)
            o += n
            return v
        self.w_ih, self.w_hh = take(3 * H, (3 * H,)), take(3 * H * H, (3 * H, H))
        self.b_ih, self.b_hh = take(3 * H, (3 * H,)), take(3 * H, (3 * H,))
        self.w, self.b = take(H, (H,)), take(1, (1,))
        self.g = np.zeros_like(self.p)
        o = 0
        self.m, self.v = np.zeros_like(self.p), np.zeros_like(self.p)
        self.tmp, self.tmp2 = np.empty_like(self.p), np.empty_like(self.p)
        gv = {}
        for name, n in (("w_ih", 3 * H), ("w_hh", 3 * H * H), ("b_ih", 3 * H), ("b_hh", 3 * H), ("w", H), ("b", 1)):
            gv[name] = self.g[o:o + n]
            o += n
        self.gv = gv
        self.g_whh = gv["w_hh"].reshape(3 * H, H)
        self.h = np.zeros(H, np.float32)
        self.t = 0

    def step(self, x: int, y: int) -> float:
        H, h = self.H, self.h
        gi = self.w_ih * x + self.b_ih
        gh = self.w_hh @ h + self.b_hh
        rz = gi[:2 * H] + gh[:2 * H]
        np.negative(rz, out=rz)
        np.exp(rz, out=rz)
        rz += 1
        np.reciprocal(rz, out=rz)
        r, z = rz[:H], rz[H:]
        hn = gh[2 * H:]
        n = np.tanh(gi[2 * H:] + r * hn)
        h_new = n + z * (h - n)
        o = float(self.w @ h_new) + float(self.b[0])
        d = 2.0 * (o - y)
        gv = self.gv
        np.multiply(h_new, d, out=gv["w"])
        gv["b"][0] = d
        dh = self.w * d
        omz = 1 - z
        g_bih, g_bhh = gv["b_ih"], gv["b_hh"]
        np.multiply(dh * omz, 1 - n * n, out=g_bih[2 * H:])
        np.multiply(dh * (h - n), z * omz, out=g_bih[H:2 * H])
        np.multiply(g_bih[2 * H:] * hn, r * (1 - r), out=g_bih[:H])
        g_bhh[:2 * H] = g_bih[:2 * H]
        np.multiply(g_bih[2 * H:], r, out=g_bhh[2 * H:])
        np.multiply(g_bih, x, out=gv["w_ih"])
        np.multiply(g_bhh[:, None], h, out=self.g_whh)
        # Adam (torch's arithmetic)
        self.t += 1
        g, m, v, tmp, tmp2 = self.g, self.m, self.v, self.tmp, self.tmp2
        np.subtract(g, m, out=tmp)
        tmp *= 0.1
        m += tmp
        v *= 0.999
        np.multiply(g, g, out=tmp)
        tmp *= 0.001
        v += tmp
        np.sqrt(v, out=tmp)
        tmp /= (1 - 0.999 ** self.t) ** 0.5
        tmp += 1e-8
        np.divide(m, tmp, out=tmp2)
        tmp2 *= -1e-3 / (1 - 0.9 ** self.t)
        self.p += tmp2
        self.h = h_new
        return (o - y) ** 2


def _trainer_runner(cfg, engine):
    tr = OnlineTrainer(cfg, engine=engine)

    def run(n):
        step = tr.step
        for _ in range(n):
            step()
    return run


def _fidelity_runner(cfg, every: int = 256):
    """A run with gradient fidelity, its rows drained every `every` steps as the live engine takes them after each
    ~20 ms chunk (the meter keeps each step's Gram sums and makes the rows when they are read)."""
    tr = OnlineTrainer(cfg.replace(fidelity=True))
    meter = tr.engine.fidelity

    def run(n):
        step = tr.step
        for i in range(n):
            step()
            if i % every == every - 1:
                meter.drain()
        meter.drain()
    return run


def _floor_runner(units):
    fl = NumpyFloor(units)
    xs = (np.random.default_rng(0).random(10**6) < 0.25).astype(int).tolist()
    ys = [1 - v for v in xs]
    pos = [0]

    def run(n):
        i = pos[0]
        step = fl.step
        for j in range(i, i + n):
            step(xs[j % 10**6], ys[j % 10**6])
        pos[0] = i + n
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000, help="steps per contender per round (20000)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--units", type=int, default=16)
    ap.add_argument("--cells", default="lstm,rnn",
                    help="other cells to time (TBPTT(1) and RTRL against the autograd loop of the same cell): "
                         "comma-separated of lstm, rnn; empty for none")
    ap.add_argument("--cpu", action="store_true",
                    help="time the process's CPU time instead of wall time (steadier on a machine other jobs load)")
    args = ap.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    torch.set_num_threads(1)
    base = preset("question-fixed").replace(units=args.units, lag=3)
    contenders = [
        ("autograd loop, TBPTT(1)", _trainer_runner(base, "autograd")),
        ("autograd loop, TBPTT(4)", _trainer_runner(base.replace(window=4), "autograd")),
        ("fast TBPTT(1)", _trainer_runner(base, "fast")),
        ("fast TBPTT(4)", _trainer_runner(base.replace(window=4), "fast")),
        ("RTRL", _trainer_runner(base.replace(rule="rtrl"), "fast")),
        ("UORO", _trainer_runner(base.replace(rule="uoro"), "fast")),
        ("SnAp-1", _trainer_runner(base.replace(rule="snap1"), "fast")),
        ("TBPTT(1) + fidelity", _fidelity_runner(base)),
        ("NumPy floor, window 1", _floor_runner(args.units)),
    ]
    cells = [c for c in args.cells.split(",") if c]
    for cell in cells:  # docs/cells.md: the LSTM and the RNN run TBPTT(k) and RTRL in the fast engines
        cb = base.replace(cell=cell)
        contenders += [(f"{cell.upper()} autograd loop, TBPTT(1)", _trainer_runner(cb, "autograd")),
                       (f"{cell.upper()} fast TBPTT(1)", _trainer_runner(cb, "fast")),
                       (f"{cell.upper()} RTRL", _trainer_runner(cb.replace(rule="rtrl"), "fast"))]
    rates: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _, run in contenders:  # warm-up
        run(500)
    for _ in range(args.rounds):
        for name, run in contenders:
            # the autograd loop is ~15x slower: fewer steps keep the rounds short, the rate is per step anyway
            n = args.steps // 5 if "autograd" in name else args.steps
            t0 = clock()
            run(n)
            rates[name].append(n / (clock() - t0))
    med = {k: statistics.median(v) for k, v in rates.items()}
    ref = med["autograd loop, TBPTT(1)"]
    n_params = OnlineTrainer(base).n_params
    print(f"online steps/s, {args.units} units ({n_params} parameters), 1 thread, torch {torch.__version__}, "
          f"numpy {np.__version__}; median of {args.rounds} interleaved rounds, {'CPU' if args.cpu else 'wall'} time")
    print(f"{'engine':<32} {'steps/s':>9} {'us/step':>8} {'x autograd(1)':>14}  {'min..max steps/s':>18}")
    for name, _ in contenders:
        v = rates[name]
        cell = name.split()[0].lower()
        own = med[f"{cell.upper()} autograd loop, TBPTT(1)"] if cell in cells else ref  # the same cell's loop
        print(f"{name:<32} {med[name]:>9,.0f} {1e6 / med[name]:>8.1f} {med[name] / own:>14.2f}  "
              f"{min(v):>8,.0f}..{max(v):,.0f}")
    if cells:
        print("(LSTM and RNN rows: x the autograd loop of the same cell, TBPTT(1))")
    f1, r = med["fast TBPTT(1)"], med["RTRL"]
    print(f"target fast TBPTT(1) >= 10,000 steps/s and >= 5x autograd: {f1:,.0f}, {f1 / ref:.1f}x -> "
          f"{'met' if f1 >= 10000 and f1 >= 5 * ref else 'NOT met'}")
    print(f"target RTRL >= 2,000 steps/s: {r:,.0f} -> {'met' if r >= 2000 else 'NOT met'}")
    extra = 1 / med["TBPTT(1) + fidelity"] - 1 / f1  # seconds per step the shadow adds
    print(f"target fidelity costs at most an RTRL step: +{extra * 1e6:.1f} us vs RTRL {1e6 / r:.1f} us "
          f"({extra * r:.2f}x; aim <= 0.85x for a margin) -> {'met' if extra <= 1 / r else 'NOT met'}; "
          f"TBPTT(1) + fidelity is {f1 / med['TBPTT(1) + fidelity']:.2f}x slower than TBPTT(1)")


if __name__ == "__main__":
    main()
