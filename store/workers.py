"""Worker registry: who is working on this project, and are they still alive."""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass

from store import jobs
from store.schema.connection import write

HEARTBEAT_INTERVAL_S = 2.0
STALE_AFTER_INTERVALS = 5


@dataclass(frozen=True)
class WorkerRow:
    id: int
    host: str
    pid: int
    kinds: tuple[str, ...] | None
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    stop_requested: bool

    def heartbeat_age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.heartbeat_at

    def is_alive(self, now: float | None = None) -> bool:
        """Stopped, a dead process on this host, or a stale heartbeat all mean gone."""
        if self.stopped_at is not None:
            return False
        if self.host == socket.gethostname() and not pid_alive(self.pid):
            return False
        return self.heartbeat_age(now) < HEARTBEAT_INTERVAL_S * STALE_AFTER_INTERVALS

    def to_json(self, now: float | None = None) -> dict:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "kinds": list(self.kinds) if self.kinds is not None else None,
            "started_at": self.started_at,
            "heartbeat_age_s": round(self.heartbeat_age(now), 3),
            "alive": self.is_alive(now),
        }


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_from_row(row: sqlite3.Row) -> WorkerRow:
    return WorkerRow(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        kinds=tuple(json.loads(row["kinds"])) if row["kinds"] else None,
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        stopped_at=row["stopped_at"],
        stop_requested=bool(row["stop_requested"]),
    )


class WorkerAlreadyRunningError(RuntimeError):
    pass


def live_workers(conn: sqlite3.Connection) -> list[WorkerRow]:
    rows = conn.execute("SELECT * FROM workers WHERE stopped_at IS NULL ORDER BY id").fetchall()
    now = time.time()
    return [w for w in map(_worker_from_row, rows) if w.is_alive(now)]


def latest_worker(conn: sqlite3.Connection) -> WorkerRow | None:
    row = conn.execute("SELECT * FROM workers ORDER BY id DESC LIMIT 1").fetchone()
    return _worker_from_row(row) if row else None


def register(conn: sqlite3.Connection, kinds: tuple[str, ...] | None) -> tuple[int, list[int], list[int]]:
    """Sign a worker in; requeue the jobs of workers that died.

    A worker without an explicit kind list refuses to start beside a live one. Returns
    (worker id, requeued job ids, job ids failed after too many attempts).
    """
    now = time.time()
    with write(conn):
        live = live_workers(conn)
        if live and kinds is None:
            other = live[0]
            raise WorkerAlreadyRunningError(
                f"a worker is already running for this project (pid {other.pid} on {other.host}, "
                f"heartbeat {other.heartbeat_age(now):.0f}s ago); to run another beside it, "
                "name the job kinds it should take with --kinds"
            )
        cursor = conn.execute(
            "INSERT INTO workers (host, pid, kinds, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
            (socket.gethostname(), os.getpid(), json.dumps(list(kinds)) if kinds else None, now, now),
        )
        worker_id = int(cursor.lastrowid)
        requeued, failed = _requeue_orphans(conn, [w.id for w in live] + [worker_id])
    return worker_id, requeued, failed


def _requeue_orphans(conn: sqlite3.Connection, live_ids: list[int]) -> tuple[list[int], list[int]]:
    """Sign off workers that died and requeue their jobs (inside a write transaction)."""
    ids = live_ids or [-1]
    conn.execute(
        f"UPDATE workers SET stopped_at = ? WHERE stopped_at IS NULL"
        f" AND id NOT IN ({','.join('?' * len(ids))})",
        (time.time(), *ids),
    )
    return jobs.requeue_orphans(conn, live_ids)


def requeue_dead_workers_jobs(conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
    """Periodic sweep: jobs of workers that died while this one runs go back to the queue."""
    with write(conn):
        return _requeue_orphans(conn, [w.id for w in live_workers(conn)])


def heartbeat(conn: sqlite3.Connection, worker_id: int, job_id: int | None) -> bool:
    """Beat for the worker (and its running job); returns whether a stop was requested."""
    now = time.time()
    with write(conn):
        conn.execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?", (now, worker_id))
        if job_id is not None:
            jobs.heartbeat(conn, job_id, now)
        row = conn.execute("SELECT stop_requested FROM workers WHERE id = ?", (worker_id,)).fetchone()
    return bool(row and row[0])


def sign_off(conn: sqlite3.Connection, worker_id: int) -> None:
    with write(conn):
        conn.execute("UPDATE workers SET stopped_at = ? WHERE id = ?", (time.time(), worker_id))


def request_stop(conn: sqlite3.Connection) -> list[WorkerRow]:
    """Ask every live worker to finish its current unit of work and exit."""
    with write(conn):
        live = live_workers(conn)
        for worker in live:
            conn.execute("UPDATE workers SET stop_requested = 1 WHERE id = ?", (worker.id,))
    return live
