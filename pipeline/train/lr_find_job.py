"""The lr_find job: faceswap's learning-rate finder run on a session, in memory only.

It continues from the session's newest checkpoint (fresh weights for a session never
trained: faceswap sweeps before a first run), sweeps the learning rate at the session's
batch size and settings, and stores the curve and the suggestion in `lr_sweeps`; with
`set_rate`, the suggestion becomes the session's learning rate. The weights it trains are
thrown away: no checkpoint, loss, preview or run of the session is written.
"""
from __future__ import annotations

import math
import sqlite3
from typing import Any

from pipeline.context import JobContext
from pipeline.devices import default_device
from pipeline.errors import JobError
from pipeline.registry import job_kind
from pipeline.train.data_settings import TrainingDataError
from pipeline.train.lr_finder import SweepResult, sweep
from pipeline.train.models.registry import ModelOptionError
from pipeline.train.settings import RunSettings
from pipeline.train.trainer import NonFinite, Trainer
from store import lr_sweeps, sessions
from store.lr_sweeps import KIND, SweepSettings


class _Stepper:
    """The sweep's step: one training step of both sides at a rate, reporting progress and
    stopping when the job is cancelled."""

    def __init__(self, ctx: JobContext, trainer: Trainer, iterations: int) -> None:
        self.ctx, self.trainer, self.iterations = ctx, trainer, iterations
        self.done = 0

    def __call__(self, rate: float) -> float:
        self.ctx.checkpoint()
        try:
            loss_a, loss_b = self.trainer.train_step(rate)
        except NonFinite:
            return math.nan
        self.done += 1
        self.trainer.reporter.progress(self.done, self.iterations,
                                       f"sweep step {self.done} of {self.iterations}: "
                                       f"learning rate {rate:.1e}, loss {loss_a + loss_b:.4f}")
        return loss_a + loss_b


@job_kind(KIND)
def lr_find(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Params: `session_id` and SweepSettings' fields (iterations, strength, set_rate)."""
    try:
        session = sessions.get(ctx.conn, int(params["session_id"]))
        settings = SweepSettings.from_params(params)
        run_settings = RunSettings.from_dict(session.settings)
    except (sessions.SessionError, ValueError, TypeError, KeyError) as exc:
        raise JobError(f"missing {exc.args[0]!r} in the job's parameters"
                       if isinstance(exc, KeyError) else str(exc)) from exc
    if (job_id := sessions.active_job(ctx.conn, session.id)) is not None:
        raise JobError(f"session {session.name} has train job {job_id} queued or running: "
                       "sweep it when that has stopped")
    try:
        trainer = Trainer(ctx, session, run_settings, default_device())
        trainer.prepare()
    except (TrainingDataError, ModelOptionError) as exc:
        raise JobError(str(exc)) from exc
    result = sweep(_Stepper(ctx, trainer, settings.iterations), settings.iterations,
                   settings.strength)
    return _store(ctx, session, settings, result)


def _store(ctx: JobContext, session: sessions.Session, settings: SweepSettings,
           result: SweepResult) -> dict[str, Any]:
    """Record the sweep; set its suggestion when asked; fail when it found none."""
    try:
        stored = lr_sweeps.record(ctx.conn, session.id, ctx.job_id, settings, result.points,
                                  result.suggested, result.stop_reason)
    except sqlite3.IntegrityError as exc:
        raise JobError(f"session {session.name} was deleted during its sweep") from exc
    stopped = f"; {result.stop_reason}" if result.stop_reason else ""
    if result.suggested is None:
        raise JobError(f"no learning rate found in {stored.steps} steps{stopped}: the loss "
                       "never fell; sweep again with more iterations")
    if settings.set_rate:
        stored = lr_sweeps.apply(ctx.conn, stored.id)
    now_set = f"; now the learning rate of {session.name}" if settings.set_rate else ""
    ctx.log.info("sweep %d of session %s suggests learning rate %.3g", stored.id,
                 session.name, result.suggested)
    return {"message": f"suggested learning rate {result.suggested:.3g} ({settings.strength}) "
                       f"from {stored.steps} of {settings.iterations} steps{stopped}{now_set}",
            "session_id": session.id, "sweep_id": stored.id, "suggested": result.suggested,
            "steps": stored.steps, "stop_reason": result.stop_reason,
            "set_rate": settings.set_rate}
