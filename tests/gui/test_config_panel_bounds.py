"""The config panel with values that are each in range but together out of core.config's joint bounds (a batch
data set too large to build): editing never raises, the fields show as pending, and Reset says why in one
message and changes nothing."""

import pytest

pytest.importorskip("pytestqt")

from core.config import Config, ConfigError  # noqa: E402


def test_jointly_out_of_bounds_values_are_pending_and_reset_says_why(win, qtbot):
    panel = win.panel
    panel.set_value("mode", "batch")
    panel.set_value("n_sequences", 10_000_000)
    panel.set_value("seq_len", 100_000)
    with pytest.raises(ConfigError):  # the oracle: core refuses this pair
        Config().replace(**panel.values())
    assert {"mode", "n_sequences", "seq_len"} <= set(panel.pending_fields())
    applied, n_err = win.state.applied, len(win.message.errors)
    win.commands.reset()
    assert win.state.applied == applied  # nothing was applied
    assert len(win.message.errors) == n_err + 1 and "Cannot reset" in win.message.errors[-1]
