"""The state of one live run: `Run` holds everything that belongs to a run (its trainer, whole-run curves,
position, end, cached analysis, rate meter, what the window already has). The live engine replaces it whole
on Reset and on opening a session, so nothing of a previous run can leak into the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.analysis.inspection import Analysis
from core.analysis.verdict import Verdict
from core.config import Config
from core.history import DecimatingSeries
from core.rules.fidelity_history import FidelityRecord
from core.snapshot import SeriesSender
from core.train.trainer import RateMeter, Trainer
from core.train.views import Finish


@dataclass(eq=False)
class Run:
    run_id: int
    cfg: Config
    trainer: Trainer
    loss_series: DecimatingSeries           # whole run: loss per unit
    acc_series: DecimatingSeries            # whole run: score per unit (online 1/0, batch accuracy)
    steps: int = 0                          # units trained (online timesteps, batch minibatches)
    last_loss: float = math.nan
    finished: Finish | None = None          # the end reached, until Start continues past it
    seq: int = 0                            # snapshots sent of this run
    update_ratio: float = math.nan          # |dtheta| / |theta| of one update, measured every 200 units
    meter: RateMeter = field(default_factory=RateMeter)
    analysis: Analysis | None = None        # cached: recomputed when the step moved (throttled while running)
    analysis_step: int = -1
    analysis_at: float = -math.inf
    view_at: float = -math.inf              # when the trainer's view was last refreshed (batch: the probe)
    senders: tuple[SeriesSender, ...] = ()  # (loss, accuracy), made by __post_init__
    verdict: Verdict | None = None          # core.analysis.verdict: set when the run reaches its end (core.live.engine)
    fidelity: FidelityRecord | None = None  # train.fidelity: the gradient fidelity over the run and recently

    def __post_init__(self) -> None:
        self.senders = (SeriesSender(self.loss_series), SeriesSender(self.acc_series))
