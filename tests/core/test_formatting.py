"""core.formatting: significant digits, counts, durations, progress and the one step numbering."""

import pytest

from core.formatting import (
    accuracy_text,
    count_text,
    duration_text,
    loss_text,
    progress_text,
    sig,
    step_index,
    step_number,
)


@pytest.mark.parametrize("v,digits,text", [
    (3e-5, 2, "3.0e-05"),
    (0.1875, 3, "0.188"),
    (0.00089, 2, "8.9e-04"),
    (0.0012, 2, "0.0012"),
    (12.5, 3, "12.5"),
    (0.09996, 3, "0.100"),
    (2e38, 3, "2.00e+38"),
    (0.0, 3, "0"),
    (-0.25, 2, "-0.25"),
    (float("nan"), 3, "nan"),
    (float("inf"), 3, "inf"),
])
def test_significant_digits(v, digits, text):
    assert sig(v, digits) == text


def test_a_small_loss_never_reads_as_zero():
    assert loss_text(3e-5) == "3.00e-05" and loss_text(0.18756) == "0.188"


def test_accuracy_never_rounds_onto_the_solved_line():
    assert accuracy_text(1.0) == "1.000" and accuracy_text(0.75) == "0.750"
    assert accuracy_text(0.9896) == "0.9896" and accuracy_text(0.9904) == "0.990"
    assert accuracy_text(float("nan")) == "n/a"


def test_counts_durations_and_progress():
    assert count_text(13454) == "13,454"
    assert duration_text(0.3) == "under 1 s" and duration_text(2.2) == "2 s" and duration_text(600) == "10 min"
    assert progress_text(13454, 20000, 3273) == "step 13,454 / 20,000 · about 2 s left"
    assert progress_text(20000, 20000, 3273) == "step 20,000 / 20,000"
    assert progress_text(5, 900, float("nan"), unit="minibatch") == "minibatch 5 / 900"


def test_step_numbering_is_one_based():
    from core.config import preset
    from core.train.trainer import OnlineTrainer

    tr = OnlineTrainer(preset("question-fixed"))
    rec = tr.step()  # the first trained step
    assert rec.t == 0 and step_number(rec.t) == 1 and step_index(1) == 0 and tr.t == 1  # "step 1"
