"""Python logging into the store's `events` table (and stderr), so the TUI can show it."""
from __future__ import annotations

import logging
import sys
import threading

from store import events
from store.project import Project

LOGGER_NAME = "swapdeck"


class StoreEventHandler(logging.Handler):
    """Writes each record as an event row; the job id comes from the record's `job_id`.

    It has a connection of its own: threads log while the main thread may be inside a
    transaction on its connection, and a log line must never land inside (or break) that.
    """

    def __init__(self, project: Project, origin: str) -> None:
        super().__init__(level=logging.INFO)
        self._conn = project.connect()
        self._origin = origin
        self._conn_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with self._conn_lock:
                events.add(self._conn, record.levelname.lower(), self._origin,
                           record.getMessage(), getattr(record, "job_id", None))
        except Exception:  # noqa: BLE001 - a log line must never take the worker down
            self.handleError(record)

    def close(self) -> None:
        with self._conn_lock:
            self._conn.close()
        super().close()


def setup_logging(project: Project, origin: str) -> logging.Logger:
    """The `swapdeck` logger, writing to the store and to stderr."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(stderr)
    logger.addHandler(StoreEventHandler(project, origin))
    return logger


def job_logger(logger: logging.Logger, job_id: int) -> logging.LoggerAdapter:
    """A logger whose lines are tagged with `job_id` in the events table."""
    return logging.LoggerAdapter(logger, {"job_id": job_id})
