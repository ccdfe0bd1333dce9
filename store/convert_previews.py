"""Before / after pictures of one frame, made by `convert_preview` jobs for the Convert
screen; only the newest few are kept."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from store.schema.connection import write

KEEP = 8


@dataclass(frozen=True)
class Preview:
    job_id: int
    created_at: float
    frame: int
    swapped: int       # faces swapped in the frame
    format: str
    before: bytes
    after: bytes


def save(conn: sqlite3.Connection, job_id: int, frame: int, swapped: int, before: bytes,
         after: bytes, image_format: str = "png") -> None:
    with write(conn):
        conn.execute("INSERT OR REPLACE INTO convert_previews VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (job_id, time.time(), frame, swapped, image_format, before, after))
        conn.execute("DELETE FROM convert_previews WHERE job_id NOT IN (SELECT job_id FROM"
                     " convert_previews ORDER BY job_id DESC LIMIT ?)", (KEEP,))


def get(conn: sqlite3.Connection, job_id: int) -> Preview | None:
    row = conn.execute("SELECT * FROM convert_previews WHERE job_id = ?", (job_id,)).fetchone()
    return Preview(*row) if row is not None else None
