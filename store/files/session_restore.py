"""Restore a session to one of its backups or snapshots, archiving what came after it.

Nothing is overwritten or deleted. The checkpoints newer than the restored one keep their
files and rows, marked with a new archive; the losses, swap metrics and previews past the
restored iteration move to the archived_* tables. The next run then continues from the
restored checkpoint, the newest live one.

A checkpoint of the newest archive can itself be restored (an undo): what was trained
since is archived in turn, and the archive's history up to that checkpoint comes back.
Older archives are kept for reference only, since the live history they branched from
has changed since.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from store import sessions
from store.schema.connection import write
from store.files.session_files import FileState, describe, verify
from store.sessions import Checkpoint, Session

# live table -> its archived twin, with the columns both have
_HISTORY = {
    "losses": ("archived_losses", "iteration, loss_a, loss_b"),
    "swap_metrics": ("archived_swap_metrics",
                     "iteration, faces, identity_a, identity_b, pose_error, expression_error"),
    "previews": ("archived_previews", "iteration, created_at, format, data"),
}


class RestoreError(ValueError):
    """A restore that cannot be done; the message is one line."""


@dataclass(frozen=True)
class Archive:
    id: int
    session_id: int
    created_at: float
    iteration: int       # where the session stood when it was archived
    restored_to: int     # the iteration the session went back to
    reason: str


@dataclass(frozen=True)
class Restored:
    checkpoint: Checkpoint
    archive: Archive
    archived_checkpoints: int
    archived_losses: int


def archives(conn: sqlite3.Connection, session_id: int) -> list[Archive]:
    """Newest first."""
    return [Archive(*row) for row in conn.execute(
        "SELECT id, session_id, created_at, iteration, restored_to, reason FROM"
        " session_archives WHERE session_id = ? ORDER BY id DESC", (session_id,))]


def restorable(conn: sqlite3.Connection, checkpoint: Checkpoint) -> str | None:
    """Why `checkpoint` cannot be restored, or None when it can (its file is not read)."""
    if checkpoint.archive_id is None:
        return None
    newest = archives(conn, checkpoint.session_id)
    if newest and newest[0].id == checkpoint.archive_id:
        return None
    return (f"the {checkpoint.label} belongs to an older archive (#{checkpoint.archive_id}); "
            "only the newest archive's checkpoints can be restored")


@dataclass(frozen=True)
class Plan:
    """What restoring a checkpoint will do, found without reading its file."""
    checkpoint: Checkpoint
    after: int                         # the live history past this iteration is archived
    archived: tuple[Checkpoint, ...]   # the live checkpoints it archives, newest first
    losses: int                        # the live loss rows it archives


def plan(conn: sqlite3.Connection, session: Session, checkpoint_id: int) -> Plan:
    """What restoring checkpoint `checkpoint_id` would archive; raises RestoreError for
    what can be refused before its file is read."""
    try:
        chosen = sessions.checkpoint(conn, checkpoint_id)
    except sessions.SessionError as exc:
        raise RestoreError(str(exc)) from None
    if chosen.session_id != session.id:
        raise RestoreError(f"checkpoint {checkpoint_id} belongs to another session")
    _refuse_if_training(conn, session)
    if (why := restorable(conn, chosen)) is not None:
        raise RestoreError(why)
    live = sessions.checkpoints(conn, session.id)
    if chosen.archive_id is None and chosen.iteration == session.iteration and not any(
            other.iteration >= chosen.iteration and other.id != chosen.id for other in live):
        raise RestoreError(f"session {session.name} is at the {chosen.label} already")
    # undoing a restore archives what was trained since the archive's branch point
    after = (chosen.iteration if chosen.archive_id is None else conn.execute(
        "SELECT restored_to FROM session_archives WHERE id = ?",
        (chosen.archive_id,)).fetchone()[0])
    # the others at the chosen iteration too, so the chosen one is the newest
    archived = tuple(c for c in live if c.iteration > after
                     or (c.iteration == chosen.iteration and c.id != chosen.id))
    losses = conn.execute("SELECT COUNT(*) FROM losses WHERE session_id = ? AND iteration > ?",
                          (session.id, after)).fetchone()[0]
    return Plan(chosen, after, archived, losses)


def restore(conn: sqlite3.Connection, models: Path, session: Session, checkpoint_id: int,
            on_chunk: Callable[[int], None] | None = None) -> Restored:
    """Make checkpoint `checkpoint_id` the session's newest, after checking its file's hash."""
    chosen = plan(conn, session, checkpoint_id).checkpoint
    state = verify(models, chosen, on_chunk)
    if state is not FileState.OK:
        raise RestoreError(f"{describe(state, chosen)}: choose another checkpoint")
    with write(conn):
        # planned again inside the transaction: a train job may have started meanwhile
        planned = plan(conn, session, checkpoint_id)
        if planned.checkpoint != chosen:
            raise RestoreError(f"the {chosen.label} changed while its file was checked: try "
                               "again")
        current = conn.execute("SELECT iteration FROM sessions WHERE id = ?",
                               (session.id,)).fetchone()[0]
        archive_id = conn.execute(
            "INSERT INTO session_archives (session_id, created_at, iteration, restored_to,"
            " reason) VALUES (?, ?, ?, ?, ?)",
            (session.id, time.time(), current, chosen.iteration,
             f"restored to the {chosen.label}")).lastrowid
        conn.executemany("UPDATE checkpoints SET archive_id = ? WHERE id = ?",
                         [(archive_id, c.id) for c in planned.archived])
        moved_losses = _archive_history(conn, session.id, archive_id, planned.after)
        if chosen.archive_id is not None:
            _bring_back(conn, session.id, chosen.archive_id, chosen.iteration)
        conn.execute("UPDATE sessions SET iteration = ? WHERE id = ?",
                     (chosen.iteration, session.id))
    archive = next(a for a in archives(conn, session.id) if a.id == archive_id)
    return Restored(sessions.checkpoint(conn, checkpoint_id), archive, len(planned.archived),
                    moved_losses)


def _refuse_if_training(conn: sqlite3.Connection, session: Session) -> None:
    if (job_id := sessions.active_job(conn, session.id)) is not None:
        raise RestoreError(f"session {session.name} has train job {job_id} queued or running: "
                           "stop it first")


def _archive_history(conn: sqlite3.Connection, session_id: int, archive_id: int,
                     after: int) -> int:
    """Move the live rows past `after` into the archive; returns how many losses moved."""
    moved = 0
    for live, (archived, columns) in _HISTORY.items():
        conn.execute(f"INSERT INTO {archived} (archive_id, {columns}) SELECT ?, {columns}"
                     f" FROM {live} WHERE session_id = ? AND iteration > ?",
                     (archive_id, session_id, after))
        count = conn.execute(f"DELETE FROM {live} WHERE session_id = ? AND iteration > ?",
                             (session_id, after)).rowcount
        moved = count if live == "losses" else moved
    return moved


def _bring_back(conn: sqlite3.Connection, session_id: int, archive_id: int,
                up_to: int) -> None:
    """Make an archive's checkpoints and rows up to `up_to` live again."""
    conn.execute("UPDATE checkpoints SET archive_id = NULL WHERE archive_id = ?"
                 " AND iteration <= ?", (archive_id, up_to))
    for live, (archived, columns) in _HISTORY.items():
        conn.execute(f"INSERT INTO {live} (session_id, {columns}) SELECT ?, {columns}"
                     f" FROM {archived} WHERE archive_id = ? AND iteration <= ?",
                     (session_id, archive_id, up_to))
        conn.execute(f"DELETE FROM {archived} WHERE archive_id = ? AND iteration <= ?",
                     (archive_id, up_to))
