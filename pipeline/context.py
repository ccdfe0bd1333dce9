"""What a running job sees: its store connection, progress reporting, cancel and stop checks."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from pipeline.errors import JobCancelled, WorkerStopping
from store import jobs
from store.project import Project

PROGRESS_INTERVAL_S = 0.25
CANCEL_POLL_INTERVAL_S = 0.25


@dataclass
class JobContext:
    """Handed to every job function. Jobs call `checkpoint()` between units of work."""
    project: Project
    conn: sqlite3.Connection
    job_id: int
    stop_event: threading.Event
    log: logging.LoggerAdapter
    _last_progress_at: float = field(default=0.0, repr=False)
    _last_cancel_poll_at: float = field(default=0.0, repr=False)

    def progress(self, done: float, total: float | None, message: str, *, force: bool = False) -> None:
        """Record progress, at most a few times a second unless `force`."""
        now = time.monotonic()
        if not force and now - self._last_progress_at < PROGRESS_INTERVAL_S:
            return
        self._last_progress_at = now
        jobs.report_progress(self.conn, self.job_id, done, total, message)

    def checkpoint(self) -> None:
        """Raise if the worker is stopping or the job was cancelled; cheap to call often."""
        if self.stop_event.is_set():
            raise WorkerStopping()
        now = time.monotonic()
        if now - self._last_cancel_poll_at < CANCEL_POLL_INTERVAL_S:
            return
        self._last_cancel_poll_at = now
        if jobs.cancel_requested(self.conn, self.job_id):
            raise JobCancelled()
