"""Memory probe, portrait and separation on synthetic states with known answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis.probes import lag_labels, memory_probe, pca_2d, separation


def _bits(T, p=0.5, seed=0):
    return (np.random.default_rng(seed).random(T) < p).astype(np.int64)


def _delayed_state(x, delay, H=8, noise=0.1, seed=1):
    """h[t] = a * x[t-delay] mixed into H noisy units (x before the start counted as 0)."""
    rng = np.random.default_rng(seed)
    past = np.zeros_like(x, dtype=np.float64)
    past[delay:] = x[:-delay] if delay else x
    a = rng.normal(size=H)
    return np.outer(past, a) + noise * rng.normal(size=(len(x), H))


def test_probe_decodes_the_delayed_bit_and_nothing_else():
    x = _bits(2000, p=0.5)
    h = _delayed_state(x, delay=3)
    mp = memory_probe(h, x, max_lag=6)
    assert mp.reason == ""
    assert list(mp.lags) == list(range(7))
    assert mp.accuracy[3] > 0.99 and mp.balanced_accuracy[3] > 0.99
    assert mp.score[3] > 0.9
    assert mp.best_lag() == 3
    for k in (0, 1, 2, 4, 5, 6):  # independent bits: nothing to decode
        assert mp.score[k] < 0.05, (k, mp.score[k])
        assert abs(mp.balanced_accuracy[k] - 0.5) < 0.06, (k, mp.balanced_accuracy[k])


def test_probe_is_at_chance_on_an_unrelated_random_state():
    x = _bits(2000, p=0.25, seed=3)
    h = np.random.default_rng(9).normal(size=(2000, 16))
    mp = memory_probe(h, x, max_lag=4)
    assert np.all(mp.score < 0.05)
    # the decoder falls back to the majority class: accuracy at the base rate, balanced accuracy at 0.5
    assert np.all(np.abs(mp.accuracy - mp.base_rate) < 0.03)
    assert np.all(np.abs(mp.balanced_accuracy - 0.5) < 0.05)
    assert np.all((mp.base_rate > 0.65) & (mp.base_rate < 0.85))  # p = 0.25


def test_probe_does_not_depend_on_the_scale_of_the_state():
    x = _bits(1500, seed=4)
    h = _delayed_state(x, delay=1, noise=0.05)
    a, b = memory_probe(h, x, max_lag=3), memory_probe(1e-3 * h, x, max_lag=3)
    np.testing.assert_allclose(a.r2, b.r2, atol=1e-6)


def test_probe_scores_on_the_held_out_tail():
    x = _bits(1000, seed=5)
    h = _delayed_state(x, delay=0)
    mp = memory_probe(h, x, max_lag=2, train_frac=0.7)
    assert list(mp.n_train) == [700, 699, 698]
    assert list(mp.n_test) == [300, 300, 300]


def test_probe_degenerate_cases_give_nan_and_a_reason():
    h = np.random.default_rng(0).normal(size=(200, 4))
    const = memory_probe(h, np.ones(200), max_lag=2)
    assert np.all(np.isnan(const.score)) and "constant" in const.reason
    short = memory_probe(h[:3], _bits(3), max_lag=5)
    assert np.all(np.isnan(short.score)) and "too few" in short.reason
    empty = memory_probe(np.zeros((0, 4)), np.zeros(0), max_lag=1)
    assert np.all(np.isnan(empty.score)) and empty.reason
    bad = h.copy()
    bad[10, 1] = np.nan
    nanp = memory_probe(bad, _bits(200), max_lag=2)
    assert np.all(np.isnan(nanp.score)) and "non-finite" in nanp.reason
    # lags beyond the window are NaN while the short ones are scored
    part = memory_probe(_delayed_state(_bits(30), 1), _bits(30), max_lag=25)
    assert np.isfinite(part.score[0]) and np.isnan(part.score[25]) and part.reasons[25]
    assert part.reasons[0] == "" and part.reason
    with pytest.raises(ValueError):
        memory_probe(h, np.zeros(10))


def test_pca_matches_numpy_svd_and_reports_explained_variance():
    rng = np.random.default_rng(0)
    T, H = 500, 6
    # variance 9 along e0+e1, 1 along e2, small elsewhere
    d1 = np.zeros(H)
    d1[[0, 1]] = 1 / np.sqrt(2)
    d2 = np.zeros(H)
    d2[2] = 1.0
    h = (3 * rng.normal(size=(T, 1)) * d1 + rng.normal(size=(T, 1)) * d2 + 0.01 * rng.normal(size=(T, H))
         + 5.0)
    pt = pca_2d(h)
    assert pt.method == "pca"
    c = h - h.mean(axis=0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    np.testing.assert_allclose(pt.explained, (s ** 2 / np.sum(s ** 2))[:2], rtol=1e-9)
    for i in range(2):
        assert abs(abs(pt.components[i] @ vt[i]) - 1) < 1e-9  # same direction up to sign
        assert pt.components[i][np.argmax(np.abs(pt.components[i]))] > 0  # the sign rule
    assert abs(abs(pt.components[0] @ d1) - 1) < 1e-3 and abs(abs(pt.components[1] @ d2) - 1) < 1e-3
    np.testing.assert_allclose(pt.points, c @ pt.components.T, atol=1e-9)
    np.testing.assert_allclose(pt.transform(h), pt.points, atol=1e-9)
    assert 0.85 < pt.explained[0] < 0.95 and 0.05 < pt.explained[1] < 0.15
    assert pt.labels == (f"PC1 ({100 * pt.explained[0]:.0f}%)", f"PC2 ({100 * pt.explained[1]:.0f}%)")
    assert pt.note == ""


def test_portrait_uses_the_units_when_there_are_one_or_two():
    rng = np.random.default_rng(1)
    h2 = rng.normal(size=(50, 2)) * [2.0, 1.0]
    p2 = pca_2d(h2)
    assert p2.method == "units" and p2.labels == ("h[0]", "h[1]")
    np.testing.assert_array_equal(p2.points, h2)
    assert abs(p2.explained.sum() - 1) < 1e-12 and p2.explained[0] > p2.explained[1]
    h1 = rng.normal(size=(50, 1))
    p1 = pca_2d(h1)
    assert p1.method == "unit" and p1.labels[0] == "h[0]"
    np.testing.assert_array_equal(p1.points[:, 0], h1[:, 0])
    np.testing.assert_array_equal(p1.points[:, 1], 0.0)
    assert list(p1.explained) == [1.0, 0.0]


def test_portrait_degenerate_windows():
    flat = pca_2d(np.ones((20, 5)))
    assert np.all(np.isnan(flat.explained)) and flat.note and np.all(flat.points == 0)
    one = pca_2d(np.ones((1, 5)))
    assert one.points.shape == (1, 2) and one.note
    h = np.random.default_rng(2).normal(size=(30, 4))
    h[7, 2] = np.inf
    pt = pca_2d(h)
    assert np.all(np.isnan(pt.points[7])) and np.all(np.isfinite(np.delete(pt.points, 7, axis=0)))
    assert "non-finite" in pt.note


def test_lag_labels_mark_inputs_before_the_window_unknown():
    x = np.array([1, 0, 1, 1, 0])
    assert list(lag_labels(x, 0)) == [1, 0, 1, 1, 0]
    assert list(lag_labels(x, 2)) == [-1, -1, 1, 0, 1]
    assert list(lag_labels(x, 9)) == [-1] * 5


def test_separation_grows_with_cluster_distance_and_ignores_unknown_labels():
    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.5).astype(int)
    noise = rng.normal(size=(400, 2))
    far = noise + np.outer(labels, [6.0, 0.0])
    near = noise + np.outer(labels, [0.5, 0.0])
    same = noise
    assert 5 < separation(far, labels) < 7  # d' of a 6-sigma shift
    assert 0.2 < separation(near, labels) < 0.8
    assert separation(same, labels) < 0.3
    # unknown labels (-1) are left out: adding far-away unknown points changes nothing
    extra = np.vstack([far, 100 + rng.normal(size=(50, 2))])
    assert separation(extra, np.r_[labels, -np.ones(50, int)]) == pytest.approx(separation(far, labels))
    assert np.isnan(separation(far[:3], [0, 1, 1]))
    assert separation(np.array([[0.0], [0.0], [1.0], [1.0]]), [0, 0, 1, 1]) == float("inf")


def test_probe_and_portrait_on_a_trained_gru_show_the_remembered_bit():
    """question-fixed after 4000 steps: the state holds x[t-1] (the task's lag) and separates it."""
    import torch

    from core.config import preset
    from core.train.trainer import OnlineTrainer

    torch.set_num_threads(1)
    tr = OnlineTrainer(preset("question-fixed"))
    for _ in range(4000):
        tr.step()
    recs = [tr.step(train=False) for _ in range(1000)]
    h, x = np.array([r.h for r in recs]), np.array([r.x for r in recs])
    mp = memory_probe(h, x, max_lag=8)
    assert mp.accuracy[1] == 1.0 and mp.score[1] > 0.95
    assert mp.score[8] < 0.2
    pt = pca_2d(h)
    assert separation(pt.points, lag_labels(x, 1)) > 5
    assert separation(pt.points, lag_labels(x, 6)) < 1


@settings(max_examples=40, deadline=None)
@given(T=st.integers(0, 60), H=st.integers(1, 5), K=st.integers(0, 12), seed=st.integers(0, 1000))
def test_probe_and_portrait_never_raise_on_small_windows(T, H, K, seed):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(T, H))
    x = (rng.random(T) < 0.3).astype(int)
    mp = memory_probe(h, x, max_lag=K)
    assert mp.score.shape == (K + 1,)
    ok = np.isfinite(mp.score)
    assert np.all((mp.score[ok] >= 0) & (mp.score[ok] <= 1))
    for k, r in enumerate(mp.reasons):  # every lag without a reason was fully scored
        if r == "":
            assert np.isfinite(mp.score[k]) and np.isfinite(mp.balanced_accuracy[k])
    assert (mp.reason == "") == all(r == "" for r in mp.reasons)
    pt = pca_2d(h)
    assert pt.points.shape == (T, 2)
