"""The live engine behind the window: one run of a trainer, advanced in time-boxed chunks, and its snapshots.

`LiveEngine` is Qt-free and mode-blind: it speaks only the `core.train.trainer.Trainer` interface and trains
through the one run loop the headless runner uses too (core.train.loop.train_unit: its stopping rule and its
update-ratio probe). It applies commands between steps (start, pause, step, reset, lr, speed), records the
whole run in decimating series, and packs immutable `Snapshot`s (core/snapshot.py). A run's state lives in
one `Run` (core/live/run.py), built in one place (`_begin`) for both Reset and an opened session. Sessions and
CSV export are core/live/files.py; the child process that serves an engine over a pipe is
core/children/trainer.py.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from itertools import count

import numpy as np
import torch

from core.analysis.inspection import Analysis, analyze
from core.analysis.story import series_story
from core.analysis.verdict import Verdict, heldout_verdict
from core.config import Config, ConfigError
from core.history import DecimatingSeries
from core.live.run import Run
from core.rules.fidelity_history import FidelityRecord, meter_of
from core.snapshot import Snapshot
from core.train.loop import train_unit
from core.train.trainer import Trainer, make_trainer
from core.train.views import Finish

MAX_NOTICES = 50          # notices kept until the child sends them; older ones are dropped
MAX_STEPS_PER_COMMAND = 1_000_000
REFRESH_S = 0.25          # while running, the analysis and the batch probe are recomputed at most this often


class LiveEngine:
    """A trainer advanced in chunks, with the whole-run curves the window shows."""

    def __init__(self, cfg: Config, series_capacity: int = 1 << 20):
        self.series_capacity = series_capacity
        # a random base: a restarted child (after a crash) must not reuse the dead one's run ids, or the window
        # would append the new run's curves to the old run's
        self._run_ids = count((int.from_bytes(os.urandom(3), "little") << 8) + 1)
        self.speed = 0.0  # steps per second; 0 = as fast as it goes
        self.running = False
        self.stop_at: int | None = None  # Start(until): pause exactly when the run reaches this step
        self.notices: deque[str] = deque(maxlen=MAX_NOTICES)
        self._pace_t0: float | None = None
        self._pace_n = 0
        self.reset(cfg)

    # -- the run ----------------------------------------------------------------------------------------------
    @property
    def cfg(self) -> Config:
        return self.run.cfg

    @property
    def trainer(self) -> Trainer:
        return self.run.trainer

    @property
    def steps(self) -> int:
        return self.run.steps

    @property
    def finished(self) -> bool:
        return self.run.finished is not None

    def _begin(self, cfg: Config, trainer: Trainer, loss_series: DecimatingSeries, acc_series: DecimatingSeries,
               steps: int = 0, last_loss: float = math.nan, finished: Finish | None = None,
               fidelity: FidelityRecord | None = None) -> int:
        """The one place a run starts (Reset, an opened session): a new Run, paused; returns its run id.
        With train.fidelity the run records the gradient fidelity (`fidelity`: an opened session's so far)."""
        self.run = Run(next(self._run_ids), cfg, trainer, loss_series, acc_series, steps, last_loss, finished)
        if meter_of(trainer) is not None:
            self.run.fidelity = fidelity if fidelity is not None else FidelityRecord()
        self.running = False
        self._pace_t0 = None
        return self.run.run_id

    def reset(self, cfg: Config) -> None:
        cfg = cfg.validate()
        try:
            trainer = make_trainer(cfg)
        except torch.cuda.OutOfMemoryError:  # too big for the GPU: build it on the CPU and say so
            torch.cuda.empty_cache()
            trainer = make_trainer(cfg.replace(device="cpu"))
            self.note("The GPU ran out of memory building this model; it was built on the CPU instead.")
        if trainer.device_warning:
            self.note(trainer.device_warning)
        cap = self.series_capacity
        self._begin(cfg, trainer, DecimatingSeries(cap), DecimatingSeries(cap))

    def continue_run(self, cfg: Config, trainer: Trainer, loss_series: DecimatingSeries,
                     acc_series: DecimatingSeries, steps: int, last_loss: float, finished: bool,
                     fidelity: FidelityRecord | None = None) -> int:
        """Continue a saved run (see core.live.files.open_into): paused at its position; returns the run id.
        `finished` is the saved flag; the end itself is asked of the trainer."""
        end = trainer.finish() if (finished or trainer.done) else None
        return self._begin(cfg, trainer, loss_series, acc_series, steps, last_loss, end, fidelity)

    # -- commands ---------------------------------------------------------------------------------------------
    def note(self, text: str) -> None:
        self.notices.append(text)

    def take_notices(self) -> list[str]:
        out = list(self.notices)
        self.notices.clear()
        return out

    def set_lr(self, lr: float) -> None:
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 100):
            raise ConfigError("train.lr", f"must be in (0, 100], got {lr!r}")
        self.trainer.set_lr(float(lr))
        self.run.cfg = self.cfg.replace(lr=float(lr))  # a new config: the trainer's own is not touched

    def set_speed(self, steps_per_second: float) -> None:
        self.speed = max(0.0, float(steps_per_second))
        self._pace_t0 = None

    def _refuse_if_done(self) -> bool:
        """Nothing left to train: say so (the run's end, and how to train again) and stay paused."""
        if not self.trainer.done:
            return False
        self.running = False
        self.run.finished = end = self.trainer.finish()
        assert end is not None  # a trainer that is done has reached its end
        self.note(end.refusal)
        return True

    def start(self, until: int | None = None) -> None:
        """Train continuously; with `until`, pause exactly when the run reaches that step (none if already there)."""
        self.stop_at = until
        if self._refuse_if_done() or (until is not None and self.steps >= until):
            self.running = False
            return
        self.running = True
        self.run.finished = None
        self._pace_t0 = None

    def pause(self) -> None:
        """Stop training; a run paused past its end (Start continued it) is judged again where it stands."""
        was_running, self.running = self.running, False
        if was_running:
            self._rejudge()

    def _rejudge(self) -> None:
        """A verdict of an earlier step is measured again at this one (the run continued past its end)."""
        v = self.run.verdict
        if v is not None and v.step != self.steps and not self.trainer.done:
            self.judge()

    def step(self, n: int = 1) -> None:
        """Pause, then train n units (the Step button): timesteps online, minibatches in batch mode."""
        self.pause()
        if self._refuse_if_done():
            return
        for _ in range(max(0, min(int(n), MAX_STEPS_PER_COMMAND))):
            if self.trainer.done:
                break
            self.advance(max_steps=1)

    # -- training ---------------------------------------------------------------------------------------------
    def _one(self) -> float:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported, not warned about
            try:
                return self._train_one()
            except torch.cuda.OutOfMemoryError:
                if self.trainer.device.type == "cpu":
                    raise
                self._move_to_cpu()
                return self._train_one()

    def _move_to_cpu(self) -> None:
        """Out of GPU memory mid-run: carry the trainer's exact position over to the CPU, with a notice."""
        old = self.trainer
        tensors, meta = old.state_dict()
        torch.cuda.empty_cache()
        trainer = make_trainer(self.cfg.replace(device="cpu"))
        trainer.load_state_dict(tensors, meta)
        trainer.load_view_history(old.view_history())
        self.run.trainer = trainer
        self.note(f"The GPU ran out of memory at step {self.steps:,}; training continues on the CPU "
                  "from the same position.")

    def _train_one(self) -> float:
        """One unit through the one run loop (core.train.loop.train_unit), recorded; a divergence (a non-finite
        loss or weight) pauses the run and raises FloatingPointError with what to change."""
        run = self.run
        done = train_unit(run.trainer, run.steps)
        if done.update_ratio is not None:
            run.update_ratio = done.update_ratio
        loss = done.unit.loss
        run.loss_series.append(loss)
        run.acc_series.append(done.unit.score)
        run.last_loss = loss
        run.steps += 1
        if done.diverged is not None:
            self.running = False
            raise FloatingPointError(f"Training {done.diverged.message}. Training is paused; lower lr and press "
                                     "Reset.")
        run.finished = end = run.trainer.finish()  # stepping on past a soft end (online's step total) clears it
        if end is not None:
            self.running = False
            self.note(end.notice)
            self.judge()
        return loss

    def judge(self) -> Verdict:
        """The run's verdict at this step, measured as the headless runner does (core.analysis.verdict.
        heldout_verdict: online the held-out steps, the trainer's position restored so Start continues; batch
        val_accuracy, else the last epoch's training accuracy) on the whole run's story (core.analysis.story,
        from the decimated whole-run series), and the hints recomputed with it. Called when the run reaches
        its step total (online) or its last epoch (batch), when a run continued past its end pauses, and when
        asked. The verdict names its step, so one shown while training goes on stays true."""
        run = self.run
        story = series_story(run.cfg, run.acc_series, run.loss_series)
        run.verdict = heldout_verdict(run.cfg, run.trainer, step=run.steps, story=story)[1]
        run.analysis = None  # the hints rest on the verdict from now on
        return run.verdict

    def advance(self, budget_s: float = 0.02, max_steps: int | None = None) -> int:
        """Train for up to budget_s seconds (or max_steps), honouring the speed limit; returns steps done."""
        if self.trainer.done:
            self.running = False
            self.run.finished = self.trainer.finish()
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
            if self.stop_at is not None and self.steps >= self.stop_at:
                self.running = False
                self.stop_at = None
                self._rejudge()
            if self.trainer.done or (not self.running and max_steps is None):
                break
            if time.perf_counter() >= t_end:
                break
        self.run.meter.mark(self.steps)
        if self.run.fidelity is not None:
            self.run.fidelity.take(meter_of(self.trainer))
        return done

    def seconds_to_next_step(self) -> float:
        if self.speed <= 0 or self._pace_t0 is None:
            return 0.0
        due = self._pace_n - (time.perf_counter() - self._pace_t0) * self.speed
        return max(0.0, due / self.speed)

    # -- views ------------------------------------------------------------------------------------------------
    @property
    def verdict(self) -> Verdict | None:
        """The run's verdict once it reached its end (None before, and for a new or opened run)."""
        return self.run.verdict

    def analysis(self) -> Analysis | None:
        """Portrait, memory probe and hints of this run; recomputed when the step moved, at most 4 times a
        second while running, and only then is the analysis window gathered. None only while that throttle holds
        back the first analysis after the verdict cleared it (Start pressed at once past online's step total)."""
        run, now = self.run, time.perf_counter()
        stale = run.analysis is None or run.analysis_step != run.steps
        if stale and (not self.running or now - run.analysis_at > REFRESH_S):
            w = run.trainer.analysis_window(run.loss_series.values(-200), run.acc_series.values(-200))
            run.analysis = analyze(run.cfg, run.steps, w.x, w.h, w.losses, w.correct, run.update_ratio,
                                   w.pred_ones, w.t0, run.verdict, w.c)
            run.analysis_at = now
            run.analysis_step = run.steps
        return run.analysis

    def snapshot(self, window: int = 200) -> Snapshot:
        run, tr = self.run, self.run.trainer
        run.seq += 1
        now = time.perf_counter()
        refresh = not self.running or now - run.view_at > REFRESH_S
        if refresh:
            run.view_at = now
        v = tr.view(window, refresh)
        end = run.finished
        return Snapshot(
            run_id=run.run_id, seq=run.seq, config=run.cfg.to_dict(), mode=tr.mode, device=str(tr.device),
            n_params=tr.n_params, running=self.running, finished=end is not None, step=run.steps,
            steps_per_second=run.meter.mark(run.steps), loss=run.last_loss, view=v,
            loss_chunk=run.senders[0].chunk(), acc_chunk=run.senders[1].chunk(),
            finished_reason=end.reason if end is not None else None, analysis=self.analysis(),
            sensitivity_norms=tr.sensitivity_norms(), verdict=run.verdict, readout=readout_weights(tr.model),
            fidelity_chunks=run.fidelity.chunks() if run.fidelity is not None else None,
            fidelity_window=run.fidelity.window(len(v.x)) if run.fidelity is not None else None)


def readout_weights(model: torch.nn.Module) -> tuple[np.ndarray, float] | None:
    """The linear readout's current (w, b) as numpy (the Inspector fills ŷ = w·h + b in); None for raw."""
    ro = getattr(model, "readout", None)
    if ro is None:
        return None
    return ro.weight.detach().cpu().numpy().astype(np.float64).ravel(), float(ro.bias.detach().cpu().reshape(-1)[0])
