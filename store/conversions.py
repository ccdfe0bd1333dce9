"""Provenance records of converted outputs: the source and model they were made from (with
their hashes), the settings, and the mark their pixels carry.

A record is made when a convert job starts, so its id can go into the output's metadata; it
is finished when the output is under its final name and dropped if the job fails. A job that
is run again after a crash takes over its own unfinished record instead of adding one.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from store import settings
from store.schema.connection import write


@dataclass(frozen=True)
class Conversion:
    id: int
    job_id: int | None
    session_id: int | None
    session_name: str
    source_id: int | None
    source_path: str
    source_sha256: str
    checkpoint_iteration: int
    model_sha256: str
    settings: dict[str, Any]
    output: str
    mark: str
    started_at: float
    finished_at: float | None
    frames: int | None
    swapped: int | None


def _conversion(row: sqlite3.Row) -> Conversion:
    data = dict(row)
    data["settings"] = json.loads(data["settings"])
    return Conversion(**data)


def project_uuid(conn: sqlite3.Connection) -> str:
    return settings.get(conn, "project_uuid")


def start(conn: sqlite3.Connection, *, job_id: int | None, session_id: int, session_name: str,
          source_id: int, source_path: str, source_sha256: str, checkpoint_iteration: int,
          model_sha256: str, settings_used: dict[str, Any], output: str, mark: str) -> int:
    """The record's id: a new one, or the unfinished one this job made before a crash."""
    with write(conn):
        if job_id is not None:
            row = conn.execute("SELECT id FROM conversions WHERE job_id = ? AND finished_at IS"
                               " NULL", (job_id,)).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE conversions SET checkpoint_iteration = ?, model_sha256 = ?,"
                    " settings = ?, output = ?, mark = ?, started_at = ? WHERE id = ?",
                    (checkpoint_iteration, model_sha256, json.dumps(settings_used), output,
                     mark, time.time(), row[0]))
                return row[0]
        return conn.execute(
            "INSERT INTO conversions (job_id, session_id, session_name, source_id, source_path,"
            " source_sha256, checkpoint_iteration, model_sha256, settings, output, mark,"
            " started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, session_id, session_name, source_id, source_path, source_sha256,
             checkpoint_iteration, model_sha256, json.dumps(settings_used), output, mark,
             time.time())).lastrowid


def unfinished_output(conn: sqlite3.Connection, job_id: int) -> str | None:
    """The output of this job's unfinished record: a job killed between its output's rename
    and its record's finish may write that output again."""
    row = conn.execute("SELECT output FROM conversions WHERE job_id = ? AND finished_at IS NULL",
                       (job_id,)).fetchone()
    return row[0] if row is not None else None


def finish(conn: sqlite3.Connection, conversion_id: int, frames: int, swapped: int) -> None:
    with write(conn):
        conn.execute("UPDATE conversions SET finished_at = ?, frames = ?, swapped = ?"
                     " WHERE id = ?", (time.time(), frames, swapped, conversion_id))


def drop(conn: sqlite3.Connection, conversion_id: int) -> None:
    """Forget the record of an output that was never written."""
    with write(conn):
        conn.execute("DELETE FROM conversions WHERE id = ? AND finished_at IS NULL",
                     (conversion_id,))


def get(conn: sqlite3.Connection, conversion_id: int) -> Conversion | None:
    row = conn.execute("SELECT * FROM conversions WHERE id = ?", (conversion_id,)).fetchone()
    return _conversion(row) if row is not None else None


def finished(conn: sqlite3.Connection, *, mark: str | None = None) -> list[Conversion]:
    """The finished conversions, newest first; with `mark`, those whose pixels carry it."""
    sql = "SELECT * FROM conversions WHERE finished_at IS NOT NULL"
    args: tuple = ()
    if mark is not None:
        sql += " AND mark = ?"
        args = (mark,)
    return [_conversion(row) for row in conn.execute(sql + " ORDER BY id DESC", args)]
