"""The window's File-menu session layer (gui/files/sessions.py, SessionUI), offscreen: Save writes to the file
last saved or opened without a dialog; Save as adds `.gmlab` to a name without a suffix; a batch export asks
before replacing `<name>.epochs.csv`; a session's view settings (window, smoothing, log-y, heatmap layer) come
back, and malformed ones are ignored one by one; a damaged Open recent list is read as its sane entries; an
opened session's warnings reach the message bar. QFileDialog's and QMessageBox's static calls are replaced by
tests/gui_helpers.py's `Dialogs`, which records each call and gives the answers a test queued."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from core.config import preset  # noqa: E402
from core.messages import OpenResult  # noqa: E402
from gui.files.sessions import RECENT_KEY  # noqa: E402
from tests.gui_helpers import make_window, open_, save, steps, wait_step  # noqa: E402

Yes, No = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


pytestmark = pytest.mark.usefixtures("docs")  # a temporary documents folder (conftest.py) for every test


@pytest.fixture
def batch_win(qtbot, tmp_path, monkeypatch):
    """A window training the batch preset `answer` (its export also writes <name>.epochs.csv)."""
    w = make_window(qtbot, tmp_path, monkeypatch, preset("answer"))
    assert w.state.applied.train.mode == "batch"
    yield w
    w.close()


# -- 1. Save writes to the current file ---------------------------------------------------------------------
def test_save_after_save_as_writes_the_chosen_file_again_without_a_dialog(qtbot, win, dialogs, tmp_path):
    ui = win.session_ui
    chosen = tmp_path / "chosen.gmlab"
    steps(qtbot, win, 4)
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    with qtbot.waitSignal(ui.saved, timeout=20000) as first:
        ui.act_save_as.trigger()
    steps(qtbot, win, 3)
    with qtbot.waitSignal(ui.saved, timeout=20000) as second:
        ui.act_save.trigger()
        assert dialogs.names() == ["getSaveFileName"]  # only Save as asked
    assert (first.args[0].path, first.args[0].step) == (str(chosen), 4)
    assert (second.args[0].path, second.args[0].step) == (str(chosen), 7)


def test_save_after_open_writes_the_opened_file_without_a_dialog(qtbot, win, dialogs, tmp_path):
    ui = win.session_ui
    path = tmp_path / "opened.gmlab"
    steps(qtbot, win, 5)
    save(qtbot, win, path)
    run = win.snap.run_id
    win.commands.reset()  # a new run, never saved: the file is no longer the current one
    wait_step(qtbot, win, lambda s: s.run_id != run)
    assert win.state.current_path is None
    open_(qtbot, win, path)
    steps(qtbot, win, 2)
    with qtbot.waitSignal(ui.saved, timeout=20000) as sig:
        ui.act_save.trigger()
        assert dialogs.calls == []
    assert (sig.args[0].path, sig.args[0].step) == (str(path), 7)


def test_save_of_a_never_saved_run_asks_for_a_path_and_a_cancel_saves_nothing(win, dialogs, monkeypatch):
    ui = win.session_ui
    sent: list[tuple] = []
    monkeypatch.setattr(win.handle, "save_session", lambda *a: sent.append(a))
    ui.act_save.trigger()
    assert dialogs.names() == ["getSaveFileName"] and sent == [] and win.state.current_path is None


# -- 2. the .gmlab suffix -----------------------------------------------------------------------------------
def test_save_as_writes_name_gmlab_when_the_name_typed_has_no_suffix(qtbot, win, dialogs, tmp_path):
    ui = win.session_ui
    steps(qtbot, win, 2)
    dialogs.answer("getSaveFileName", (str(tmp_path / "run"), ""))
    with qtbot.waitSignal(ui.saved, timeout=20000) as sig:
        ui.save_as()
    assert sig.args[0].path == str(tmp_path / "run.gmlab")
    assert (tmp_path / "run.gmlab").is_file() and not (tmp_path / "run").exists()
    assert win.state.current_path == str(tmp_path / "run.gmlab")


def test_the_save_path_gets_gmlab_only_when_the_name_has_no_suffix(win, dialogs, tmp_path):
    typed = {"run": "run.gmlab", "run.gmlab": "run.gmlab", "run.v2": "run.v2", "a.b/run": "a.b/run.gmlab"}
    for name, expected in typed.items():
        dialogs.answer("getSaveFileName", (str(tmp_path / name), ""))
        assert win.session_ui.choose_save_path() == str(tmp_path / expected), name
    assert win.session_ui.choose_save_path() is None  # cancelled


# -- 3. the per-epoch file of a batch export ----------------------------------------------------------------
def spy_exports(monkeypatch, w) -> list[str]:
    """The paths the window asks the child to export to (the request still goes through)."""
    sent: list[str] = []
    real = w.handle.export_csv
    monkeypatch.setattr(w.handle, "export_csv", lambda path: (sent.append(path), real(path))[1])
    return sent


def test_a_batch_export_over_an_existing_epochs_file_asks_and_no_writes_nothing(qtbot, batch_win, dialogs,
                                                                                  tmp_path, monkeypatch):
    w, ui = batch_win, batch_win.session_ui
    steps(qtbot, w, 3)
    chosen, epochs = tmp_path / "h.csv", tmp_path / "h.epochs.csv"
    epochs.write_text("kept\n")
    sent = spy_exports(monkeypatch, w)
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    dialogs.answer("question", No)
    ui.export_dialog()
    assert dialogs.names() == ["getSaveFileName", "question"]
    question = dialogs.calls[1][1]
    assert str(chosen) in question[2] and str(epochs) in question[2] and "h.epochs.csv already exists" in question[2]
    assert question[4] == No  # the default answer keeps the file
    assert sent == [] and epochs.read_text() == "kept\n" and not chosen.exists()
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    dialogs.answer("question", Yes)
    with qtbot.waitSignal(ui.exported, timeout=20000) as sig:
        ui.export_dialog()
    assert sent == [str(chosen)] and sig.args[0].paths == (str(chosen), str(epochs))
    assert epochs.read_text().startswith("epoch,") and chosen.read_text().startswith("step,loss,accuracy")


def test_a_batch_export_with_no_epochs_file_there_asks_nothing(qtbot, batch_win, dialogs, tmp_path):
    w, ui = batch_win, batch_win.session_ui
    steps(qtbot, w, 2)
    chosen = tmp_path / "fresh.csv"
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    with qtbot.waitSignal(ui.exported, timeout=20000) as sig:
        ui.export_dialog()
    assert dialogs.names() == ["getSaveFileName"] and "epochs.csv" in dialogs.calls[0][1][1]  # the title says so
    assert sig.args[0].paths == (str(chosen), str(tmp_path / "fresh.epochs.csv"))


def test_an_online_export_never_asks_about_or_touches_an_epochs_file(qtbot, win, dialogs, tmp_path):
    ui = win.session_ui
    steps(qtbot, win, 5)
    chosen, epochs = tmp_path / "o.csv", tmp_path / "o.epochs.csv"
    epochs.write_text("kept\n")
    dialogs.answer("getSaveFileName", (str(chosen), ""))
    with qtbot.waitSignal(ui.exported, timeout=20000) as sig:
        ui.export_dialog()
    assert dialogs.names() == ["getSaveFileName"] and "epochs" not in dialogs.calls[0][1][1]
    assert sig.args[0].paths == (str(chosen),) and epochs.read_text() == "kept\n"
    assert len(chosen.read_text().splitlines()) == 5 + 1  # a header and the 5 steps


# -- 4. and 5. the view settings a session keeps ------------------------------------------------------------
def view(w) -> dict:
    """What the window shows of the four view settings a session keeps, and a layer it waits to show."""
    return {"window": w.toolbar.window_spin.value(), "smoothing": w.toolbar.smoothing.value(),
            "log": w.act_log.isChecked(), "layer": w.hidden.layer, "wanted": w.hidden.wanted}


def show(w, window=150, smoothing=80, log=False, layer="h") -> dict:
    w.toolbar.window_spin.setValue(window)
    w.toolbar.smoothing.setValue(smoothing)
    w.act_log.setChecked(log)
    w.hidden.set_layer(layer)
    shown = view(w)
    assert shown == {"window": window, "smoothing": smoothing, "log": log, "layer": layer, "wanted": None}
    return shown


def child_opened(w, path, extra, warnings=()) -> None:
    """The training child's answer to an open of `path`, as it sends it (an OpenResult on the worker's `result`
    signal): the run the window shows, with `extra` and `warnings` as read from the file."""
    w.handle.worker.result.emit(OpenResult(True, str(path), config=w.state.applied.to_dict(), extra=extra,
                                           warnings=tuple(warnings), step=w.snap.step, run_id=w.snap.run_id))


def test_log_y_and_the_heatmap_layer_come_back_with_the_session(qtbot, win, tmp_path):
    steps(qtbot, win, 3)
    for log, layer, other_log, other_layer in ((True, "z", False, "h"), (False, "r", True, "n")):
        path = tmp_path / f"{layer}.gmlab"
        saved = show(win, 300, 20, log, layer)
        save(qtbot, win, path)
        show(win, 150, 80, other_log, other_layer)
        open_(qtbot, win, path)
        assert view(win) == saved


GOOD = {"window": 300, "smoothing": 20, "log": True, "layer": "z"}
MALFORMED = [  # (the session's gui, what of it the window applies)
    ({"window": "300"}, {}),  # text where a number belongs
    ({"window": True, "smoothing": False}, {}),  # a bool is no number here
    ({"window": None, "smoothing": [30], "log": None, "layer": None}, {}),
    ({"window": 10 ** 12, "smoothing": -(10 ** 30)}, {}),  # huge
    ({"window": 10 ** 9}, {}),  # the bound: from 1e9 on, a number is ignored
    ({"window": 10 ** 9 - 1}, {"window": 2000}),  # under it, out of range: the view clamps it
    ({"window": float("nan"), "smoothing": float("inf")}, {}),
    ({"window": float("-inf"), "smoothing": 1e300}, {}),
    ({"window": 5, "smoothing": 150}, {"window": 20, "smoothing": 99}),  # out of range: clamped to the range
    ({"window": -3, "smoothing": -1}, {"window": 20, "smoothing": 0}),
    ({"window": 300.9, "smoothing": 20.2}, {"window": 300, "smoothing": 20}),  # a float: its whole part
    ({"log": "true"}, {}), ({"log": 1}, {}), ({"log": 0}, {}), ({"log": [True]}, {}),
    ({"layer": "q"}, {}), ({"layer": "Z"}, {}), ({"layer": 3}, {}), ({"layer": ["z"]}, {}), ({"layer": ""}, {}),
    ({"window": "x", "smoothing": 20, "log": "no", "layer": "z"}, {"smoothing": 20, "layer": "z"}),
    ({"window": 300, "smoothing": "x", "log": True, "layer": {"z": 1}}, {"window": 300, "log": True}),
    ({"unknown": 1, "layer": "z"}, {"layer": "z"}),
]


@pytest.mark.parametrize("extra", [{}, {"gui": [300, 20]}, {"gui": "window=300"}, {"gui": 7}, {"gui": None},
                                   {"note": GOOD}, None, [GOOD], "gui"])
def test_a_session_without_a_gui_object_changes_no_view_setting(qtbot, win, tmp_path, extra):
    before, errors = show(win), len(win.message.errors)
    child_opened(win, tmp_path / "s.gmlab", extra)
    assert view(win) == before and len(win.message.errors) == errors


def test_each_malformed_view_setting_is_ignored_and_each_good_one_applied(qtbot, win, tmp_path):
    errors = len(win.message.errors)
    for gui, applied in MALFORMED:
        before = show(win)
        child_opened(win, tmp_path / "s.gmlab", {"gui": gui})
        assert view(win) == {**before, **applied}, gui
    assert len(win.message.errors) == errors


def test_a_session_file_with_malformed_view_settings_opens_and_keeps_the_view(qtbot, win, tmp_path):
    steps(qtbot, win, 3)
    path = tmp_path / "hostile.gmlab"
    hostile = {"window": "1e400", "smoothing": float("nan"), "log": "yes", "layer": ["h", "z"]}
    with qtbot.waitSignal(win.session_ui.saved, timeout=20000):
        win.handle.save_session(str(path), {"gui": hostile})  # as the window saves, with these view settings
    before, errors = show(win), len(win.message.errors)
    result = open_(qtbot, win, path)
    assert result.ok and json.dumps(result.extra["gui"], sort_keys=True) == json.dumps(hostile, sort_keys=True)
    assert view(win) == before and win.snap.step == 3
    assert not [e for e in list(win.message.errors)[errors:] if "hostile" in e or "session" in e]


# -- 6. a damaged Open recent list --------------------------------------------------------------------------
def paths(tmp_path, n) -> list[str]:
    return [str(tmp_path / f"s{i}.gmlab") for i in range(n)]


def test_a_damaged_recent_list_is_read_as_its_sane_entries(win, tmp_path):
    ui, store = win.session_ui, win.settings.store
    a, b = paths(tmp_path, 2)
    damaged = [  # (the stored value, the list read)
        (json.dumps({a: 1, b: 2}), []),  # an object, not a list (its keys are strings)
        (json.dumps(a), []),  # one string, not a list of them
        (json.dumps(5), []), (json.dumps(None), []), (json.dumps(True), []),
        ("not json [", []), ("", []), (b"\xff\xfe", []),
        (json.dumps([1, None, "", a, ["x"], {"p": b}, True, 2.5, b]), [a, b]),  # the strings that are paths
        (json.dumps(paths(tmp_path, 100_000)), paths(tmp_path, 8)),  # huge: the first 8
        (json.dumps([a] * 20), [a] * 8),
        (42, []), ([a, b], []),  # not JSON text at all
    ]
    for value, expected in damaged:
        store.setValue(RECENT_KEY, value)
        assert ui.recent() == expected, value


def test_the_recent_menu_and_its_updates_survive_a_damaged_list(qtbot, win, tmp_path):
    ui, store = win.session_ui, win.settings.store
    real = tmp_path / "real.gmlab"
    steps(qtbot, win, 2)
    save(qtbot, win, real)
    store.setValue(RECENT_KEY, json.dumps([7, str(real), {"x": 1}, None]))
    assert ui.refresh_recent() == [str(real)]
    assert [x.data() for x in ui.m_recent.actions() if x.data()] == [str(real)]
    store.setValue(RECENT_KEY, json.dumps({"not": "a list"}))
    assert ui.refresh_recent() == []
    assert [x.text() for x in ui.m_recent.actions()] == ["(none)"]
    ui.add_recent(str(real))
    assert json.loads(store.value(RECENT_KEY)) == [str(real)]


def test_a_window_starts_with_a_damaged_recent_list_and_shows_its_sane_entries(qtbot, tmp_path, monkeypatch):
    kept = tmp_path / "kept.gmlab"
    kept.write_bytes(b"")  # the menu lists a file without opening it
    stored = json.dumps([{"a": 1}, 3, str(kept), ["b"]])
    (tmp_path / "settings.ini").write_text("[session]\nrecent=" + json.dumps(stored) + "\n")
    w = make_window(qtbot, tmp_path, monkeypatch, preset("question-fixed"))
    try:
        assert w.session_ui.recent() == [str(kept)]
        assert [x.data() for x in w.session_ui.m_recent.actions() if x.data()] == [str(kept)]
    finally:
        w.close()


# -- 7. an opened session's warnings ------------------------------------------------------------------------
def test_each_warning_of_an_opened_session_reaches_the_message_bar(qtbot, win, tmp_path):
    warnings = ("CUDA was requested but no CUDA device is available; training on the CPU.", "a second warning")
    child_opened(win, tmp_path / "w.gmlab", {}, warnings)
    assert list(win.message.notices)[-2:] == list(warnings)
    assert win.message.isVisible() and win.message.level == "info" and win.message.text.text() == warnings[1]


def test_a_session_asking_for_cuda_where_there_is_none_opens_with_that_warning(qtbot, win, tmp_path):
    import torch

    from core.live import files as live_files
    from core.live.engine import LiveEngine

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: opening a CUDA session gives no warning")
    eng = LiveEngine(preset("question-fixed").replace(device="cuda"))
    eng.start()
    eng.advance(max_steps=5)
    path = tmp_path / "cuda.gmlab"
    assert live_files.save(eng, str(path), {}).ok
    result = open_(qtbot, win, path)
    assert result.warnings and all(w in win.message.notices for w in result.warnings)
    assert "CUDA" in win.message.text.text() and win.message.isVisible()
