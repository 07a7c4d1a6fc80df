"""S online learners of one BatchShape trained together: their streams, the batched engine, and their verdicts.

`BatchedLearners(cfgs)` takes one validated online Config per learner (each with its own seed, task and lr)
and gives learner s exactly what `OnlineTrainer(cfgs[s])` would use: the initial weights of that trainer's
model and the bits of `BitStream(cfg.task, seed)`. `train()` advances every learner `steps` steps in chunks
(a generator, so a caller can show progress and stop), `evaluate()` then measures held-out accuracy the way
`core.runs.headless.train` does (the next eval_steps steps, weights frozen, state carried) and `results()` judges
each learner as `core.runs.seeds.seed_outcome` does. A learner diverged when a training loss, a weight or an
optimizer moment after its last update, or its held-out loss is not finite (`diverged_at`, as
core.train.loop's rule): its result says so and carries no held-out figure.
Memory is bounded: besides the engine, only per-learner counters and a (S, reach_window) ring of
correct/incorrect bits are kept, never per-step histories.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from core.analysis.verdict import SOLVED
from core.config import Config, TaskConfig
from core.seed_batched.shape import batch_shape
from core.seed_batched.table import make_batched_engine
from core.tasks import target


class BatchStreams:
    """The bit streams of S learners, read in blocks; row s equals BitStream(tasks[s], seeds[s]) step by step
    (Generator.random draws the same doubles whatever the block size)."""

    def __init__(self, tasks: Sequence[TaskConfig], seeds: Sequence[int]):
        self.tasks = list(tasks)
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        self.past = [np.zeros(t.lag, dtype=np.int64) for t in self.tasks]

    def block(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next n inputs and targets of every stream: two (S, n) int8 arrays."""
        S = len(self.tasks)
        xs, ys = np.empty((S, n), np.int8), np.empty((S, n), np.int8)
        for s, (task, rng) in enumerate(zip(self.tasks, self.rngs)):
            x = (rng.random(n) < task.p).astype(np.int64)
            lag = task.lag
            full = np.concatenate([self.past[s], x])
            past = full[: len(x)] if lag > 0 else x
            ys[s] = target(task.kind, x, past)
            xs[s] = x
            if lag > 0:
                self.past[s] = full[-lag:]
        return xs, ys


def initial_theta(cfg: Config) -> np.ndarray:
    """The flat float32 initial weights of OnlineTrainer(cfg)'s model (whatever its init does)."""
    from core.train.online import OnlineTrainer

    tr = OnlineTrainer(cfg)
    return np.concatenate([p.detach().cpu().numpy().astype(np.float32).ravel() for p in tr.model.parameters()])


@dataclass(frozen=True)
class LearnerResult:
    """One learner's outcome. metric/value: the figure that decided `learned` (heldout_accuracy, or the mean
    training accuracy when eval_steps = 0); reach_step: the first training step at which the accuracy over the
    last reach_window steps was >= threshold (None: never)."""

    seed: int
    learned: bool
    metric: str
    value: float
    heldout_loss: float
    reach_step: int | None
    diverged: bool = False            # a loss, weight or optimizer moment was not finite: no figure
    diverged_step: int | None = None  # the first step (1-based) it was seen at; steps + 1: the held-out steps

    def to_dict(self) -> dict:
        return asdict(self)


