"""Opening a session: what the returned Session holds, and the one SessionError sentence for each way a file's
contents can be wrong (missing fields, checksum, config, JSON fields, tensor names) or not restore into its
trainer (non-finite weights, an oversized data set, a state that does not fit or does not come back exactly)."""

import json
import tomllib

import numpy as np
import pytest
import tomli_w
import torch

from core.config import Config, preset
from core.sessions import gmlab as S
from core.sessions.gmlab import SessionError, open_session, save_session
from core.train.trainer import make_trainer
from tests.session_files import rewrite

CFG = preset("question-fixed").replace(units=1, window=1, seed=3)


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "s.gmlab"
    tr = make_trainer(CFG)
    tr.step()
    save_session(p, tr, {"loss": np.array([1.0, 0.5], np.float32), "ring.h": np.ones((2, 1), np.float32)},
                 {"note": "hi"})
    return p


def cannot_open(p, sentence):
    with pytest.raises(SessionError) as ei:
        open_session(p)
    assert type(ei.value) is SessionError and str(ei.value) == f"cannot open {p}: {sentence}"


def set_meta(p, **fields):
    rewrite(p, metadata=lambda m: {**m, **fields})


# -- what comes back -----------------------------------------------------------------------------------------
def test_the_session_holds_path_version_config_history_extra_and_no_warnings(path):
    s = open_session(str(path))
    assert s.path == str(path) and s.version == 2 and s.config == CFG and s.warnings == ()
    assert set(s.history) == {"loss", "ring.h"} and s.history["loss"].tolist() == [1.0, 0.5]
    assert s.history["ring.h"].shape == (2, 1) and s.extra == {"note": "hi"}
    assert s.trainer.state_dict()[1]["t"] == 1


