"""The reporter a training job uses: everything its runs report goes into the project's store.

This is the one module on the training side that writes training results to the store
(sessions, runs, losses, checkpoint rows, previews, swap metrics, the job's progress).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.context import JobContext
from pipeline.train.reporter import LossRow
from store import sessions


class StoreCheckpointLedger:
    """The checkpoints rows of session `session_id`: a `reporter.CheckpointLedger`."""

    def __init__(self, conn: sqlite3.Connection, session_id: int) -> None:
        self.conn, self.session_id = conn, session_id

    def checkpoints(self, kind: str | None = None, *,
                    archived: bool = False) -> list[sessions.Checkpoint]:
        return sessions.checkpoints(self.conn, self.session_id, kind, archived=archived)

    def add_checkpoint(self, kind: str, iteration: int, path: str, sha256: str,
                       loss_a: float | None, loss_b: float | None) -> int:
        return sessions.add_checkpoint(self.conn, self.session_id, kind, iteration, path,
                                       sha256, loss_a, loss_b)

    def drop_checkpoints(self, checkpoint_ids: Iterable[int]) -> None:
        sessions.drop_checkpoints(self.conn, checkpoint_ids)


class StoreReporter(StoreCheckpointLedger):
    """A `reporter.Reporter` writing session `session_id` and job `ctx.job_id` in the store."""

    def __init__(self, ctx: JobContext, session_id: int) -> None:
        super().__init__(ctx.conn, session_id)
        self.ctx = ctx

    def progress(self, done: float, total: float | None, message: str, *,
                 force: bool = False) -> None:
        self.ctx.progress(done, total, message, force=force)

    def run_started(self, iteration: int, batch_size: int, device: str,
                    settings: dict[str, Any]) -> int:
        sessions.forget_after(self.conn, self.session_id, iteration)
        sessions.close_dead_runs(self.conn, self.session_id, iteration)
        sessions.set_settings(self.conn, self.session_id, settings)
        return sessions.start_run(self.conn, self.session_id, self.ctx.job_id, iteration,
                                  batch_size, device, settings)

    def losses(self, run_id: int, iteration: int, losses: Sequence[LossRow]) -> None:
        sessions.record_progress(self.conn, self.session_id, run_id, iteration, losses)

    def rollback(self, run_id: int) -> None:
        sessions.count_rollback(self.conn, run_id)

    def forget_after(self, iteration: int) -> None:
        sessions.forget_after(self.conn, self.session_id, iteration)

    def run_ended(self, run_id: int, iteration: int, reason: str) -> None:
        sessions.end_run(self.conn, run_id, iteration, reason)

    def preview(self, iteration: int, png: bytes) -> None:
        sessions.add_preview(self.conn, self.session_id, iteration, "png", png)

    def swap_metrics(self, metrics: sessions.SwapMetrics) -> None:
        sessions.record_metrics(self.conn, self.session_id, metrics)

    def take_save_request(self) -> bool:
        return sessions.take_save_request(self.conn, self.session_id)
