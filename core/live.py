"""The live engine behind the window: a trainer plus bounded buffers, commands applied between steps, snapshots.

`LiveEngine` is Qt-free: it advances a trainer in time-boxed chunks (with an optional speed limit), records the
recent window (ring buffers) and the whole run (decimating series), and packs immutable `Snapshot`s of numpy
arrays. `serve(conn)` runs an engine in a child process fed through a pipe, so training never shares the
GUI's interpreter lock; the GUI asks for one snapshot at a time, only after it drew the last one.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import torch

from .analysis import analyze
from .config import Config, ConfigError
from .history import DecimatingSeries, Ring
from .trainers import RateMeter, make_trainer

WINDOW_CAPACITY = 2000  # the most recent steps kept for the bits/hidden views and the inspector


@dataclass(frozen=True)
class SeriesChunk:
    """New points of a whole-run series since the last snapshot; `resync` means replace, not append."""

    values: np.ndarray
    stride: int
    resync: bool


@dataclass(frozen=True)
class Snapshot:
    """Everything the window draws, as numpy arrays and plain values; never live tensors."""

    run_id: int
    seq: int
    config: dict
    mode: str
    device: str
    n_params: int
    running: bool
    finished: bool
    step: int                       # online: timesteps trained; batch: minibatches trained
    epoch: int                      # batch: epochs completed
    batches_per_epoch: int
    steps_per_second: float
    loss: float                     # the latest step's (online) or minibatch's (batch) loss
    accuracy: float                 # online: over the window; batch: last epoch's val_accuracy (or batch's)
    # the view window: online = the last W steps; batch = the probe sequence
    t0: int                         # step index of the window's first row
    x: np.ndarray                   # (W,)
    y: np.ndarray                   # (W,)
    y_hat: np.ndarray               # (W,)
    h: np.ndarray                   # (W, H)
    r: np.ndarray                   # (W, H)
    z: np.ndarray                   # (W, H)
    n: np.ndarray                   # (W, H)
    h_prev: np.ndarray              # (W, H) the state each row's cell read (its h[t-1])
    step_loss: np.ndarray           # (W,) per-row loss
    loss_chunk: SeriesChunk         # whole run: loss per step / minibatch
    acc_chunk: SeriesChunk          # whole run: correct per step / accuracy per minibatch
    epoch_logs: tuple = ()          # batch: all epoch logs so far (bounded by epochs)
    accuracy_label: str = "acc"     # what `accuracy` is: "acc (last W)", "val acc", "train acc", "probe acc"
    extras: dict = field(default_factory=dict)  # rule-specific views (e.g. RTRL sensitivity norms)


class _SeriesSender:
    """Tracks what of a DecimatingSeries the receiver already has."""

    def __init__(self, series: DecimatingSeries):
        self.series = series
        self.sent = 0
        self.stride = series.stride

    def chunk(self) -> SeriesChunk:
        s = self.series
        resync = s.stride != self.stride  # the series was decimated: the receiver replaces, not appends
        out = s.values(0 if resync else self.sent)
        self.stride, self.sent = s.stride, len(s)
        return SeriesChunk(out, s.stride, resync)


class LiveEngine:
    """A trainer advanced in chunks, with the buffers the window shows."""

    def __init__(self, cfg: Config, series_capacity: int = 1 << 20):
        self.series_capacity = series_capacity
        # a random base: a restarted child (after a crash) must not reuse the dead one's run ids, or the window
        # would append the new run's curves to the old run's
        self.run_id = int.from_bytes(os.urandom(3), "little") << 8
        self.speed = 0.0  # steps per second; 0 = as fast as it goes
        self.running = False
        self.notices: list[str] = []
        self.reset(cfg)

    # -- commands -------------------------------------------------------------------------------------------
    def reset(self, cfg: Config) -> None:
        cfg = cfg.validate()
        self.cfg = cfg
        try:
            self.trainer = make_trainer(cfg)
        except torch.cuda.OutOfMemoryError:  # too big for the GPU: build it on the CPU and say so
            torch.cuda.empty_cache()
            self.trainer = make_trainer(cfg.replace(device="cpu"))
            self.notices.append("The GPU ran out of memory building this model; it was built on the CPU instead.")
        if getattr(self.trainer, "device_warning", None):
            self.notices.append(self.trainer.device_warning)
        self.run_id += 1
        self.seq = 0
        self.running = False
        self.finished = False
        H = cfg.model.units
        self.rings = {"x": Ring(WINDOW_CAPACITY), "y": Ring(WINDOW_CAPACITY), "y_hat": Ring(WINDOW_CAPACITY),
                      "loss": Ring(WINDOW_CAPACITY), "h_prev": Ring(WINDOW_CAPACITY, H),
                      "h": Ring(WINDOW_CAPACITY, H), "r": Ring(WINDOW_CAPACITY, H), "z": Ring(WINDOW_CAPACITY, H),
                      "n": Ring(WINDOW_CAPACITY, H)}
        self.loss_series = DecimatingSeries(self.series_capacity)
        self.acc_series = DecimatingSeries(self.series_capacity)
        self._senders = (_SeriesSender(self.loss_series), _SeriesSender(self.acc_series))
        self.steps = 0
        self.last_loss = float("nan")
        self.meter = RateMeter()
        self._probe = None
        self._probe_at = -1.0
        self._pace_t0 = None
        self._pace_n = 0
        self._analysis = None
        self._analysis_at = -1.0
        self._analysis_step = -1
        self.update_ratio = float("nan")

    def set_lr(self, lr: float) -> None:
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 100):
            raise ConfigError("train.lr", f"must be in (0, 100], got {lr!r}")
        self.trainer.set_lr(float(lr))
        self.cfg.train.lr = float(lr)

    def set_speed(self, steps_per_second: float) -> None:
        self.speed = max(0.0, float(steps_per_second))
        self._pace_t0 = None

    def start(self) -> None:
        if self.trainer.mode == "batch" and self.trainer.done:
            self.running = False
            self.finished = True
            self.notices.append(f"Training finished: all {self.trainer.epoch} epochs are done; Reset to train again.")
            return
        self.running = True
        self.finished = False
        self._pace_t0 = None

    def pause(self) -> None:
        self.running = False

    # -- training -------------------------------------------------------------------------------------------
    def _one(self) -> float:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported, not warned about
            try:
                return self._one_step()
            except torch.cuda.OutOfMemoryError:
                if self.trainer.device.type == "cpu":
                    raise
                self._move_to_cpu()
                return self._one_step()

    def _move_to_cpu(self) -> None:
        """Out of GPU memory mid-run: carry the trainer's exact position over to the CPU, with a notice."""
        tensors, meta = self.trainer.state_dict()
        torch.cuda.empty_cache()
        trainer = make_trainer(self.cfg.replace(device="cpu"))
        trainer.load_state_dict(tensors, meta)
        self.trainer = trainer
        self.notices.append(f"The GPU ran out of memory at step {self.steps:,}; training continues on the CPU "
                            "from the same position.")

    def _one_step(self) -> float:
        tr = self.trainer
        if self.steps % 200 == 100:
            from .diagnostics import param_snapshot, relative_update

            before = param_snapshot(tr.model)
            loss = self._train_one()
            self.update_ratio = relative_update(before, param_snapshot(tr.model))
            return loss
        return self._train_one()

    def _train_one(self) -> float:
        tr = self.trainer
        if tr.mode == "online":
            rec = tr.step()
            R = self.rings
            R["x"].append(rec.x)
            R["y"].append(rec.y)
            R["y_hat"].append(rec.y_hat)
            R["loss"].append(rec.loss)
            R["h_prev"].append(rec.h_prev)
            R["h"].append(rec.h)
            R["r"].append(rec.r)
            R["z"].append(rec.z)
            R["n"].append(rec.n)
            self.acc_series.append(float(rec.correct))
            loss = rec.loss
        else:
            rec = tr.step()
            self.acc_series.append(rec.accuracy)
            loss = rec.loss
            if rec.epoch_end is not None:
                self._probe = None  # refresh the probe view
                if tr.done:
                    self.running = False
                    self.finished = True
                    vl = rec.epoch_end["val_loss"]
                    last = f"val_loss {vl:.4f}" if math.isfinite(vl) else f"loss {rec.epoch_end['loss']:.4f}"
                    self.notices.append(f"Training finished: {tr.epoch} epochs ({last}).")
        self.loss_series.append(loss)
        self.last_loss = loss
        self.steps += 1
        if not math.isfinite(loss):
            self.running = False
            raise FloatingPointError(
                f"The loss became {loss} at step {self.steps}: training diverged (the learning rate "
                f"{self.cfg.train.lr:g} is likely too high). Training is paused; lower lr and press Reset.")
        if tr.mode == "online" and self.steps == self.cfg.train.steps and self.running:  # crossing it, once
            self.running = False
            self.finished = True
            self.notices.append(f"Reached {self.steps:,} steps (the configured total); Start continues.")
        return loss

    def advance(self, budget_s: float = 0.02, max_steps: int | None = None) -> int:
        """Train for up to budget_s seconds (or max_steps), honouring the speed limit; returns steps done."""
        if self.trainer.mode == "batch" and self.trainer.done:
            self.running = False
            self.finished = True
            return 0
        t_end = time.perf_counter() + budget_s
        done = 0
        while max_steps is None or done < max_steps:
            if self.speed > 0 and max_steps is None:
                now = time.perf_counter()
                if self._pace_t0 is None:
                    self._pace_t0, self._pace_n = now, 0
                due = self._pace_n - (now - self._pace_t0) * self.speed
                if due >= 1:
                    break
                self._pace_n += 1
            self._one()
            done += 1
            if not self.running and max_steps is None:
                break
            if time.perf_counter() >= t_end:
                break
        self.meter.mark(self.steps)
        return done

    def step_once(self) -> None:
        """One timestep online, one minibatch in batch mode (the Step button)."""
        if self.trainer.mode == "batch" and self.trainer.done:
            self.notices.append("All epochs are done; Reset to train again.")
            return
        self.advance(max_steps=1)

    def seconds_to_next_step(self) -> float:
        if self.speed <= 0 or self._pace_t0 is None:
            return 0.0
        due = self._pace_n - (time.perf_counter() - self._pace_t0) * self.speed
        return max(0.0, due / self.speed)

    # -- views ----------------------------------------------------------------------------------------------
    def _probe_view(self):
        now = time.perf_counter()
        if self._probe is None or (self.running and now - self._probe_at > 0.25):
            self._probe = self.trainer.probe()
            self._probe_at = now
        return self._probe

    def analysis(self, probe=None):
        """Portrait, memory probe and hints; recomputed at most 4 times a second while running, and only then
        are the recent steps gathered (online: up to 1,000 from the rings; batch: the probe sequence)."""
        now = time.perf_counter()
        stale = self._analysis is None or self._analysis_step != self.steps
        if stale and (not self.running or now - self._analysis_at > 0.25):
            if self.trainer.mode == "online":
                k = min(len(self.rings["x"]), 1000)
                x, h, t0 = self.rings["x"].last(k)[:, 0], self.rings["h"].last(k), self.steps - k
                y, yh = self.rings["y"].last(k)[:, 0], self.rings["y_hat"].last(k)[:, 0]
                losses = self.rings["loss"].last(k)[:, 0]
                correct = ((yh >= 0.5) == (y >= 0.5)).astype(np.float32)
                pred_ones = float((yh >= 0.5).mean()) if k else float("nan")
            else:
                x, h, t0 = probe.x, probe.h, 0
                losses, correct = self.loss_series.values(-200), self.acc_series.values(-200)
                pred_ones = float("nan")
            self._analysis = analyze(self.cfg, self.steps, x, h, losses, correct, self.update_ratio, pred_ones, t0)
            self._analysis_at = now
            self._analysis_step = self.steps
        return self._analysis

    def snapshot(self, window: int = 200) -> Snapshot:
        tr, cfg = self.trainer, self.cfg
        H = cfg.model.units
        self.seq += 1
        if tr.mode == "online":
            W = min(int(window), len(self.rings["x"]))
            R = {k: v.last(W) for k, v in self.rings.items()}
            x, y, y_hat, sl = (R[k][:, 0] for k in ("x", "y", "y_hat", "loss"))
            h, r, z, n = R["h"], R["r"], R["z"], R["n"]
            h_prev = R["h_prev"]
            t0 = self.steps - W
            acc = float(((y_hat >= 0.5) == (y >= 0.5)).mean()) if W else float("nan")
            acc_label = f"acc (last {W})"
            epoch, bpe, logs = 0, 0, ()
            p = None  # the analysis gathers its own (longer) window from the rings
        else:
            p = self._probe_view()
            x, y, y_hat = p.x.astype(np.float32), p.y.astype(np.float32), p.y_hat.astype(np.float32)
            h, r, z, n = p.h, p.r, p.z, p.n
            sl = p.step_loss
            h_prev = np.vstack([np.zeros((1, H), np.float32), h[:-1]]) if len(h) else np.zeros((0, H), np.float32)
            t0 = 0
            hist = tr.history
            logs = tuple({k: hist[k][i] for k in hist} | {"epoch": i + 1} for i in range(len(hist["loss"])))
            acc, acc_label = p.accuracy, "probe acc"  # before the first epoch: the probe sequence's
            if hist["val_accuracy"] and math.isfinite(hist["val_accuracy"][-1]):
                acc, acc_label = hist["val_accuracy"][-1], "val acc"
            elif hist["accuracy"]:
                acc, acc_label = hist["accuracy"][-1], "train acc"  # no validation split
            epoch, bpe = tr.epoch, tr.batches_per_epoch
        extras = {"analysis": self.analysis(p)}
        norms = getattr(tr, "sensitivity_norms", None)
        if callable(norms):
            extras["sensitivity_norms"] = norms()
        return Snapshot(
            run_id=self.run_id, seq=self.seq, config=cfg.to_dict(), mode=tr.mode, device=str(tr.device),
            n_params=tr.n_params, running=self.running, finished=self.finished, step=self.steps, epoch=epoch,
            batches_per_epoch=bpe, steps_per_second=self.meter.mark(self.steps), loss=self.last_loss,
            accuracy=acc, t0=t0, x=x, y=y, y_hat=y_hat, h=h, r=r, z=z, n=n, h_prev=h_prev, step_loss=sl,
            loss_chunk=self._senders[0].chunk(), acc_chunk=self._senders[1].chunk(), epoch_logs=logs,
            accuracy_label=acc_label,
            extras=extras)

    # -- sessions and exports (reached through serve's ("call", name, args); results carry ok/error) ------
    _RING_KEYS = ("x", "y", "y_hat", "loss", "h_prev", "h", "r", "z", "n")

    def save_session(self, path: str, extra: dict | None = None) -> dict:
        """Save the trainer, the whole-run series and the recent window to `path`; {"ok", "path"|"error"}.

        Training is paused for the write (the child handles one command at a time between steps) and resumes
        as it was. The write is atomic (core.session): a failed save leaves any existing file intact.
        """
        from .session import SessionError, save_session, series_to_history

        was, self.running = self.running, False
        try:
            history = {}
            history.update(series_to_history("loss", self.loss_series))
            history.update(series_to_history("accuracy", self.acc_series))
            if self.trainer.mode == "online":
                for k in self._RING_KEYS:
                    history[f"ring.{k}"] = self.rings[k].last()
            history["engine"] = np.array([self.steps, self.last_loss, float(self.finished)], dtype=np.float64)
            save_session(path, self.trainer, history, dict(extra or {}))
            return {"ok": True, "path": str(path), "step": self.steps}
        except SessionError as e:
            return {"ok": False, "path": str(path), "error": e.message}
        except Exception as e:  # never let a save take the child down
            return {"ok": False, "path": str(path), "error": f"cannot save {path}: {type(e).__name__}: {e}"}
        finally:
            self.running = was

    def open_session(self, path: str) -> dict:
        """Replace the trainer and buffers from a saved session; {"ok", "config", "extra", "warnings", "step"}.

        On any failure nothing changes and {"ok": False, "error": message} is returned. On success training is
        paused at the saved position (Start continues) and run_id is bumped so the window resyncs its curves.
        """
        from .session import SessionError, open_session, series_from_history

        try:
            sess = open_session(path)
            hist = sess.history
            loss = series_from_history(hist, "loss")
            acc = series_from_history(hist, "accuracy")
            eng = np.asarray(hist.get("engine", np.zeros(3)), dtype=np.float64).reshape(-1)
            if eng.shape != (3,) or not math.isfinite(eng[0]) or eng[0] < 0:
                raise SessionError(f"cannot open {path}: the engine position is malformed")
            H = sess.config.model.units
            rings = {k: Ring(WINDOW_CAPACITY, H if k in ("h_prev", "h", "r", "z", "n") else 1)
                     for k in self._RING_KEYS}
            if sess.trainer.mode == "online":
                for k, ring in rings.items():
                    rows = np.asarray(hist.get(f"ring.{k}", np.zeros((0, ring.width))), dtype=np.float32)
                    if rows.ndim != 2 or rows.shape[1] != ring.width or len(rows) > WINDOW_CAPACITY:
                        raise SessionError(f"cannot open {path}: the recent window {k!r} is malformed")
                    ring.extend(rows)
        except SessionError as e:
            return {"ok": False, "path": str(path), "error": e.message}
        except Exception as e:
            return {"ok": False, "path": str(path), "error": f"cannot open {path}: {type(e).__name__}: {e}"}
        # commit: nothing above touched the engine
        self.cfg = sess.config
        self.trainer = sess.trainer
        self.run_id += 1
        self.seq = 0
        self.running = False
        self.finished = bool(eng[2])
        self.rings = rings
        self.loss_series, self.acc_series = loss, acc
        self._senders = (_SeriesSender(loss), _SeriesSender(acc))
        for snd in self._senders:
            snd.stride = 0  # the first chunk is a resync: the window gets the whole series with its stride
        self.steps = int(eng[0])
        self.last_loss = float(eng[1])
        self.meter = RateMeter()
        self._probe = None
        self._probe_at = -1.0
        self._pace_t0 = None
        self._pace_n = 0
        return {"ok": True, "path": str(path), "config": self.cfg.to_dict(), "extra": sess.extra,
                "warnings": list(sess.warnings), "step": self.steps, "run_id": self.run_id}

    def export_history_csv(self, path: str) -> dict:
        """Write the whole-run curves as CSV: step, loss, accuracy (one row per stored point).

        `step` is the last step (online: timestep, batch: minibatch, 1-based) a point covers; after decimation
        each point is the mean over `stride` steps. Batch mode also writes the per-epoch logs to a second file,
        `<stem>.epochs.csv` (epoch, loss, accuracy, val_loss, val_accuracy). {"ok", "paths"|"error"}.
        """
        from .export import ExportError, export_history_csv

        try:
            _, loss = self.loss_series.arrays()
            _, acc = self.acc_series.arrays()
            n = min(len(loss), len(acc))
            steps = (np.arange(1, n + 1, dtype=np.int64) * self.loss_series.stride)
            export_history_csv(path, {"step": steps, "loss": loss[:n], "accuracy": acc[:n]})
            paths = [str(path)]
            if self.trainer.mode == "batch":
                hist = self.trainer.history
                stem, _ = os.path.splitext(str(path))
                epath = stem + ".epochs.csv"
                cols = {"epoch": np.arange(1, len(hist["loss"]) + 1, dtype=np.int64)}
                cols.update({k: np.asarray(hist[k], dtype=np.float64) for k in hist})
                export_history_csv(epath, cols)
                paths.append(epath)
            return {"ok": True, "paths": paths}
        except ExportError as e:
            return {"ok": False, "path": str(path), "error": e.message}
        except Exception as e:
            return {"ok": False, "path": str(path), "error": f"cannot export {path}: {type(e).__name__}: {e}"}

    def take_notices(self) -> list[str]:
        out, self.notices = self.notices, []
        return out