class BatchedLearners:
    def __init__(self, cfgs: Sequence[Config], *, reach_window: int = 1000, threshold: float = SOLVED,
                 engine_factory=make_batched_engine):
        if not cfgs:
            raise ValueError("no learners")
        cfgs = [c.validate() for c in cfgs]
        shape = batch_shape(cfgs[0])
        for c in cfgs:
            if c.train.mode != "online":
                raise ValueError("batched learners train online configs only")
            if batch_shape(c) != shape:
                raise ValueError(f"learners of one batch must share {shape}, got {batch_shape(c)}")
            if (c.train.steps, c.train.eval_steps) != (cfgs[0].train.steps, cfgs[0].train.eval_steps):
                raise ValueError("learners of one batch must share steps and eval_steps")
        if reach_window < 1:
            raise ValueError("reach_window must be >= 1")
        self.cfgs, self.shape, self.threshold = list(cfgs), shape, float(threshold)
        self.steps, self.eval_steps = cfgs[0].train.steps, cfgs[0].train.eval_steps
        self.S = len(cfgs)
        theta = np.stack([initial_theta(c) for c in cfgs])
        self.engine = engine_factory(shape, theta, np.array([c.train.lr for c in cfgs], np.float64),
                                     seeds=[c.train.seed for c in cfgs])
        self.streams = BatchStreams([c.task for c in cfgs], [c.train.seed for c in cfgs])
        self.t = 0
        W = int(reach_window)
        self.reach_window = W
        self._ring = np.zeros((self.S, W), bool)
        self._ring_sum = np.zeros(self.S, np.int64)
        self._need = int(np.ceil(self.threshold * W - 1e-9))
        self.reach_step = np.full(self.S, -1, np.int64)
        self.train_correct = np.zeros(self.S, np.int64)
        self.heldout_acc = np.full(self.S, np.nan)
        self.heldout_loss = np.full(self.S, np.nan)
        self.diverged_at = np.zeros(self.S, np.int64)  # 0: sound; else the first step something was not finite

    @property
    def reached(self) -> np.ndarray:
        """(S,) bool: which learners' rolling training accuracy has reached the threshold so far."""
        return self.reach_step >= 0

    def train(self, steps: int | None = None, chunk: int = 500, losses: np.ndarray | None = None) -> Iterator[int]:
        """Advance every learner `steps` (default: the configs' steps) training steps; yields the learners'
        step count after each chunk. losses: an optional (steps, S) array that receives each step's losses."""
        total = self.steps if steps is None else int(steps)
        done = 0
        while done < total:
            n = min(chunk, total - done)
            xs, ys = self.streams.block(n)
            with np.errstate(over="ignore", invalid="ignore"):  # a divergence is recorded, not warned about
                y_hat, lv = self.engine.step_many(xs, ys, True)
            if losses is not None:
                losses[done:done + n] = lv
            self._mark(~np.isfinite(lv), self.t + 1)
            for i in range(n):
                self._count(y_hat[i], ys[:, i])
            done += n
            if done == total:  # after the last update: every weight and optimizer moment must be finite
                self._mark(~self._state_finite()[None, :], self.t)
            yield self.t

    def _mark(self, bad: np.ndarray, first_step: int) -> None:
        """Record divergences: bad is (n, S), row i the step first_step + i; the first one per learner counts."""
        hit = bad.any(axis=0) & (self.diverged_at == 0)
        if hit.any():
            self.diverged_at[hit] = first_step + bad[:, hit].argmax(axis=0)

    def _state_finite(self) -> np.ndarray:
        """(S,) bool: each learner's weights and optimizer moments (Adam's m and v) are all finite."""
        ok = np.ones(self.S, bool)
        opt = getattr(self.engine, "opt", None)
        for arr in (self.engine.theta, getattr(opt, "m", None), getattr(opt, "v", None)):
            if arr is not None:
                a = arr.detach().cpu().numpy() if hasattr(arr, "detach") else np.asarray(arr)
                ok &= np.isfinite(a.reshape(self.S, -1)).all(axis=1)
        return ok

    def _count(self, y_hat: np.ndarray, y: np.ndarray) -> None:
        ok = (y_hat >= 0.5) == (y == 1)
        self.train_correct += ok
        j = self.t % self.reach_window
        self._ring_sum += ok
        self._ring_sum -= self._ring[:, j]
        self._ring[:, j] = ok
        self.t += 1
        if self.t >= self.reach_window:
            newly = (self.reach_step < 0) & (self._ring_sum >= self._need)
            if newly.any():
                self.reach_step[newly] = self.t

    def evaluate(self, n: int | None = None, chunk: int = 500) -> Iterator[int]:
        """Held-out: the next n (default eval_steps) steps, weights frozen, state carried; yields steps done."""
        total = self.eval_steps if n is None else int(n)
        correct = np.zeros(self.S, np.int64)
        loss = np.zeros(self.S, np.float64)
        done = 0
        while done < total:
            m = min(chunk, total - done)
            xs, ys = self.streams.block(m)
            with np.errstate(over="ignore", invalid="ignore"):
                y_hat, lv = self.engine.step_many(xs, ys, False)
            correct += ((y_hat >= 0.5) == (ys.T == 1)).sum(axis=0)
            loss += lv.sum(axis=0)
            done += m
            yield done
        if total > 0:
            self.heldout_acc, self.heldout_loss = correct / total, loss / total
            self._mark(~np.isfinite(self.heldout_loss)[None, :], self.t + 1)

    def run(self, chunk: int = 500) -> Iterator[int]:
        """train() then evaluate(); yields the learner-steps done by each learner so far (train + eval)."""
        yield from self.train(chunk=chunk)
        for d in self.evaluate(chunk=chunk):
            yield self.steps + d

    def results(self) -> list[LearnerResult]:
        """Each learner's verdict, by core.runs.seeds.seed_outcome's rule (NaN never counts as learned); a
        diverged learner is not learned and has no figure (value and heldout_loss NaN)."""
        out = []
        for s, c in enumerate(self.cfgs):
            if self.eval_steps > 0:
                metric, value = "heldout_accuracy", float(self.heldout_acc[s])
            else:
                metric, value = "accuracy", float(self.train_correct[s] / max(1, self.t))
            at = int(self.diverged_at[s])
            loss = float(self.heldout_loss[s])
            if at:
                value = loss = float("nan")
            learned = bool(np.isfinite(value) and value >= self.threshold)
            rs = int(self.reach_step[s])
            out.append(LearnerResult(c.train.seed, learned, metric, value, loss, rs if rs >= 0 and not at else None,
                                     bool(at), at or None))
        return out
