"""Training sessions: their runs, losses, checkpoints, previews and swap metrics.

A session trains one model for one pair of people (side A and side B). Its model config is
frozen when it is created; the per-run settings (learning rate, batch size, augmentation)
may change from run to run and are kept with each run. Model files live in
`models/<session id>/`; the store keeps their paths and hashes.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from store.schema.connection import write
from store.jobs import JobStatus

CHECKPOINT_KINDS = ("save", "snapshot", "backup")


class SessionError(LookupError):
    pass


@dataclass(frozen=True)
class Session:
    id: int
    name: str
    model: str
    config: dict[str, Any]
    identity_a: int
    identity_b: int
    name_a: str
    name_b: str
    settings: dict[str, Any]
    iteration: int
    created_at: float

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "model": self.model, "config": self.config,
                "a": self.name_a, "b": self.name_b, "settings": self.settings,
                "iteration": self.iteration, "created_at": self.created_at}


@dataclass(frozen=True)
class Run:
    id: int
    session_id: int
    job_id: int | None
    started_at: float
    ended_at: float | None
    start_iteration: int
    end_iteration: int
    batch_size: int
    device: str
    settings: dict[str, Any]
    rollbacks: int
    end_reason: str | None

    @property
    def iterations(self) -> int:
        return self.end_iteration - self.start_iteration

    def elapsed(self, now: float) -> float:
        """Seconds from its start to its end (to `now` while it is open)."""
        return max(0.0, (self.ended_at if self.ended_at is not None else now) - self.started_at)


@dataclass(frozen=True)
class Checkpoint:
    id: int
    session_id: int
    kind: str
    iteration: int
    path: str
    sha256: str
    loss_a: float | None
    loss_b: float | None
    created_at: float
    archive_id: int | None = None   # set when a restore archived it: kept, no longer used

    @property
    def label(self) -> str:
        return f"{self.kind} at {self.iteration:,}"


@dataclass(frozen=True)
class SwapMetrics:
    iteration: int
    faces: int
    identity_a: float | None   # cosine similarity of A-to-B outputs to A's descriptor centre
    identity_b: float | None   # ... and to B's: a working swap raises this above identity_a
    pose_error: float | None   # mean degrees of yaw/pitch/roll between input and output
    expression_error: float | None  # landmark error after alignment, inter-ocular units


_SESSION_SQL = """SELECT s.*, a.name AS name_a, b.name AS name_b FROM sessions s
                  JOIN identities a ON a.id = s.identity_a JOIN identities b ON b.id = s.identity_b"""


def _session(row: sqlite3.Row) -> Session:
    return Session(row["id"], row["name"], row["model"], json.loads(row["config"]),
                   row["identity_a"], row["identity_b"], row["name_a"], row["name_b"],
                   json.loads(row["settings"]), row["iteration"], row["created_at"])


def create(conn: sqlite3.Connection, name: str, model: str, config: dict[str, Any],
           identity_a: int, identity_b: int, settings: dict[str, Any],
           created_by_job: int | None = None) -> Session:
    with write(conn):
        if conn.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone():
            raise SessionError(f"a session named {name!r} exists: choose another name or "
                               "resume it")
        session_id = conn.execute(
            "INSERT INTO sessions (name, model, config, identity_a, identity_b, settings,"
            " created_at, created_by_job) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, model, json.dumps(config), identity_a, identity_b, json.dumps(settings),
             time.time(), created_by_job)).lastrowid
    return get(conn, session_id)


def get(conn: sqlite3.Connection, session_id: int) -> Session:
    row = conn.execute(f"{_SESSION_SQL} WHERE s.id = ?", (session_id,)).fetchone()
    if row is None:
        raise SessionError(f"no session {session_id}")
    return _session(row)


def resolve(conn: sqlite3.Connection, reference: str) -> Session:
    """A session by id or by name."""
    row = conn.execute(f"{_SESSION_SQL} WHERE s.name = ?", (reference,)).fetchone()
    if row is None and reference.isdigit():
        row = conn.execute(f"{_SESSION_SQL} WHERE s.id = ?", (int(reference),)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM sessions ORDER BY id")]
        raise SessionError(f"no session {reference!r}"
                           + (f" (sessions: {', '.join(known)})" if known else ""))
    return _session(row)


def created_by(conn: sqlite3.Connection, job_id: int) -> Session | None:
    """The session a new-session train job made, if it got that far."""
    row = conn.execute(f"{_SESSION_SQL} WHERE s.created_by_job = ?", (job_id,)).fetchone()
    return None if row is None else _session(row)


def active_job(conn: sqlite3.Connection, session_id: int) -> int | None:
    """The queued or running train job of a session, if there is one."""
    row = conn.execute(
        "SELECT j.id FROM jobs j, sessions s WHERE s.id = ? AND j.kind = 'train'"
        " AND j.status IN (?, ?)"
        " AND (json_extract(j.params, '$.session_id') = s.id OR j.id = s.created_by_job)"
        " ORDER BY j.id LIMIT 1",
        (session_id, JobStatus.QUEUED, JobStatus.RUNNING)).fetchone()
    return None if row is None else row[0]


def request_save(conn: sqlite3.Connection, session_id: int) -> None:
    """Ask the session's running train job to save at its next few iterations."""
    with write(conn):
        conn.execute("UPDATE sessions SET save_requested_at = ? WHERE id = ?",
                     (time.time(), session_id))


