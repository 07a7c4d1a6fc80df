"""The trainer, the verdict, the runner's report and the recording's run length hold out the same sequences:
Keras's validation_split, checked against the rule computed exactly (not with the code's own float formula)."""

import math
from fractions import Fraction

from core.analysis.verdict import heldout_verdict, verdict_of_report
from core.config import preset
from core.runs.report import headless_report
from core.tasks import run_units
from core.train.trainer import make_trainer

N, SPLIT, L, BS = 1005, "0.1", 8, 8  # 1,005 x 0.1 = 100.5: where int(n * s) and Keras part ways
CFG = preset("answer").replace(n_sequences=N, validation_split=float(SPLIT), seq_len=L, batch_size=BS, epochs=1)


def keras_heldout(n: int, split: str) -> int:
    """Keras's fit(validation_split=s) trains on the first floor(n * (1 - s)) samples and validates on the rest,
    the last ones; computed here in exact rational arithmetic."""
    return n - math.floor(n * (1 - Fraction(split)))


def test_keras_holds_out_101_of_1005():
    assert keras_heldout(N, SPLIT) == 101  # floor(1005 x 0.9) = floor(904.5) = 904 train, the last 101 held out


def test_trainer_verdict_report_and_recording_agree_on_the_held_out_part(tmp_path):
    held = keras_heldout(N, SPLIT)
    train = N - held
    tr = make_trainer(CFG)
    assert len(tr.x_val) == held and tr.n_train == train and tr.heldout_count() == held * L
    tr.run_epoch()
    ev, v = heldout_verdict(CFG, tr)  # the window's verdict at the run's end
    assert ev["steps"] == v.n == held * L
    final = {"val_accuracy": 0.9, "val_loss": 0.1, "accuracy": 0.9, "loss": 0.1}
    assert verdict_of_report(CFG, {"final": final}).n == held * L  # the runner's verdict
    report = {"config": CFG.to_dict(), "history": {k: [x] for k, x in final.items()}, "final": final}
    rep, _ = headless_report(tmp_path / "run.md", report, [], "python main.py train")
    assert rep.heldout["steps"] == held * L  # the runner's Markdown report
    assert run_units(CFG.train) == math.ceil(train / BS) == tr.batches_per_epoch  # the recording's run length


def test_without_a_validation_split_the_last_epochs_training_accuracy_stands_in():
    cfg = CFG.replace(validation_split=0.0)
    tr = make_trainer(cfg)
    tr.run_epoch()
    ev, v = heldout_verdict(cfg, tr)
    assert ev["steps"] == 0 and tr.heldout_count() == 0
    assert (v.metric, v.figure, v.n) == ("accuracy", tr.history["accuracy"][-1], N * L)
    assert v == verdict_of_report(cfg, {"final": {"accuracy": tr.history["accuracy"][-1],
                                                  "loss": tr.history["loss"][-1]}})  # as the runner judges it
