"""Config validation names the field and its range; dicts round-trip; presets are what the seed thread used."""

import pytest

from core.config import Config, ConfigError, preset


@pytest.mark.parametrize("change, field", [
    ({"units": 0}, "model.units"), ({"p": 0.0}, "task.p"), ({"p": 1.0}, "task.p"), ({"lag": -1}, "task.lag"),
    ({"lr": 0.0}, "train.lr"), ({"window": 0}, "train.window"), ({"kind": "and"}, "task.kind"),
    ({"readout": "softmax"}, "model.readout"), ({"lr": float("nan")}, "train.lr"), ({"units": 2.5}, "model.units"),
    ({"validation_split": 1.0}, "train.validation_split"),
])
def test_bad_values_name_field_and_range(change, field):
    with pytest.raises(ConfigError) as e:
        Config().replace(**change)
    assert e.value.field == field
    assert field in str(e.value)


def test_range_in_message():
    with pytest.raises(ConfigError, match=r"allowed \[1, 256\]"):
        Config().replace(units=0)


def test_dict_round_trip_and_unknown_keys():
    cfg = preset("answer")
    assert Config.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown field"):
        Config.from_dict({"model": {"unitz": 3}})
    with pytest.raises(ConfigError, match="unknown section"):
        Config.from_dict({"modle": {}})


def test_presets_match_the_thread():
    a = preset("answer")
    assert (a.model.units, a.train.seq_len, a.train.n_sequences, a.train.batch_size, a.train.epochs) == (
        2, 32, 10000, 512, 50)
    assert a.task.lag == 0 and a.train.mode == "batch"
    q, qf = preset("question"), preset("question-fixed")
    assert (q.model.units, q.model.readout, q.task.p, q.task.lag, q.train.window) == (16, "raw", 0.25, 1, 1)
    assert qf.model.readout == "linear" and qf.model.units == 16
