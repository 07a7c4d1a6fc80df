"""Memory probes on a window of recorded states: what the state h[t] knows about past inputs, and its portrait.

This module owns the numbers behind the "does it remember?" views, computed from plain numpy arrays (a window
of states h (T, H) and the inputs x (T,) that drove them), so they work on any recording: the online trainer's
recent StepRecords or the batch trainer's ProbeView.

- `memory_probe`: for each lag k, a ridge-regression decoder of x[t-k] from h[t], fitted on the start of the
  window and scored on the held-out tail (accuracy, balanced accuracy, R²).
- `pca_2d`: a 2-D portrait of the states (the units themselves when H <= 2, else PCA), with axis labels.
- `lag_labels`: colouring labels x[t-lag] for a portrait, -1 where the window does not know them.
- `separation`: one number for "the two classes form separated clusters" (d' along the mean difference).

Pure numpy; nothing here imports torch or Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# -- memory probe -------------------------------------------------------------------------------------------

MIN_FIT = 10  # fewest steps a lag's decoder is fitted on
MIN_SCORE = 5  # fewest held-out steps it is scored on


@dataclass(frozen=True)
class MemoryProbe:
    """Per-lag decoding of x[t-k] from h[t], scored on held-out steps. Arrays have shape (K+1,), index = k.

    accuracy: fraction of held-out steps where the thresholded decoder (>= 0.5) gives x[t-k].
    balanced_accuracy: mean of the recall of 1s and of 0s (0.5 = chance whatever the base rate).
    r2: held-out R² of the decoder's output, clipped to [0, 1] (0 = no better than the training mean).
    score: the chance-corrected number to plot, = r2 (0 = nothing decodable, 1 = perfectly decodable).
    base_rate: majority-class fraction of x[t-k] on the held-out steps (what `accuracy` must beat).
    n_train, n_test: the steps each fit and score used.
    reasons: per lag, "" when scored, else why its scores are NaN (too few steps, constant input, ...).
    reason: "" when every lag was scored; else a summary of why some or all are NaN.
    """

    lags: np.ndarray
    accuracy: np.ndarray
    balanced_accuracy: np.ndarray
    r2: np.ndarray
    base_rate: np.ndarray
    n_train: np.ndarray
    n_test: np.ndarray
    reasons: tuple[str, ...]
    reason: str

    @property
    def score(self) -> np.ndarray:
        return self.r2

    def best_lag(self) -> int | None:
        """The lag with the highest score (ignoring NaN), or None when nothing was scored."""
        if not np.any(np.isfinite(self.r2)):
            return None
        return int(self.lags[np.nanargmax(self.r2)])


def _ridge_fit(a: np.ndarray, y: np.ndarray, ridge: float) -> Callable[[np.ndarray], np.ndarray]:
    """Ridge on standardised features: returns predict(a) -> values. The bias is not penalised."""
    mu = a.mean(axis=0)
    sd = a.std(axis=0)
    sd[sd <= 1e-12] = 1.0  # a constant feature stays 0 after centring
    z = (a - mu) / sd
    ym = y.mean()
    n, d = z.shape
    w = np.linalg.solve(z.T @ z + ridge * n * np.eye(d), z.T @ (y - ym))
    return lambda b: ((b - mu) / sd) @ w + ym


def memory_probe(h: np.ndarray, x: np.ndarray, max_lag: int = 10, train_frac: float = 0.7,
                 ridge: float = 1e-2) -> MemoryProbe:
    """Decode x[t-k] from h[t] (plus a bias) for k = 0..max_lag with closed-form ridge regression.

    h: (T, H) states, h[t] the state after reading x[t] (a (T,) array counts as H = 1); x: (T,) 0/1 inputs.
    Steps t < split = round(train_frac * T) train every decoder, steps t >= split score it, so the held-out
    tail is the same stretch of time for every lag; lag k uses only pairs with t >= k (inputs before the
    window are unknown). The penalty is ridge * n_train * |w|² on features standardised by their training
    mean and std, so `ridge` does not depend on the scale of the states.
    A lag needs MIN_FIT fitting and MIN_SCORE held-out steps. Degenerate inputs (too few steps, a constant
    target, non-finite values) give NaN scores and a reason, never an exception; only mismatched shapes
    raise ValueError.
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if h.ndim != 2 or len(h) != len(x):
        raise ValueError(f"h must be (T, H) and x (T,) with the same T; got {h.shape} and {x.shape}")
    max_lag = max(0, int(max_lag))
    K = max_lag + 1
    T = len(x)
    lags = np.arange(K)
    nan = np.full(K, np.nan)
    acc, bal, r2, base = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    n_tr, n_te = np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64)
    reasons = [""] * K

    def done(summary: str = "") -> MemoryProbe:
        if not summary:
            bad = [k for k in range(K) if reasons[k]]
            if bad:
                first = reasons[bad[0]]
                summary = (f"lag {bad[0]}: {first}" if len(bad) == 1
                           else f"{len(bad)} of {K} lags not scored (first, lag {bad[0]}: {first})")
        return MemoryProbe(lags, acc, bal, r2, base, n_tr, n_te, tuple(reasons), summary)

    if not (0.0 < train_frac < 1.0):
        reasons[:] = ["train_frac must be between 0 and 1"] * K
        return done(reasons[0])
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(x))):
        reasons[:] = ["the window holds non-finite values (diverged?)"] * K
        return done(reasons[0])
    split = int(round(train_frac * T))
    for k in range(K):
        t_tr = np.arange(k, split)
        t_te = np.arange(max(k, split), T)
        n_tr[k], n_te[k] = len(t_tr), len(t_te)
        if len(t_tr) < MIN_FIT or len(t_te) < MIN_SCORE:
            reasons[k] = f"too few steps ({len(t_tr)} to fit, {len(t_te)} to score)"
            continue
        y_tr, y_te = x[t_tr - k], x[t_te - k]
        ones = y_te.mean()
        base[k] = max(ones, 1.0 - ones)
        if np.all(y_tr == y_tr[0]):
            reasons[k] = "the input is constant over the fitting steps"
            continue
        pred = _ridge_fit(h[t_tr], y_tr, ridge)(h[t_te])
        hit = (pred >= 0.5) == (y_te >= 0.5)
        acc[k] = hit.mean()
        pos, neg = y_te >= 0.5, y_te < 0.5
        if pos.any() and neg.any():
            bal[k] = 0.5 * (hit[pos].mean() + hit[neg].mean())
        else:
            reasons[k] = "the input is constant over the held-out steps (balanced accuracy undefined)"
        sst = np.sum((y_te - y_tr.mean()) ** 2)  # > 0: the training targets vary, so their mean is not 0/1
        r2[k] = float(np.clip(1.0 - np.sum((y_te - pred) ** 2) / sst, 0.0, 1.0))
    return done()