def take_save_request(conn: sqlite3.Connection, session_id: int) -> bool:
    """Whether a save was asked for since the last call (the request is cleared)."""
    with write(conn):
        return conn.execute(
            "UPDATE sessions SET save_requested_at = NULL WHERE id = ?"
            " AND save_requested_at IS NOT NULL RETURNING id", (session_id,)).fetchone() is not None


def list_sessions(conn: sqlite3.Connection) -> list[Session]:
    return [_session(r) for r in conn.execute(f"{_SESSION_SQL} ORDER BY s.id")]


def set_settings(conn: sqlite3.Connection, session_id: int, settings: dict[str, Any]) -> None:
    with write(conn):
        conn.execute("UPDATE sessions SET settings = ? WHERE id = ?",
                     (json.dumps(settings), session_id))


def start_run(conn: sqlite3.Connection, session_id: int, job_id: int | None, iteration: int,
              batch_size: int, device: str, settings: dict[str, Any]) -> int:
    with write(conn):
        return conn.execute(
            "INSERT INTO session_runs (session_id, job_id, started_at, start_iteration,"
            " end_iteration, batch_size, device, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, job_id, time.time(), iteration, iteration, batch_size, device,
             json.dumps(settings))).lastrowid


def end_run(conn: sqlite3.Connection, run_id: int, iteration: int, reason: str) -> None:
    with write(conn):
        conn.execute("UPDATE session_runs SET ended_at = ?, end_iteration = ?, end_reason = ?"
                     " WHERE id = ?", (time.time(), iteration, reason, run_id))


def close_dead_runs(conn: sqlite3.Connection, session_id: int, resumed_at: int) -> None:
    """End the runs a dead worker left open: what they did past `resumed_at` (the whole
    checkpoint the next run starts from) is lost."""
    with write(conn):
        conn.execute(
            "UPDATE session_runs SET ended_at = ?, end_iteration = MIN(end_iteration, ?),"
            " end_reason = ? WHERE session_id = ? AND ended_at IS NULL",
            (time.time(), resumed_at,
             f"the worker died; the next run resumed from iteration {resumed_at}", session_id))


def count_rollback(conn: sqlite3.Connection, run_id: int) -> None:
    with write(conn):
        conn.execute("UPDATE session_runs SET rollbacks = rollbacks + 1 WHERE id = ?", (run_id,))


def runs(conn: sqlite3.Connection, session_id: int) -> list[Run]:
    return [_run(r) for r in conn.execute("SELECT * FROM session_runs WHERE session_id = ?"
                                          " ORDER BY started_at, id", (session_id,))]


def last_run(conn: sqlite3.Connection, session_id: int) -> Run | None:
    row = conn.execute("SELECT * FROM session_runs WHERE session_id = ?"
                       " ORDER BY started_at DESC, id DESC LIMIT 1", (session_id,)).fetchone()
    return None if row is None else _run(row)


def _run(row: sqlite3.Row) -> Run:
    return Run(row["id"], row["session_id"], row["job_id"], row["started_at"], row["ended_at"],
               row["start_iteration"], row["end_iteration"], row["batch_size"], row["device"],
               json.loads(row["settings"]), row["rollbacks"], row["end_reason"])


def record_progress(conn: sqlite3.Connection, session_id: int, run_id: int, iteration: int,
                    losses: Iterable[tuple[int, float, float]]) -> None:
    """Losses since the last call, and how far the session and its run have got, at once."""
    with write(conn):
        conn.executemany("INSERT OR REPLACE INTO losses (session_id, iteration, loss_a, loss_b)"
                         " VALUES (?, ?, ?, ?)",
                         [(session_id, i, a, b) for i, a, b in losses])
        conn.execute("UPDATE sessions SET iteration = ? WHERE id = ?", (iteration, session_id))
        conn.execute("UPDATE session_runs SET end_iteration = ? WHERE id = ?", (iteration, run_id))


def forget_after(conn: sqlite3.Connection, session_id: int, iteration: int) -> None:
    """Drop what was recorded past `iteration` (a rollback to a checkpoint there)."""
    with write(conn):
        for table in ("losses", "swap_metrics", "previews"):
            conn.execute(f"DELETE FROM {table} WHERE session_id = ? AND iteration > ?",
                         (session_id, iteration))
        conn.execute("UPDATE sessions SET iteration = ? WHERE id = ?", (iteration, session_id))


