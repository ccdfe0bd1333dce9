"""Source media (videos, images, folders of images) and their frames."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from store.schema.connection import write

FRAME_BATCH = 500


@dataclass(frozen=True)
class MediaFacts:
    """What probing a source found out; written when its ingest completes."""
    hash: str
    width: int
    height: int
    fps: float | None
    variable_fps: bool
    frame_count: int
    duration: float | None
    rotation: int
    video_codec: str | None
    has_audio: bool
    audio_codec: str | None


@dataclass(frozen=True)
class FrameRow:
    idx: int
    pts: int | None
    time: float | None
    path: str | None = None


@dataclass(frozen=True)
class Source:
    id: int
    path: str
    label: str
    kind: str
    status: str
    size: int
    mtime_ns: int
    hash: str | None
    width: int | None
    height: int | None
    fps: float | None
    variable_fps: bool
    frame_count: int
    duration: float | None
    rotation: int
    video_codec: str | None
    has_audio: bool
    audio_codec: str | None
    added_at: float
    job_id: int | None

    @property
    def name(self) -> str:
        return self.label or Path(self.path).name

    def changed_on_disk(self) -> bool:
        """Whether the file's size or modification time differ from when it was added.

        For a folder, its own modification time (files added, removed or renamed).
        """
        try:
            stat = Path(self.path).stat()
        except OSError:
            return True
        if self.kind == "folder":
            return stat.st_mtime_ns != self.mtime_ns
        return stat.st_size != self.size or stat.st_mtime_ns != self.mtime_ns

    def to_json(self) -> dict:
        data = asdict(self)
        data["duration_s"] = data.pop("duration")
        data["variable_fps"] = self.variable_fps
        data["has_audio"] = self.has_audio
        return data


def _source_from_row(row: sqlite3.Row) -> Source:
    data = dict(row)
    data["variable_fps"] = bool(data["variable_fps"])
    data["has_audio"] = bool(data["has_audio"])
    return Source(**data)


class SourceNotFoundError(LookupError):
    pass


def get(conn: sqlite3.Connection, source_id: int) -> Source:
    row = conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
    if row is None:
        raise SourceNotFoundError(f"no source {source_id} in this project")
    return _source_from_row(row)


def find_by_path(conn: sqlite3.Connection, path: str) -> Source | None:
    row = conn.execute("SELECT * FROM sources WHERE path = ?", (path,)).fetchone()
    return _source_from_row(row) if row else None


def list_sources(conn: sqlite3.Connection, *, ready_only: bool = False) -> list[Source]:
    sql = "SELECT * FROM sources"
    if ready_only:
        sql += " WHERE status = 'ready'"
    return [_source_from_row(row) for row in conn.execute(sql + " ORDER BY id")]


def begin_ingest(conn: sqlite3.Connection, path: str, label: str, kind: str, size: int,
                 mtime_ns: int, job_id: int) -> int:
    """Create the source row (status 'ingesting'), dropping any half-done earlier attempt."""
    with write(conn):
        conn.execute("DELETE FROM sources WHERE path = ? AND status = 'ingesting'", (path,))
        cursor = conn.execute(
            """INSERT INTO sources (path, label, kind, size, mtime_ns, added_at, job_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (path, label, kind, size, mtime_ns, time.time(), job_id),
        )
    return int(cursor.lastrowid)


def add_frames(conn: sqlite3.Connection, source_id: int, frames: Iterable[FrameRow]) -> None:
    """Insert one batch of frames in one transaction (idempotent on (source, index))."""
    with write(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO frames (source_id, idx, pts, time, path) VALUES (?, ?, ?, ?, ?)",
            [(source_id, f.idx, f.pts, f.time, f.path) for f in frames],
        )


def complete_ingest(conn: sqlite3.Connection, source_id: int, facts: MediaFacts) -> None:
    """Record what probing found and mark the source ready, in one transaction."""
    with write(conn):
        stored = conn.execute("SELECT COUNT(*) FROM frames WHERE source_id = ?",
                              (source_id,)).fetchone()[0]
        if stored != facts.frame_count:
            raise RuntimeError(
                f"source {source_id}: {stored} frames stored but {facts.frame_count} probed"
            )
        conn.execute(
            """UPDATE sources SET status = 'ready', hash = ?, width = ?, height = ?, fps = ?,
                   variable_fps = ?, frame_count = ?, duration = ?, rotation = ?, video_codec = ?,
                   has_audio = ?, audio_codec = ?
               WHERE id = ?""",
            (facts.hash, facts.width, facts.height, facts.fps, int(facts.variable_fps),
             facts.frame_count, facts.duration, facts.rotation, facts.video_codec,
             int(facts.has_audio), facts.audio_codec, source_id),
        )


def redate(conn: sqlite3.Connection, source_id: int, mtime_ns: int) -> None:
    """Take a new modification time for a source whose content was checked unchanged."""
    with write(conn):
        conn.execute("UPDATE sources SET mtime_ns = ? WHERE id = ?", (mtime_ns, source_id))


def discard(conn: sqlite3.Connection, source_id: int) -> None:
    """Remove a source and its frames (used when an ingest fails: nothing half-written stays)."""
    with write(conn):
        conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))


def frame_count(conn: sqlite3.Connection, source_id: int) -> int:
    return conn.execute("SELECT COUNT(*) FROM frames WHERE source_id = ?", (source_id,)).fetchone()[0]


def frames(conn: sqlite3.Connection, source_id: int) -> list[FrameRow]:
    rows = conn.execute("SELECT idx, pts, time, path FROM frames WHERE source_id = ? ORDER BY idx",
                        (source_id,))
    return [FrameRow(row["idx"], row["pts"], row["time"], row["path"]) for row in rows]


def resolve(conn: sqlite3.Connection, reference: str) -> Source:
    """A source named by its id or by the path it was added from."""
    if reference.isdigit():
        return get(conn, int(reference))
    found = find_by_path(conn, str(Path(reference).expanduser().resolve()))
    if found is None:
        raise SourceNotFoundError(f"no source {reference} in this project (add it first with "
                                  "`swapdeck add`)")
    return found
