"""Delete a session: its rows and its model files.

The session's folder is renamed aside inside the transaction that deletes its rows (and
renamed back if the transaction fails), then removed. A crash after the commit leaves only
a `deleted-*` folder, which the next deletion sweeps away; a new session that happens to
get the same id never finds the old files in its folder. Removal goes through
`store.files.contained`: a session folder that is a symlink leading out of the project (a crafted
or carelessly copied project) is removed as a link, and what it points to is never touched.
"""
from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from store import sessions
from store.schema.connection import write
from store.files.contained import UnsafePathError, inside, remove_tree_contained
from store.files.session_files import session_folder
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
    try:
        inside(models.parent, models, where="the models folder")
    except UnsafePathError as exc:
        raise DeleteError(str(exc)) from None
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
        _remove(models, aside)
    sweep(models)
    return Deleted(session, files, size, losses)


def sweep(models: Path) -> None:
    """Remove what deletions interrupted by a crash left behind."""
    if models.is_dir():
        for leftover in models.glob(f"{DELETED_PREFIX}*"):
            _remove(models, leftover)


def _remove(models: Path, folder: Path) -> None:
    """Remove a deleted session's folder (a symlink as a link); what fails now, the next
    sweep tries again."""
    try:
        remove_tree_contained(models.parent, folder, where="a deleted session's folder")
    except OSError:
        pass


def _measure(folder: Path) -> tuple[int, int]:
    """Files and bytes the deletion frees; symlinks are not followed (a folder that is one
    frees nothing: only its link goes)."""
    if folder.is_symlink() or not folder.is_dir():
        return 0, 0
    sizes = [os.lstat(os.path.join(top, name)).st_size
             for top, _, names in os.walk(folder) for name in names
             if not os.path.islink(os.path.join(top, name))]
    return len(sizes), sum(sizes)
