"""What a training run tells the outside world, and the one question it asks back.

The trainer and its keeper never write the store themselves: every loss, progress line, run
start and end, rollback, checkpoint row, preview and swap measurement goes through a
`Reporter`. `store_reporter.StoreReporter` writes them into the project's store (what the
worker uses); tests hand the trainer an in-memory one and read back what it was told.

A `CheckpointLedger` is the part the keeper needs: the rows that name a session's model
files. The keeper reads them back as well as writing them (which saves are older, which
file a resume loads), so a reporter answers for the rows it was given.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from store.sessions import Checkpoint, SwapMetrics

LossRow = tuple[int, float, float]   # (iteration, loss A, loss B)


class CheckpointLedger(Protocol):
    """The rows naming one session's model files (saves, snapshots, backups)."""

    def checkpoints(self, kind: str | None = None, *,
                    archived: bool = False) -> list[Checkpoint]:
        """The session's live rows (with `archived`, archived ones too), newest first."""
        ...

    def add_checkpoint(self, kind: str, iteration: int, path: str, sha256: str,
                       loss_a: float | None, loss_b: float | None) -> int:
        """Record a model file just written whole; returns the row's id."""
        ...

    def drop_checkpoints(self, checkpoint_ids: Iterable[int]) -> None:
        """Forget these rows (their files are deleted after, by the keeper)."""
        ...


class Reporter(CheckpointLedger, Protocol):
    """Everything one training session's runs report, besides its checkpoint rows."""

    def progress(self, done: float, total: float | None, message: str, *,
                 force: bool = False) -> None:
        """The job's progress line (a store-backed reporter throttles it unless `force`)."""
        ...

    def run_started(self, iteration: int, batch_size: int, device: str,
                    settings: dict[str, Any]) -> int:
        """A run begins at `iteration` (the checkpoint it continues from): what was recorded
        past it is dropped, runs a dead worker left open are ended there, `settings` become
        the session's. Returns the run's id."""
        ...

    def losses(self, run_id: int, iteration: int, losses: Sequence[LossRow]) -> None:
        """The losses since the last call, and that the session and run reached `iteration`."""
        ...

    def rollback(self, run_id: int) -> None:
        """A NaN or Inf made run `run_id` roll back once more."""
        ...

    def forget_after(self, iteration: int) -> None:
        """The run went back to its checkpoint at `iteration`: losses, previews and swap
        metrics past it are dropped, and the session is at `iteration` again."""
        ...

    def run_ended(self, run_id: int, iteration: int, reason: str) -> None:
        """Run `run_id` ended at `iteration`, for `reason`."""
        ...

    def preview(self, iteration: int, png: bytes) -> None:
        """The preview grid made at a save (PNG bytes)."""
        ...

    def swap_metrics(self, metrics: SwapMetrics) -> None:
        """The swap metrics measured at a save."""
        ...

    def take_save_request(self) -> bool:
        """Whether a person asked for a save since the last call (the request is used up)."""
        ...
