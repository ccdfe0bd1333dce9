"""What the Analysis screen and `swapdeck sessions` / `session show` say about sessions.

Read in one go, cheaply: the files are looked at with the quick header check only
(store/files/session_files.py), so listing sessions never reads a gigabyte of weights.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from store import jobs, sessions
from store.jobs import Job, JobStatus
from store.files.session_files import FileState, checkpoint_state, describe
from store.files.session_restore import Archive, archives, restorable
from store.sessions import Checkpoint, Run, Session, SwapMetrics
from store.views.training_figures import Progress, progress, read_together


@dataclass(frozen=True)
class Health:
    """Whether the session can resume, and if not, why and what to restore instead."""
    problem: str | None            # None: the newest checkpoint is there and whole
    offer: Checkpoint | None       # the newest restorable checkpoint that looks whole

    @property
    def resumable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class SessionRow:
    session: Session
    runs: int
    last_run: Run | None
    job: Job | None
    health: Health

    @property
    def status(self) -> str:
        if self.job is not None:
            return f"{'training' if self.job.status == JobStatus.RUNNING else 'queued'} " \
                   f"(job {self.job.id})"
        if not self.health.resumable:
            return "model files missing or damaged"
        if self.last_run is None:
            return "not trained yet"
        if self.last_run.ended_at is None:
            return "killed (resumes from its last save)"
        return self.last_run.end_reason or "ended"


@dataclass(frozen=True)
class CheckpointState:
    checkpoint: Checkpoint
    state: FileState
    restore_refusal: str | None    # why it cannot be restored, None when it can


@dataclass(frozen=True)
class PreviewImage:
    session_id: int
    iteration: int
    png: bytes


@dataclass(frozen=True)
class SessionDetail:
    row: SessionRow
    runs: tuple[Run, ...]
    checkpoints: tuple[CheckpointState, ...]   # live newest first, then archived
    archives: tuple[Archive, ...]
    metrics: tuple[SwapMetrics, ...]
    preview_iterations: tuple[int, ...]
    failed_job: Job | None         # the newest train job of the session, when it failed
    progress: Progress             # its iteration and speed, as the Train screen shows them

    @property
    def session(self) -> Session:
        return self.row.session

    @property
    def read_at(self) -> float:
        """The `now` of its figures: an open run's elapsed time and speed are as of then."""
        return self.progress.read_at


def list_rows(conn: sqlite3.Connection, models: Path) -> list[SessionRow]:
    counts = dict(conn.execute("SELECT session_id, COUNT(*) FROM session_runs"
                               " GROUP BY session_id").fetchall())
    return [_row(conn, models, session, counts.get(session.id, 0),
                 sessions.last_run(conn, session.id))
            for session in sessions.list_sessions(conn)]


def read_detail(conn: sqlite3.Connection, models: Path, session_id: int) -> SessionDetail:
    with read_together(conn):
        return _read_detail(conn, models, session_id)


def _read_detail(conn: sqlite3.Connection, models: Path, session_id: int) -> SessionDetail:
    session = sessions.get(conn, session_id)
    runs = sessions.runs(conn, session_id)
    row = _row(conn, models, session, len(runs), runs[-1] if runs else None)
    states = [CheckpointState(c, checkpoint_state(models, c), restorable(conn, c))
              for c in sorted(sessions.checkpoints(conn, session_id, archived=True),
                              key=_checkpoint_order)]
    return SessionDetail(row, tuple(runs), tuple(states), tuple(archives(conn, session_id)),
                         tuple(sessions.metrics(conn, session_id)),
                         tuple(sessions.preview_iterations(conn, session_id)),
                         _failed(latest_train_job(conn, session_id)),
                         progress(session, row.last_run, row.job, time.time()))


def rows_and_detail(conn: sqlite3.Connection, models: Path, session_id: int | None
                    ) -> tuple[list[SessionRow], SessionDetail | None]:
    """Every session's row, and the detail of the chosen one; of the first when the chosen
    one is gone (or none was chosen); None when there is no session."""
    with read_together(conn):
        rows = list_rows(conn, models)
        ids = [row.session.id for row in rows]
        if session_id not in ids:
            session_id = ids[0] if ids else None
        return rows, read_detail(conn, models, session_id) if session_id is not None else None


def latest_train_job(conn: sqlite3.Connection, session_id: int) -> Job | None:
    """The session's newest train job, whatever its status: a resume's, or the one that made
    the session."""
    row = conn.execute(
        "SELECT j.id FROM jobs j, sessions s WHERE s.id = ? AND j.kind = 'train'"
        " AND (json_extract(j.params, '$.session_id') = s.id OR j.id = s.created_by_job)"
        " ORDER BY j.id DESC LIMIT 1", (session_id,)).fetchone()
    return None if row is None else jobs.get(conn, row[0])


def read_preview(conn: sqlite3.Connection, session_id: int,
                 iteration: int) -> PreviewImage | None:
    """One preview of the session's timelapse, None when it is gone (restored away)."""
    found = sessions.preview(conn, session_id, iteration)
    return None if found is None else PreviewImage(session_id, *found)


def health(conn: sqlite3.Connection, models: Path, session: Session) -> Health:
    """The newest live checkpoint (the one a resume loads) must be there and whole."""
    live = sorted(sessions.checkpoints(conn, session.id), key=_checkpoint_order)
    if live:
        newest = live[0]
        state = checkpoint_state(models, newest)
        if state is FileState.OK:
            return Health(None, None)
        problem = f"{describe(state, newest)}: resume would not start from it"
    elif session.iteration > 0:
        problem = (f"session {session.name} is at iteration {session.iteration:,} but has no "
                   "model files")
    else:
        return Health(None, None)
    candidates = sorted(sessions.checkpoints(conn, session.id, archived=True),
                        key=_checkpoint_order)
    offer = next((c for c in candidates if (not live or c.id != live[0].id)
                  and restorable(conn, c) is None
                  and checkpoint_state(models, c) is FileState.OK), None)
    advice = (f"; restore the {offer.label} (checkpoint {offer.id})" if offer is not None
              else "; no whole checkpoint is left to restore")
    return Health(problem + advice, offer)


def _row(conn: sqlite3.Connection, models: Path, session: Session, runs: int,
         last_run: Run | None) -> SessionRow:
    job_id = sessions.active_job(conn, session.id)
    return SessionRow(session, runs, last_run,
                      jobs.get(conn, job_id) if job_id is not None else None,
                      health(conn, models, session))


def _failed(job: Job | None) -> Job | None:
    return job if job is not None and job.status == JobStatus.FAILED else None


def _checkpoint_order(checkpoint: Checkpoint) -> tuple[bool, int, bool, int]:
    """Live before archived; newest first; a save before its copies, as a resume picks."""
    return (checkpoint.archive_id is not None, -checkpoint.iteration,
            checkpoint.kind != "save", -checkpoint.id)
