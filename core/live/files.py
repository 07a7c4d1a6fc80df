"""Save, open and export the live engine's run: the session service the training child calls.

The file format and the trainer's state are core.sessions.gmlab's; this module adds what belongs to the live run
(its whole-run curves, the view's recent window, the engine position) and turns every outcome into a typed
result (core.messages: SaveResult, OpenResult, ExportResult) with ok/path/error: a failure never escapes
and never changes the run.

History arrays in a session (unchanged since format 1): `loss`, `accuracy` (+ `.state`) the whole-run curves,
`ring.<field>` the online view's recent steps, `engine` = [steps, last loss, finished]; with train.fidelity
(added in round 2, optional) `fidelity.*` the gradient fidelity over the run (core.rules.fidelity_history): a session
saved without them opens with the fidelity curves starting at the saved step.
"""

from __future__ import annotations

import dataclasses
import math
import os
from multiprocessing.reduction import ForkingPickler

import numpy as np

from core.live.engine import LiveEngine
from core.messages import ExportResult, OpenResult, SaveResult
from core.rules.fidelity_history import FidelityRecord
from core.sessions.csv_export import ExportError, export_history_csv
from core.sessions.gmlab import SessionError, open_session, save_session, series_from_history, series_to_history
from core.state_checks import MAX_STEPS


def save(engine: LiveEngine, path: str, extra: dict | None = None) -> SaveResult:
    """Save the run to `path`. The child handles one command at a time between steps, so training waits for
    the write; the write is atomic (core.sessions.gmlab): a failed save leaves any existing file intact."""
    run = engine.run
    try:
        history = {**series_to_history("loss", run.loss_series), **series_to_history("accuracy", run.acc_series),
                   **run.trainer.view_history(),
                   "engine": np.array([run.steps, run.last_loss, float(run.finished is not None)], np.float64),
                   **(run.fidelity.to_history() if run.fidelity is not None else {})}
        save_session(path, run.trainer, history, dict(extra or {}))
        return SaveResult(True, str(path), step=run.steps, run_id=run.run_id)
    except SessionError as e:
        return SaveResult(False, str(path), e.message)
    except Exception as e:  # never let a save take the child down
        return SaveResult(False, str(path), f"cannot save {path}: {type(e).__name__}: {e}")


def open_into(engine: LiveEngine, path: str) -> OpenResult:
    """Replace the engine's run with the saved one, paused at its position (Start continues), under a new run
    id so the window replaces its curves. On any failure nothing changes and the result says why."""
    try:
        sess = open_session(path)
        hist = sess.history
        loss = series_from_history(hist, "loss")
        acc = series_from_history(hist, "accuracy")
        eng = np.asarray(hist.get("engine", np.zeros(3)), dtype=np.float64).reshape(-1)
        if eng.shape != (3,) or not math.isfinite(eng[0]) or not 0 <= eng[0] <= MAX_STEPS:
            raise SessionError(f"cannot open {path}: the engine position is malformed (a step count must be in "
                               f"[0, {MAX_STEPS:,}])")
        try:
            sess.trainer.load_view_history(hist)
            fidelity = FidelityRecord.from_history(hist) if sess.config.train.fidelity else None
        except (KeyError, ValueError) as e:
            raise SessionError(f"cannot open {path}: {e}") from None
    except SessionError as e:
        return OpenResult(False, str(path), e.message)
    except Exception as e:
        return OpenResult(False, str(path), f"cannot open {path}: {type(e).__name__}: {e}")
    # the reply is built and proven sendable (pickled as the pipe will) before the run is replaced: an open is
    # all or nothing across the process boundary, never a new run behind a window told the open failed
    reply = OpenResult(True, str(path), config=sess.config.to_dict(), extra=sess.extra,
                       warnings=tuple(str(w) for w in sess.warnings), step=int(eng[0]))
    problem = unsendable(reply)
    if problem:
        return OpenResult(False, str(path), f"cannot open {path}: {problem}; the current run continues")
    # commit: nothing above touched the engine; what changes below is two ints of a reply already pickled once
    run_id = engine.continue_run(sess.config, sess.trainer, loss, acc, int(eng[0]), float(eng[1]), bool(eng[2]),
                                 fidelity)
    return dataclasses.replace(reply, step=engine.steps, run_id=run_id)


def unsendable(reply: object) -> str:
    """Why `reply` could not go through the pipe (pickled as multiprocessing does), or "" if it can."""
    try:
        ForkingPickler.dumps(reply)
    except RecursionError:
        return "its data is nested too deeply to send to the window"
    except MemoryError:
        return "not enough memory to send its data to the window"
    except Exception as e:
        return f"its data cannot be sent to the window ({type(e).__name__}: {str(e)[:200]})"
    return ""


def export_csv(engine: LiveEngine, path: str) -> ExportResult:
    """Write the whole-run curves as CSV: step, loss, accuracy (one row per stored point).

    `step` is the last step (online: timestep, batch: minibatch, 1-based) a point covers; after decimation
    each point is the mean over `stride` steps. With per-epoch logs (batch) a second file `<stem>.epochs.csv`
    (epoch, loss, accuracy, val_loss, val_accuracy) is written too.
    """
    run = engine.run
    try:
        loss, acc = run.loss_series.values(), run.acc_series.values()
        n = min(len(loss), len(acc))
        steps = np.arange(1, n + 1, dtype=np.int64) * run.loss_series.stride
        export_history_csv(path, {"step": steps, "loss": loss[:n], "accuracy": acc[:n]})
        paths = [str(path)]
        epochs = run.trainer.epoch_history()
        if epochs is not None:
            epath = os.path.splitext(str(path))[0] + ".epochs.csv"
            cols = {"epoch": np.arange(1, len(epochs["loss"]) + 1, dtype=np.int64)}
            cols.update({k: np.asarray(v, dtype=np.float64) for k, v in epochs.items()})
            export_history_csv(epath, cols)
            paths.append(epath)
        return ExportResult(True, str(path), paths=tuple(paths))
    except ExportError as e:
        return ExportResult(False, str(path), e.message)
    except Exception as e:
        return ExportResult(False, str(path), f"cannot export {path}: {type(e).__name__}: {e}")
