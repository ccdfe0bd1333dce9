"""A `pipeline.train.reporter.Reporter` that keeps what a training run reports in memory, so
a test can train without writing the store and then read back exactly what was reported.

It keeps the store's rules where the trainer relies on them: checkpoint rows come back
newest first, a run's start drops what was recorded past its iteration and ends the runs
left open, `forget_after` drops losses, previews and metrics past an iteration."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.train.reporter import LossRow
from store.sessions import CHECKPOINT_KINDS, Checkpoint, SwapMetrics


@dataclass
class ReportedRun:
    id: int
    start_iteration: int
    end_iteration: int
    batch_size: int
    device: str
    settings: dict[str, Any]
    rollbacks: int = 0
    end_reason: str | None = None


@dataclass
class MemoryReporter:
    session_id: int
    iteration: int = 0                       # how far the session got
    settings: dict[str, Any] = field(default_factory=dict)
    save_requested: bool = False             # a person asked for a save (not yet taken)
    progress_lines: list[tuple[float, float | None, str]] = field(default_factory=list)
    runs: list[ReportedRun] = field(default_factory=list)
    loss_rows: dict[int, tuple[float, float]] = field(default_factory=dict)
    previews: dict[int, bytes] = field(default_factory=dict)
    metrics: dict[int, SwapMetrics] = field(default_factory=dict)
    rows: list[Checkpoint] = field(default_factory=list)
    next_checkpoint_id: int = 1

    # ---- the checkpoint ledger --------------------------------------------------------

    def checkpoints(self, kind: str | None = None, *,
                    archived: bool = False) -> list[Checkpoint]:
        chosen = [row for row in self.rows if (kind is None or row.kind == kind)
                  and (archived or row.archive_id is None)]
        return sorted(chosen, key=lambda row: (row.iteration, row.id), reverse=True)

    def add_checkpoint(self, kind: str, iteration: int, path: str, sha256: str,
                       loss_a: float | None, loss_b: float | None) -> int:
        if kind not in CHECKPOINT_KINDS:
            raise ValueError(f"unknown checkpoint kind {kind!r}")
        row = Checkpoint(self.next_checkpoint_id, self.session_id, kind, iteration, path,
                         sha256, loss_a, loss_b, time.time())
        self.next_checkpoint_id += 1
        self.rows.append(row)
        return row.id

    def drop_checkpoints(self, checkpoint_ids: Iterable[int]) -> None:
        dropped = set(checkpoint_ids)
        self.rows = [row for row in self.rows if row.id not in dropped]

    # ---- the rest of the reporter -----------------------------------------------------

    def progress(self, done: float, total: float | None, message: str, *,
                 force: bool = False) -> None:
        self.progress_lines.append((done, total, message))

    def run_started(self, iteration: int, batch_size: int, device: str,
                    settings: dict[str, Any]) -> int:
        self.forget_after(iteration)
        for run in self.runs:
            if run.end_reason is None:
                run.end_iteration = min(run.end_iteration, iteration)
                run.end_reason = ("the worker died; the next run resumed from iteration "
                                  f"{iteration}")
        self.settings = settings
        self.runs.append(ReportedRun(len(self.runs) + 1, iteration, iteration, batch_size,
                                     device, settings))
        return self.runs[-1].id

    def losses(self, run_id: int, iteration: int, losses: Sequence[LossRow]) -> None:
        self.loss_rows.update({i: (a, b) for i, a, b in losses})
        self.iteration = iteration
        self._run(run_id).end_iteration = iteration

    def rollback(self, run_id: int) -> None:
        self._run(run_id).rollbacks += 1

    def forget_after(self, iteration: int) -> None:
        for kept in (self.loss_rows, self.previews, self.metrics):
            for past in [i for i in kept if i > iteration]:
                del kept[past]
        self.iteration = iteration

    def run_ended(self, run_id: int, iteration: int, reason: str) -> None:
        run = self._run(run_id)
        run.end_iteration, run.end_reason = iteration, reason

    def preview(self, iteration: int, png: bytes) -> None:
        self.previews[iteration] = png

    def swap_metrics(self, metrics: SwapMetrics) -> None:
        self.metrics[metrics.iteration] = metrics

    def take_save_request(self) -> bool:
        asked, self.save_requested = self.save_requested, False
        return asked

    def _run(self, run_id: int) -> ReportedRun:
        return self.runs[run_id - 1]