# -- portrait -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Portrait:
    """A 2-D view of a window of states: points (T, 2), one per step, in the order given.

    method: "units" (H == 2: the two units), "unit" (H == 1: (h[0], 0), see `pca_2d`), or "pca".
    labels: axis labels, e.g. ("PC1 (63%)", "PC2 (21%)") or ("h[0]", "h[1]").
    explained: (2,) fraction of the window's variance along each axis (NaN when the window has none).
    mean, components: the fit, (H,) and (2, H); points = (h - mean) @ components.T for "pca", and
    `transform` applies the same fit to other states (to keep axes fixed while new steps arrive).
    note: "" or why the portrait is degenerate (e.g. no variance, non-finite rows shown as NaN).
    """

    points: np.ndarray
    labels: tuple[str, str]
    explained: np.ndarray
    method: str
    mean: np.ndarray
    components: np.ndarray
    note: str = ""

    def transform(self, h: np.ndarray) -> np.ndarray:
        h = np.asarray(h, dtype=np.float64)
        if h.ndim == 1:
            h = h[:, None] if self.components.shape[1] == 1 else h[None, :]
        return (h - self.mean) @ self.components.T


def _pct(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{100 * v:.0f}%"


def pca_2d(h: np.ndarray) -> Portrait:
    """Project a window of states (T, H) to 2-D.

    H == 2: the units themselves (axes "h[0]", "h[1]"), no rotation, so the picture is the state space.
    H == 1: points (h[0], 0) on a line (axes "h[0]" and ""): one point per step keeps them aligned with the
    colouring labels, and two remembered classes show as two groups along the axis.
    H >= 3: PCA fitted on this window via SVD of the centred states; each component's sign is fixed so its
    largest loading is positive (the axes do not flip between windows); labels "PC1 (63%)".
    Rows with non-finite values are left out of the fit and come back as NaN points (filter with isfinite).
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    if h.ndim != 2:
        raise ValueError(f"h must be (T, H); got shape {h.shape}")
    T, H = h.shape
    ok = np.all(np.isfinite(h), axis=1)
    note = "" if ok.all() else f"{int((~ok).sum())} non-finite row(s) left out"
    good = h[ok]
    mean = good.mean(axis=0) if len(good) else np.zeros(H)
    var_total = float(((good - mean) ** 2).sum()) if len(good) else 0.0

    if H <= 2:
        comps = np.eye(2, H)  # H == 1: second row is zeros, so y = 0
        pts = np.full((T, 2), np.nan)
        pts[ok] = good @ comps.T  # the units themselves, not centred
        if var_total > 0:
            explained = ((good - mean) ** 2).sum(axis=0) / var_total
            explained = np.pad(explained, (0, 2 - H))
        else:
            explained = np.full(2, np.nan)
            note = note or "the states do not vary over the window"
        labels = ("h[0]", "h[1]") if H == 2 else ("h[0]", "")
        return Portrait(pts, labels, explained, "units" if H == 2 else "unit", np.zeros(H), comps, note)

    comps = np.zeros((2, H))
    explained = np.full(2, np.nan)
    if len(good) >= 2 and var_total > 0:
        _, s, vt = np.linalg.svd(good - mean, full_matrices=False)
        m = min(2, len(s))
        comps[:m] = vt[:m]
        for i in range(m):
            if comps[i, np.argmax(np.abs(comps[i]))] < 0:
                comps[i] = -comps[i]
        ev = s ** 2 / np.sum(s ** 2)
        explained = np.zeros(2)
        explained[:m] = ev[:m]
    else:
        note = note or ("too few steps for PCA" if len(good) < 2 else "the states do not vary over the window")
    pts = np.full((T, 2), np.nan)
    pts[ok] = (good - mean) @ comps.T
    labels = (f"PC1 ({_pct(explained[0])})", f"PC2 ({_pct(explained[1])})")
    return Portrait(pts, labels, explained, "pca", mean, comps, note)


def lag_labels(x: np.ndarray, lag: int) -> np.ndarray:
    """Colouring labels for a window: labels[t] = x[t-lag] (0/1), and -1 for t < lag, where the input lies
    before the window and is unknown (not assumed 0)."""
    x = np.asarray(x).reshape(-1).astype(np.int64)
    lag = max(0, int(lag))
    out = np.full(len(x), -1, dtype=np.int64)
    if lag < len(x):
        out[lag:] = x[: len(x) - lag]
    return out


def separation(points: np.ndarray, labels: np.ndarray) -> float:
    """How well two classes of points separate: d' along the line joining the class means.

    d' = |mean1 - mean0| / pooled within-class std of the points projected on that line. Labels other than
    0 and 1 (e.g. -1 = unknown) and non-finite points are ignored. About 0: overlapping; >= 2: two visible
    clusters; inf: distinct means with no spread. NaN when a class has fewer than 2 points.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != len(p):
        raise ValueError(f"points and labels differ in length: {len(p)} vs {len(lab)}")
    keep = np.all(np.isfinite(p), axis=1)
    a, b = p[keep & (lab == 0)], p[keep & (lab == 1)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    diff = b.mean(axis=0) - a.mean(axis=0)
    dist = float(np.linalg.norm(diff))
    if dist == 0:
        return 0.0
    u = diff / dist
    pa, pb = a @ u, b @ u
    pooled = ((len(a) - 1) * pa.var(ddof=1) + (len(b) - 1) * pb.var(ddof=1)) / (len(a) + len(b) - 2)
    if pooled <= 0:
        return float("inf")
    return dist / float(np.sqrt(pooled))
