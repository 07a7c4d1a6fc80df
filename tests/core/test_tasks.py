"""The bit-stream tasks: the question's example, lags, XOR/COPY, probability, the Keras-style split."""

import numpy as np

from core.config import TaskConfig
from core.tasks import BitStream, base_rate, make_dataset, make_targets


def test_question_example():
    # x = [0, 1, 0, 0] -> y = [1, 1, 0, 1]: NOT of the previous input, missing inputs count as 0
    assert make_targets(np.array([0, 1, 0, 0]), "not", 1).tolist() == [1, 1, 0, 1]


def test_answer_target_is_one_minus_x():
    x = np.array([0, 1, 1, 0, 1])
    assert make_targets(x, "not", 0).tolist() == (1 - x).tolist()


def test_copy_and_xor():
    x = np.array([1, 0, 1, 1, 0])
    assert make_targets(x, "copy", 2).tolist() == [0, 0, 1, 0, 1]
    assert make_targets(x, "xor", 1).tolist() == [1, 1, 1, 0, 1]


def test_stream_matches_sequence_targets_across_chunks():
    s = BitStream(TaskConfig(kind="not", p=0.25, lag=3), seed=1, chunk=7)
    x, y = s.take(100)
    assert y.tolist() == make_targets(x, "not", 3).tolist()
    assert abs(BitStream(TaskConfig(p=0.25), seed=0).take(20000)[0].mean() - 0.25) < 0.02


def test_stream_state_round_trip():
    s = BitStream(TaskConfig(lag=2), seed=3, chunk=16)
    s.take(37)
    st = s.state_dict()
    a = s.take(50)
    s2 = BitStream(TaskConfig(lag=2), seed=99, chunk=16)
    s2.load_state_dict(st)
    b = s2.take(50)
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def test_validation_split_is_taken_from_the_end():
    d = make_dataset(TaskConfig(lag=0), 100, 8, 0.1, seed=0)
    assert d.x_train.shape == (90, 8) and d.x_val.shape == (10, 8)
    rng = np.random.default_rng(0)
    x = (rng.random((100, 8)) < 0.25).astype(np.int64)
    assert (d.x_val == x[90:]).all()


def test_base_rate():
    assert base_rate(TaskConfig(kind="not", p=0.25)) == 0.75
