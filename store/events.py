"""The event log: lines the worker, CLI and TUI write for people to read."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from store.schema.connection import write


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    level: str
    origin: str
    job_id: int | None
    message: str

    def to_json(self) -> dict:
        return {"id": self.id, "ts": self.ts, "level": self.level, "origin": self.origin,
                "job_id": self.job_id, "message": self.message}

    def format(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.ts))
        job = f" job {self.job_id}" if self.job_id is not None else ""
        return f"{stamp} {self.level:<7} {self.origin}{job}: {self.message}"


def _event_from_row(row: sqlite3.Row) -> Event:
    return Event(row["id"], row["ts"], row["level"], row["origin"], row["job_id"], row["message"])


def add(conn: sqlite3.Connection, level: str, origin: str, message: str,
        job_id: int | None = None) -> None:
    with write(conn):
        conn.execute(
            "INSERT INTO events (ts, level, origin, job_id, message) VALUES (?, ?, ?, ?, ?)",
            (time.time(), level, origin, job_id, message),
        )


def recent(conn: sqlite3.Connection, limit: int = 50) -> list[Event]:
    """The newest `limit` events, oldest first."""
    rows = conn.execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_event_from_row(row) for row in reversed(rows)]


def after(conn: sqlite3.Connection, event_id: int) -> list[Event]:
    rows = conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id", (event_id,)).fetchall()
    return [_event_from_row(row) for row in rows]
