"""The catalogue of learning rules (core/learning_rules.py) is the one list: every back end covers it or names, rule
by rule, what it does not run; the config offers exactly its rules; its `exact` flag is what the shadow RTRL
measures."""

import math

import numpy as np
import pytest

from core.config import Config, TrainConfig, preset
from core.learning_rules import CATALOGUE, NAMES, RULES, learning_rule
from core.rules.engines import AUTOGRAD_DOES_NOT_RUN, AUTOGRAD_RULES, FAST_ENGINES, engine_class
from core.rules.fidelity import FidelityMixin
from core.seed_batched.shape import BATCHED_RULES
from core.seed_batched.table import NUMPY_ENGINES, TORCH_DOES_NOT_RUN, TORCH_ENGINES
from core.train.online import OnlineTrainer


def _choices(cls, name):
    return next(f for f in cls.__dataclass_fields__.values() if f.name == name).metadata["choices"]


def test_the_catalogue_lists_each_rule_once():
    assert NAMES == ("tbptt", "rtrl", "uoro", "snap1")
    assert len(set(NAMES)) == len(RULES) and all(CATALOGUE[r.name] is r for r in RULES)
    with pytest.raises(ValueError, match="unknown online rule 'bptt'; choose tbptt, rtrl, uoro, snap1"):
        learning_rule("bptt")


def test_config_offers_exactly_the_catalogue():
    assert tuple(_choices(TrainConfig, "rule")) == NAMES
    for name in NAMES:
        Config().replace(rule=name).validate()
        assert name in next(f for f in TrainConfig.__dataclass_fields__.values() if f.name == "rule").metadata["help"]


def _covers(table: dict, does_not_run=()) -> None:
    """The back end's table and the rules it names as not run partition the catalogue; each class is its rule's."""
    assert set(table).isdisjoint(does_not_run), "a rule both run and not run"
    assert sorted(set(table) | set(does_not_run)) == sorted(NAMES)
    for name, cls in table.items():
        assert cls.rule == name


def test_single_fast_engines_run_every_rule():
    _covers(FAST_ENGINES)


def test_autograd_loop_names_what_it_does_not_run():
    assert set(AUTOGRAD_RULES).isdisjoint(AUTOGRAD_DOES_NOT_RUN)
    assert sorted(AUTOGRAD_RULES + AUTOGRAD_DOES_NOT_RUN) == sorted(NAMES)
    cfg = preset("question-fixed")
    for name in AUTOGRAD_DOES_NOT_RUN:
        with pytest.raises(ValueError, match="autograd engine implements rule tbptt only"):
            OnlineTrainer(cfg.replace(rule=name), engine="autograd")


def test_fidelity_shadow_wraps_every_rule():
    for name in NAMES:
        cls = engine_class(name, True)
        assert issubclass(cls, FidelityMixin) and issubclass(cls, FAST_ENGINES[name])


def test_batched_numpy_engine_runs_every_rule_and_the_sweep_plans_them():
    _covers(NUMPY_ENGINES)
    assert tuple(BATCHED_RULES) == NAMES


def test_torch_engine_names_the_rules_it_does_not_run():
    _covers(TORCH_ENGINES, TORCH_DOES_NOT_RUN)
    assert set(TORCH_ENGINES) == {"tbptt", "rtrl"}


def test_gradient_view_labels_every_rule():
    from gui.inspect.gradient import rule_name

    want = {"tbptt": "TBPTT(k=3)", "rtrl": "RTRL", "uoro": "UORO", "snap1": "SnAp-1"}
    assert {n: rule_name({"train": {"rule": n, "window": 3}}) for n in NAMES} == want
    assert rule_name({"train": {"rule": "later", "window": 1}}) == "later"


def test_exact_means_the_shadow_rtrl_agrees():
    """Against the shadow RTRL (core.rules.fidelity): an exact rule's gradient is RTRL's at every step (cos 1),
    an inexact one's is not (some step's cos is below 1)."""
    for r in RULES:
        tr = OnlineTrainer(preset("question-fixed").replace(rule=r.name, units=4, fidelity=True, lag=2, seed=3))
        cos = []
        for _ in range(60):
            tr.step()
            cos.append(tr.engine.fidelity.as_dict(tr.engine.fidelity.last)["cos_all"])
        cos = np.array([c for c in cos if not math.isnan(c)])
        assert len(cos) > 50
        if r.exact:
            np.testing.assert_allclose(cos, 1.0, atol=1e-5, err_msg=r.name)
        else:
            assert cos.min() < 0.999, r.name