def losses(conn: sqlite3.Connection, session_id: int,
           since: int = 0) -> list[tuple[int, float, float]]:
    return [tuple(r) for r in conn.execute(
        "SELECT iteration, loss_a, loss_b FROM losses WHERE session_id = ? AND iteration > ?"
        " ORDER BY iteration", (session_id, since))]


def recent_losses(conn: sqlite3.Connection, session_id: int,
                  count: int) -> list[tuple[int, float, float]]:
    """The newest `count` loss rows, oldest first."""
    rows = conn.execute("SELECT iteration, loss_a, loss_b FROM losses WHERE session_id = ?"
                        " ORDER BY iteration DESC LIMIT ?", (session_id, count)).fetchall()
    return [tuple(r) for r in reversed(rows)]


def add_checkpoint(conn: sqlite3.Connection, session_id: int, kind: str, iteration: int,
                   path: str, sha256: str, loss_a: float | None, loss_b: float | None) -> int:
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}")
    with write(conn):
        return conn.execute(
            "INSERT INTO checkpoints (session_id, kind, iteration, path, sha256, loss_a, loss_b,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, kind, iteration, path, sha256, loss_a, loss_b, time.time())).lastrowid


def drop_checkpoints(conn: sqlite3.Connection, checkpoint_ids: Iterable[int]) -> None:
    with write(conn):
        conn.executemany("DELETE FROM checkpoints WHERE id = ?", [(i,) for i in checkpoint_ids])


def checkpoints(conn: sqlite3.Connection, session_id: int, kind: str | None = None, *,
                archived: bool = False) -> list[Checkpoint]:
    """The session's live checkpoints (with `archived`, the archived ones as well), newest
    first."""
    sql = "SELECT * FROM checkpoints WHERE session_id = ?"
    args: list[Any] = [session_id]
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    if not archived:
        sql += " AND archive_id IS NULL"
    return [_checkpoint(r) for r in conn.execute(sql + " ORDER BY iteration DESC, id DESC", args)]


def checkpoint(conn: sqlite3.Connection, checkpoint_id: int) -> Checkpoint:
    row = conn.execute("SELECT * FROM checkpoints WHERE id = ?", (checkpoint_id,)).fetchone()
    if row is None:
        raise SessionError(f"no checkpoint {checkpoint_id}")
    return _checkpoint(row)


def _checkpoint(row: sqlite3.Row) -> Checkpoint:
    return Checkpoint(row["id"], row["session_id"], row["kind"], row["iteration"], row["path"],
                      row["sha256"], row["loss_a"], row["loss_b"], row["created_at"],
                      row["archive_id"])


def add_preview(conn: sqlite3.Connection, session_id: int, iteration: int, fmt: str,
                data: bytes) -> None:
    with write(conn):
        conn.execute("INSERT OR REPLACE INTO previews (session_id, iteration, created_at, format,"
                     " data) VALUES (?, ?, ?, ?, ?)",
                     (session_id, iteration, time.time(), fmt, data))


def preview_iterations(conn: sqlite3.Connection, session_id: int) -> list[int]:
    """The timelapse: every preview's iteration, oldest first."""
    return [r[0] for r in conn.execute("SELECT iteration FROM previews WHERE session_id = ?"
                                       " ORDER BY iteration", (session_id,))]


def preview(conn: sqlite3.Connection, session_id: int,
            iteration: int | None = None) -> tuple[int, bytes] | None:
    """(iteration, image bytes) of a preview: the newest unless an iteration is given."""
    if iteration is None:
        row = conn.execute("SELECT iteration, data FROM previews WHERE session_id = ?"
                           " ORDER BY iteration DESC LIMIT 1", (session_id,)).fetchone()
    else:
        row = conn.execute("SELECT iteration, data FROM previews WHERE session_id = ? AND"
                           " iteration = ?", (session_id, iteration)).fetchone()
    return None if row is None else (row[0], row[1])


def record_metrics(conn: sqlite3.Connection, session_id: int, metrics: SwapMetrics) -> None:
    with write(conn):
        conn.execute("INSERT OR REPLACE INTO swap_metrics (session_id, iteration, faces,"
                     " identity_a, identity_b, pose_error, expression_error)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (session_id, metrics.iteration, metrics.faces, metrics.identity_a,
                      metrics.identity_b, metrics.pose_error, metrics.expression_error))


def metrics(conn: sqlite3.Connection, session_id: int) -> list[SwapMetrics]:
    return [SwapMetrics(*r) for r in conn.execute(
        "SELECT iteration, faces, identity_a, identity_b, pose_error, expression_error"
        " FROM swap_metrics WHERE session_id = ? ORDER BY iteration", (session_id,))]
