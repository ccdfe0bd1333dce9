"""Delete a session: its rows and its model files.

The session's folder is renamed aside inside the transaction that deletes its rows (and
renamed back if the transaction fails), then removed. A crash after the commit leaves only
a `deleted-*` folder, which the next deletion sweeps away; a new session that happens to
get the same id never finds the old files in its folder.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from store import sessions
from store.connection import write
from store.session_files import session_folder
from store.sessions import Session

DELETED_PREFIX = "deleted-"


class DeleteError(ValueError):
    """A deletion that cannot be done; the message is one line."""


@dataclass(frozen=True)
class Deleted:
    session: Session
    files: int
    bytes: int
    losses: int


def refusal(conn: sqlite3.Connection, session: Session) -> str | None:
    """Why the session cannot be deleted now, or None when it can."""
    if (job_id := sessions.active_job(conn, session.id)) is not None:
        return f"session {session.name} has train job {job_id} queued or running: stop it first"
    return None


def delete_session(conn: sqlite3.Connection, models: Path, session: Session) -> Deleted:
    folder = session_folder(models, session.id)
    aside = models / f"{DELETED_PREFIX}{session.id}-{secrets.token_hex(4)}"
    files, size = _measure(folder)
    moved = False
    try:
        with write(conn):
            if (why := refusal(conn, session)) is not None:
                raise DeleteError(why)
            losses = conn.execute("SELECT COUNT(*) FROM losses WHERE session_id = ?",
                                  (session.id,)).fetchone()[0]
            conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
            if folder.is_dir():
                os.replace(folder, aside)
                moved = True
    except BaseException:
        if moved:
            os.replace(aside, folder)
        raise
    # committed: only now is anything removed from the disk
    if moved:
        shutil.rmtree(aside, ignore_errors=True)
    sweep(models)
    return Deleted(session, files, size, losses)


def sweep(models: Path) -> None:
    """Remove what deletions interrupted by a crash left behind."""
    if models.is_dir():
        for leftover in models.glob(f"{DELETED_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _measure(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return len(files), sum(path.stat().st_size for path in files)
