"""What benchmarks/torture.py checks after each kill: the store is whole, every row committed
before the kill is still there, nothing is doubled, no file is left over, and every
checkpoint's file matches its hash.

The checks read the store with plain SQL (not the store's functions) so that they judge the
store's code rather than trust it.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.atomic_files import pid_alive, writer_of
from store.schema.connection import integrity_check
from store.files.contained import UnsafePathError, contained
from store.files.session_files import file_sha256

CHECKPOINT_FOLDERS = ("saves", "snapshots", "backups")


@dataclass
class Findings:
    """What one check found, by table column of the torture table."""
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    def add(self, other: Findings) -> None:
        self.lost += other.lost
        self.duplicates += other.duplicates
        self.leftovers += other.leftovers

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.leftovers)

    def lines_raw(self) -> list[str]:
        return self.lost + self.duplicates + self.leftovers

    def lines(self) -> list[str]:
        return ([f"lost: {x}" for x in self.lost] + [f"duplicate: {x}" for x in self.duplicates]
                + [f"leftover: {x}" for x in self.leftovers])


# ---- committed rows ----------------------------------------------------------------------

def _newest_checkpoints(conn: sqlite3.Connection) -> dict[int, int]:
    """session id -> iteration of its newest live checkpoint: what a resume continues from,
    so what is recorded up to it is committed (later losses are redone by the resume)."""
    return {session: iteration for session, iteration in conn.execute(
        "SELECT session_id, MAX(iteration) FROM checkpoints WHERE archive_id IS NULL"
        " GROUP BY session_id")}


def snapshot(conn: sqlite3.Connection) -> dict[str, set[tuple]]:
    """The rows of finished work, by kind: each must survive every later kill."""
    saved = _newest_checkpoints(conn)

    def up_to_save(table: str, columns: str) -> set[tuple]:
        return {row for row in conn.execute(f"SELECT session_id, iteration, {columns} FROM {table}")
                if row[1] <= saved.get(row[0], -1)}

    return {
        "sources": set(conn.execute(
            "SELECT id, path, hash, frame_count FROM sources WHERE status = 'ready'")),
        "frames": set(conn.execute(
            "SELECT f.id, f.source_id, f.idx FROM frames f JOIN sources s ON s.id = f.source_id"
            " WHERE s.status = 'ready'")),
        "processed frames": set(conn.execute("SELECT id FROM frames WHERE processed = 1")),
        "faces": set(conn.execute(
            "SELECT id, frame_id, face_idx, round(x0, 2), round(y0, 2), round(x1, 2),"
            " round(y1, 2) FROM faces")),
        "face images": set(conn.execute("SELECT face_id, length(data) FROM face_images")),
        "embeddings": set(conn.execute("SELECT face_id, model FROM embeddings")),
        "cluster runs": set(conn.execute("SELECT id, job_id, faces FROM cluster_runs")),
        "losses": up_to_save("losses", "loss_a, loss_b"),
        "previews": up_to_save("previews", "length(data)"),
        "checkpoints": set(conn.execute(
            "SELECT id, session_id, kind, iteration, path, sha256 FROM checkpoints")),
        "session runs": set(conn.execute(
            "SELECT id, session_id, start_iteration FROM session_runs")),
        "conversions": set(conn.execute(
            "SELECT id, job_id, output, frames FROM conversions WHERE finished_at IS NOT NULL")),
        "events": set(conn.execute("SELECT id, job_id, message FROM events")),
        "finished jobs": set(conn.execute(
            "SELECT id, kind, status FROM jobs WHERE status IN (2, 3, 4)")),
    }


def lost_rows(before: dict[str, set[tuple]], after: dict[str, set[tuple]]) -> list[str]:
    """Rows of `before` missing from `after`; a save or backup replaced by a newer one of its
    session and kind is not lost (the keeper keeps the newest few)."""
    lost = []
    for kind, rows in before.items():
        missing = rows - after[kind]
        if kind == "checkpoints":
            newer = {(session, kind_, iteration) for _, session, kind_, iteration, _, _
                     in after["checkpoints"]}
            missing = {row for row in missing if row[2] == "snapshot" or not any(
                s == row[1] and k == row[2] and i > row[3] for s, k, i in newer)}
        lost += [f"{kind} row {row}" for row in sorted(missing, key=repr)[:5]]
        if len(missing) > 5:
            lost.append(f"... and {len(missing) - 5} more {kind} rows")
    return lost


# ---- duplicates ----------------------------------------------------------------------------

DUPLICATE_QUERIES = {
    "faces (source, frame, box)":
        """SELECT f.source_id, fr.idx, round(f.x0), round(f.y0), round(f.x1), round(f.y1),
                  COUNT(*) FROM faces f JOIN frames fr ON fr.id = f.frame_id
           GROUP BY 1, 2, 3, 4, 5, 6 HAVING COUNT(*) > 1""",
    "sources (path)":
        "SELECT path, COUNT(*) FROM sources GROUP BY path HAVING COUNT(*) > 1",
    "checkpoints (session, kind, iteration)":
        """SELECT session_id, kind, iteration, COUNT(*) FROM checkpoints
           WHERE archive_id IS NULL GROUP BY 1, 2, 3 HAVING COUNT(*) > 1""",
    "losses (session, iteration)":
        "SELECT session_id, iteration, COUNT(*) FROM losses GROUP BY 1, 2 HAVING COUNT(*) > 1",
    "cluster runs (job)":
        """SELECT job_id, COUNT(*) FROM cluster_runs WHERE job_id IS NOT NULL
           GROUP BY job_id HAVING COUNT(*) > 1""",
    "conversions (job)":
        """SELECT job_id, COUNT(*) FROM conversions WHERE job_id IS NOT NULL
           GROUP BY job_id HAVING COUNT(*) > 1""",
}


def duplicates(conn: sqlite3.Connection) -> list[str]:
    found = []
    for what, sql in DUPLICATE_QUERIES.items():
        found += [f"{what}: {tuple(row)}" for row in conn.execute(sql)]
    return found


# ---- files ----------------------------------------------------------------------------------

def checkpoint_files(conn: sqlite3.Connection, models: Path) -> list[str]:
    """Checkpoint rows whose file is missing or differs from its recorded sha256."""
    bad = []
    for row_id, session, path, sha in conn.execute(
            "SELECT id, session_id, path, sha256 FROM checkpoints"):
        try:
            file = contained(models.parent, path, where=f"checkpoints row {row_id}",
                             base=f"models/{session}")
            digest = file_sha256(file)
        except (OSError, UnsafePathError) as exc:
            bad.append(f"checkpoint {row_id} ({path}): {exc}")
            continue
        if digest != sha:
            bad.append(f"checkpoint {row_id} ({path}): its file's sha256 differs from the row")
    return bad


def dead_temps(folders: Iterable[Path]) -> list[str]:
    """Temporary files under `folders` whose writer is gone (or unknown): what a worker's
    start should have swept. Those of live processes are being written."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            name = writer_of(path.name)
            if name is not None and path.is_file() and (name.pid is None
                                                        or not pid_alive(name.pid)):
                found.append(f"temp file {path}")
            elif path.name.endswith(".part") and path.is_file():
                found.append(f"partial file {path}")
    return found


