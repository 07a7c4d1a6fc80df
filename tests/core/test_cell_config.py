"""The `cell` field: gru by default and in every preset, older configs and session files open as GRU, and a rule,
measurement or engine that does not run a cell yet is refused with one clear message (never a GRU in its place)."""

from pathlib import Path

import pytest

from core.config import PRESETS, Config, ConfigError, preset
from core.gru.cells import OneBiasModel
from core.gru.model import GRUModel
from core.learning_rules import RULES, learning_rule
from core.rules.engines import CELL_ENGINES, make_engine
from core.seed_batched.shape import batch_shape
from core.sessions.gmlab import open_session, save_session
from core.train.batch import BatchTrainer
from core.train.online import OnlineTrainer

DATA = Path(__file__).resolve().parents[1] / "data"


def test_gru_is_the_default_and_every_presets_cell():
    assert Config().model.cell == "gru"
    assert all(PRESETS[name]["model"]["cell"] == "gru" and preset(name).model.cell == "gru" for name in PRESETS)
    old = Config().to_dict()
    del old["model"]["cell"]  # a config written before the field
    assert Config.from_dict(old).model.cell == "gru"
    with pytest.raises(ConfigError, match="model.cell: must be one of gru, lstm, rnn; got 'gru2'"):
        Config().replace(cell="gru2")


@pytest.mark.parametrize("name", ["v1_online_rtrl", "v1_batch"])
def test_an_older_session_file_opens_as_a_gru(name):
    s = open_session(DATA / f"{name}.gmlab")
    assert s.config.model.cell == "gru" and isinstance(s.trainer.model, GRUModel)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("rule", [r.name for r in RULES])
def test_every_rule_of_the_catalogue_runs_each_cell_online(cell, rule):
    assert cell in learning_rule(rule).cells
    tr = OnlineTrainer(Config().replace(cell=cell, rule=rule, units=3))
    assert type(tr.engine) is CELL_ENGINES[rule]
    tr.step()


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_what_does_not_run_a_cell_yet_says_so(cell):
    with pytest.raises(ConfigError, match="train.fidelity: gradient fidelity's shadow RTRL runs the GRU only"):
        Config().replace(cell=cell, fidelity=True)
    cfg = Config().replace(cell=cell, rule="rtrl")
    cfg.train.rule = "uoro"
    assert batch_shape(cfg).cell == cell  # the seed-batched engines run it
    cfg.train.fidelity = True  # past validation: the engine table refuses it too
    with pytest.raises(ValueError, match=f"the fast engines run cell {cell} under rule tbptt, rtrl, uoro, snap1 "
                                         "without fidelity, not rule 'uoro' with fidelity"):
        make_engine("fast", OneBiasModel(cfg.model), cfg, "cpu")


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("mode", ["online", "batch"])
def test_a_session_of_each_cell_round_trips(tmp_path, cell, mode):
    cfg = Config().replace(cell=cell, units=3, mode=mode, rule="rtrl", n_sequences=40, seq_len=5, batch_size=8)
    tr = OnlineTrainer(cfg) if mode == "online" else BatchTrainer(cfg)
    assert isinstance(tr.model, OneBiasModel)
    for _ in range(12):
        tr.step()
    save_session(tmp_path / "s.gmlab", tr)
    s = open_session(tmp_path / "s.gmlab")
    assert s.config.model.cell == cell
    for _ in range(6):
        assert s.trainer.step().loss == tr.step().loss