def test_a_cuda_session_opened_without_cuda_carries_the_device_warning(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is here")
    p = tmp_path / "cuda.gmlab"
    save_session(p, make_trainer(CFG.replace(device="cuda")))
    assert open_session(p).warnings == ("CUDA was requested but no CUDA device is available; training on the CPU.",)


def test_a_bytes_path_is_opened_and_named_decoded(path):
    assert open_session(bytes(path)).path == str(path)


# -- the boundary -----------------------------------------------------------------------------------------
def test_a_path_that_is_not_a_path_is_named():
    for bad in (None, 3.5):
        with pytest.raises(SessionError) as ei:
            open_session(bad)
        assert str(ei.value) == f"cannot open the session: not a file path: {bad!r}"


def test_running_out_of_memory_and_unexpected_errors_are_one_sentence(path, monkeypatch):
    def oom(p):
        raise MemoryError

    monkeypatch.setattr(S, "read_bounded", oom)
    cannot_open(path, "not enough memory to open this session")

    def odd(p):
        raise KeyError("x")

    monkeypatch.setattr(S, "read_bounded", odd)
    cannot_open(path, "truncated or corrupt (KeyError: 'x')")


# -- the fields ------------------------------------------------------------------------------------------------
def test_missing_fields_are_listed_in_order(path):
    rewrite(path, metadata=lambda m: {k: v for k, v in m.items() if k != "trainer"})
    cannot_open(path, "truncated or corrupt (the header lacks trainer)")
    rewrite(path, metadata=lambda m: {k: v for k, v in m.items() if k not in ("config", "extra")})
    cannot_open(path, "truncated or corrupt (the header lacks config, trainer, extra)")


def test_a_checksum_that_does_not_match_says_the_file_was_damaged(path):
    rewrite(path, metadata=lambda m: {**m, "checksum": "sha256:" + "0" * 64}, fix_checksum=False)
    cannot_open(path, "truncated or corrupt (the checksum does not match: the file was damaged or edited)")


def test_a_config_that_is_not_toml_gives_the_parser_reason(path):
    with pytest.raises(tomllib.TOMLDecodeError) as ei:
        tomllib.loads("[task")
    set_meta(path, config="[task")
    cannot_open(path, f"config: not valid TOML ({ei.value})")


def with_config(p, change):
    d = CFG.to_dict()
    change(d)
    set_meta(p, config=tomli_w.dumps(d))


def test_config_errors_name_the_field_unless_it_is_the_whole_config(path):
    with_config(path, lambda d: d.update(foo={}))
    cannot_open(path, "config: unknown section(s): foo")
    with_config(path, lambda d: d["model"].update(units=0))
    cannot_open(path, "config: model.units must be >= 1, got 0 (allowed [1, 256])")


def test_a_config_that_fails_otherwise_gives_its_reason(path, monkeypatch):
    for error in (TypeError("odd type"), ValueError("odd value")):
        def boom(d, error=error):
            raise error
        monkeypatch.setattr(Config, "from_dict", boom)
        cannot_open(path, f"config: {error}")


@pytest.mark.parametrize("field,text,sentence", [
    ("trainer", "[1]", "truncated or corrupt (the trainer position is not a JSON object)"),
    ("trainer", "{", "truncated or corrupt (the trainer position is not valid JSON)"),
    ("trainer", "[" * 33 + "]" * 33, "the trainer position is nested 33 deep (at most 32)"),
    ("extra", "3", "truncated or corrupt (extra is not a JSON object)"),
    ("extra", "{", "truncated or corrupt (the session's extra data is not valid JSON)"),
    ("extra", " " * 2**20 + "{}", "the session's extra data takes 1.0 MB (at most 1 MB)")])
def test_a_json_field_that_is_not_an_object_or_not_json_is_named(path, field, text, sentence):
    set_meta(path, **{field: text})
    cannot_open(path, sentence)


@pytest.mark.parametrize("name", ["trainer.", "history.", "weights", "Trainer.h", "x" * 100])
def test_a_tensor_outside_trainer_and_history_is_named(path, name):
    rewrite(path, tensors=lambda t: {**t, name: np.zeros(1, np.float32)})
    cannot_open(path, f"truncated or corrupt (unexpected tensor {name[:80]!r})")


# -- restoring the trainer -------------------------------------------------------------------------------------
def test_non_finite_saved_weights_are_named(path):
    def poison(t):
        t["trainer.model.readout.bias"] = np.array([np.inf], np.float32)
        return t
    rewrite(path, tensors=poison)
    cannot_open(path, "the saved weights contain NaN or infinity (trainer.model.readout.bias); this session cannot "
                      "be restored")


def test_the_batch_data_set_limit_holds_at_its_edge(tmp_path, monkeypatch):
    cfg = preset("answer").replace(n_sequences=300, seq_len=8, batch_size=64, seed=4)
    p = tmp_path / "b.gmlab"
    save_session(p, make_trainer(cfg))
    monkeypatch.setattr(S, "MAX_BATCH_CELLS", 2400)
    assert open_session(p).config == cfg
    monkeypatch.setattr(S, "MAX_BATCH_CELLS", 2399)
    cannot_open(p, "the batch data set (300 x 8 steps) is too large to rebuild (at most 2,399 steps)")


def test_the_batch_limit_does_not_apply_online(path, monkeypatch):
    monkeypatch.setattr(S, "MAX_BATCH_CELLS", 1)
    assert open_session(path).config.train.mode == "online"


class Echo:
    """A trainer that takes any state and gives back what `back` makes of it."""

    def __init__(self, back=None, error=None):
        self.back, self.error, self.device_warning = back, error, None

    def __call__(self, cfg):
        return self

    def load_state_dict(self, tensors, meta):
        if self.error:
            raise self.error
        self.tensors, self.meta = dict(tensors), dict(meta)

    def state_dict(self):
        return (self.back or (lambda t, m: (t, m)))(dict(self.tensors), dict(self.meta))


def test_an_exact_echo_opens(path, monkeypatch):
    monkeypatch.setattr(S, "make_trainer", Echo())
    assert open_session(path).trainer.meta["t"] == 1


@pytest.mark.parametrize("kind", [KeyError, IndexError, TypeError, ValueError, RuntimeError, OverflowError])
def test_a_state_the_trainer_cannot_take_says_it_does_not_fit(path, monkeypatch, kind):
    monkeypatch.setattr(S, "make_trainer", Echo(error=kind("no")))
    cannot_open(path, f"the trainer state does not fit its config ({kind.__name__}: {kind('no')})")


def test_the_trainer_reason_is_cut_at_200_characters(path, monkeypatch):
    monkeypatch.setattr(S, "make_trainer", Echo(error=ValueError("v" * 300)))
    cannot_open(path, f"the trainer state does not fit its config (ValueError: {'v' * 200})")


def test_another_error_from_the_trainer_is_caught_at_the_boundary(path, monkeypatch):
    monkeypatch.setattr(S, "make_trainer", Echo(error=ZeroDivisionError("z")))
    cannot_open(path, "truncated or corrupt (ZeroDivisionError: z)")


def test_tensors_the_trainer_adds_or_drops_are_named_first_in_order(path, monkeypatch):
    def more(t, m):
        t["b" * 100] = torch.zeros(1)
        t["zz"] = torch.zeros(1)
        return t, m
    monkeypatch.setattr(S, "make_trainer", Echo(more))
    cannot_open(path, f"the trainer state does not fit its config (unexpected or missing trainer.{'b' * 80})")

    def fewer(t, m):
        del t["h"]
        return t, m
    monkeypatch.setattr(S, "make_trainer", Echo(fewer))
    cannot_open(path, "the trainer state does not fit its config (unexpected or missing trainer.h)")


@pytest.mark.parametrize("change", [lambda a: a.double(), lambda a: a.reshape(-1), lambda a: a + 1,
                                    lambda a: a.to(torch.float16)])
def test_a_tensor_that_does_not_come_back_exactly_is_named(path, monkeypatch, change):
    def alter(t, m):
        t["h"] = change(t["h"])
        return t, m
    monkeypatch.setattr(S, "make_trainer", Echo(alter))
    cannot_open(path, "the trainer state does not restore exactly (trainer.h)")


def test_a_position_that_does_not_come_back_exactly_names_three_keys(path, monkeypatch):
    def alter(t, m):
        m["t"] = 5
        m.pop("stream")
        m["a" * 50] = 1
        m["zz"] = None  # the same as absent: not named
        m["zzz"] = 2  # a fourth: not named
        return t, m
    monkeypatch.setattr(S, "make_trainer", Echo(alter))
    cannot_open(path, f"the trainer position does not restore exactly ({'a' * 40}, stream, t does not fit the "
                      "config)")


def test_opening_leaves_the_global_torch_rng_as_it_was(path):
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    open_session(path)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_saved_position_reaches_the_trainer(path):
    s = open_session(path)
    t, m = s.trainer.state_dict()
    assert m["t"] == 1 and json.loads(json.dumps(m)) == m


def test_a_position_the_trainer_gives_back_that_is_not_json_names_its_key(path, monkeypatch):
    def alter(t, m):
        m["t"] = {1, 2}
        return t, m
    monkeypatch.setattr(S, "make_trainer", Echo(alter))
    cannot_open(path, "t cannot be stored as JSON (Object of type set is not JSON serializable)")


def test_opening_leaves_the_cuda_rng_as_it_was(path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA here")
    torch.cuda.init()
    torch.cuda.manual_seed_all(123)
    before = [s.clone() for s in torch.cuda.get_rng_state_all()]
    open_session(path)  # building its trainer seeds torch, CUDA included
    after = torch.cuda.get_rng_state_all()
    assert len(after) == len(before) and all(torch.equal(a, b) for a, b in zip(before, after))