def orphan_model_files(conn: sqlite3.Connection, models: Path) -> list[str]:
    """Files in a session's checkpoint folders that no checkpoints row names."""
    known = {(str(session), path) for session, path in conn.execute(
        "SELECT session_id, path FROM checkpoints")}
    orphans = []
    for folder in sorted(models.glob("*")):
        for kind in CHECKPOINT_FOLDERS:
            for path in sorted((folder / kind).glob("*")):
                relative = f"{kind}/{path.name}"
                if writer_of(path.name) is None and (folder.name, relative) not in known:
                    orphans.append(f"model file without a checkpoints row: {path}")
    return orphans


def half_done_rows(conn: sqlite3.Connection) -> list[str]:
    """Rows an interrupted job left half done, once every job has finished."""
    return ([f"source {row[0]} still 'ingesting' ({row[1]})" for row in conn.execute(
                "SELECT id, path FROM sources WHERE status = 'ingesting'")]
            + [f"conversion {row[0]} never finished ({row[1]})" for row in conn.execute(
                "SELECT id, output FROM conversions WHERE finished_at IS NULL")])


def quiet_checks(conn: sqlite3.Connection, models: Path,
                 before: dict[str, set[tuple]] | None) -> tuple[Findings, dict[str, set[tuple]]]:
    """Everything that can be judged while no worker runs: the store's integrity, rows lost
    since `before`, duplicates and checkpoint hashes. Returns the findings and the new
    snapshot to hold the next kill to."""
    findings = Findings()
    verdict = integrity_check(conn)
    if verdict != "ok":
        findings.lost.append(f"PRAGMA integrity_check: {verdict}")
    now = snapshot(conn)
    if before is not None:
        findings.lost += lost_rows(before, now)
    findings.duplicates += duplicates(conn)
    findings.lost += checkpoint_files(conn, models)
    return findings, now
