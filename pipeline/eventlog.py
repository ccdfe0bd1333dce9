"""Python logging into the store's `events` table (and stderr), so the TUI can show it."""
from __future__ import annotations

import logging
import sqlite3
import sys
import threading

from store import events

LOGGER_NAME = "swapdeck"


class StoreEventHandler(logging.Handler):
    """Writes each record as an event row; the job id comes from the record's `job_id`."""

    def __init__(self, conn: sqlite3.Connection, origin: str) -> None:
        super().__init__(level=logging.INFO)
        self._conn = conn
        self._origin = origin
        self._lock_conn = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with self._lock_conn:
                events.add(self._conn, record.levelname.lower(), self._origin,
                           record.getMessage(), getattr(record, "job_id", None))
        except Exception:  # noqa: BLE001 - a log line must never take the worker down
            self.handleError(record)


def setup_logging(conn: sqlite3.Connection, origin: str) -> logging.Logger:
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
    logger.addHandler(StoreEventHandler(conn, origin))
    return logger


def job_logger(logger: logging.Logger, job_id: int) -> logging.LoggerAdapter:
    """A logger whose lines are tagged with `job_id` in the events table."""
    return logging.LoggerAdapter(logger, {"job_id": job_id})