# -- the child process -------------------------------------------------------------------------------------
def serve(conn, cfg_dict: dict, threads: int = 1) -> None:
    """Child-process loop: apply commands between steps, train while running, answer snapshot requests.

    Messages in: (name, *args) with name in start, pause, step, reset, set_lr, set_speed, snapshot, quit,
    call (name, args: an engine method by name, for sessions and probes). Out: ("snapshot", Snapshot),
    ("notice", text), ("error", text), ("result", name, value), ("ready", info).
    """
    import torch

    torch.set_num_threads(threads)
    try:
        engine = LiveEngine(Config.from_dict(cfg_dict))
    except Exception as e:  # a bad config reaches the GUI as a message, and the engine starts from defaults
        conn.send(("error", f"Could not build the model: {e}. Starting from the default config."))
        engine = LiveEngine(Config())
    conn.send(("ready", {"device": str(engine.trainer.device)}))
    want_snapshot = None
    while True:
        try:
            timeout = 0.0 if engine.running else 0.05
            if engine.running and engine.speed > 0:
                timeout = min(0.05, engine.seconds_to_next_step())
            while conn.poll(timeout):
                msg = conn.recv()
                timeout = 0.0
                name, args = msg[0], msg[1:]
                if name == "quit":
                    return
                if name == "snapshot":
                    want_snapshot = args[0] if args else 200
                elif name == "start":
                    engine.start()
                elif name == "pause":
                    engine.pause()
                elif name == "step":
                    engine.pause()
                    for _ in range(int(args[0]) if args else 1):
                        engine.step_once()
                elif name == "reset":
                    engine.reset(Config.from_dict(args[0]))
                elif name == "set_lr":
                    engine.set_lr(args[0])
                elif name == "set_speed":
                    engine.set_speed(args[0])
                elif name == "call":
                    method, cargs = args[0], args[1] if len(args) > 1 else ()
                    if method.startswith("_") or not hasattr(engine, method):
                        raise AttributeError(f"no engine command {method!r}")
                    conn.send(("result", method, getattr(engine, method)(*cargs)))
            if engine.running:
                engine.advance(0.01)
        except (EOFError, BrokenPipeError, KeyboardInterrupt):
            return
        except Exception as e:  # anything in training pauses it and reaches the GUI as a message
            engine.running = False
            text = str(e) if isinstance(e, (FloatingPointError, ConfigError)) else (
                f"{type(e).__name__}: {e}\n\n{traceback.format_exc(limit=4)}")
            try:
                conn.send(("error", text))
            except (BrokenPipeError, OSError):
                return
        try:
            for note in engine.take_notices():
                conn.send(("notice", note))
            if want_snapshot is not None:
                conn.send(("snapshot", engine.snapshot(want_snapshot)))
                want_snapshot = None
        except (BrokenPipeError, OSError):
            return
        except Exception as e:
            engine.running = False
            conn.send(("error", f"Could not build the view: {type(e).__name__}: {e}"))
            want_snapshot = None


def child_main(conn, cfg_dict: dict, threads: int = 1) -> None:
    """The child process's entry: serve, then leave at once (interpreter teardown with torch costs ~0.4 s)."""
    import os
    import sys

    try:
        serve(conn, cfg_dict, threads)
    finally:
        try:
            conn.close()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
