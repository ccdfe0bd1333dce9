"""Numbered, named, append-only schema migrations, each applied with its record in one transaction.

Never edit a migration once released: add a new one at the end of MIGRATIONS.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from store.schema.connection import write


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


# The statements keep the indentation they had inside the function: it is part of the SQL
# this released migration runs.
_0001_INITIAL_SQL: tuple[str, ...] = (
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            status INTEGER NOT NULL DEFAULT 0,
            priority INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 3,
            worker_id INTEGER,
            created_at REAL NOT NULL,
            started_at REAL,
            heartbeat_at REAL,
            finished_at REAL,
            progress REAL NOT NULL DEFAULT 0,
            total REAL,
            message TEXT NOT NULL DEFAULT '',
            error TEXT,
            result TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX jobs_by_status ON jobs (status, priority DESC, id)",
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL CHECK (kind IN ('video', 'image', 'folder')),
            status TEXT NOT NULL DEFAULT 'ingesting' CHECK (status IN ('ingesting', 'ready')),
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            width INTEGER,
            height INTEGER,
            fps REAL,
            variable_fps INTEGER NOT NULL DEFAULT 0,
            frame_count INTEGER NOT NULL DEFAULT 0,
            duration REAL,
            rotation INTEGER NOT NULL DEFAULT 0,
            video_codec TEXT,
            has_audio INTEGER NOT NULL DEFAULT 0,
            audio_codec TEXT,
            added_at REAL NOT NULL,
            job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL
        )""",
        "CREATE UNIQUE INDEX sources_by_path ON sources (path)",
        """CREATE TABLE frames (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            pts INTEGER,
            time REAL,
            path TEXT,
            processed INTEGER NOT NULL DEFAULT 0,
            UNIQUE (source_id, idx)
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            level TEXT NOT NULL,
            origin TEXT NOT NULL,
            job_id INTEGER,
            message TEXT NOT NULL
        )""",
)


def _0001_initial(conn: sqlite3.Connection) -> None:
    for statement in _0001_INITIAL_SQL:
        conn.execute(statement)


def _0002_workers(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE workers (
            id INTEGER PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            kinds TEXT,
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL,
            stopped_at REAL,
            stop_requested INTEGER NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("CREATE INDEX workers_alive ON workers (stopped_at, heartbeat_at)")


def _0003_faces(conn: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE extractions (
            source_id INTEGER PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
            settings TEXT NOT NULL,
            job_id INTEGER,
            started_at REAL NOT NULL,
            finished_at REAL,
            frames_total INTEGER NOT NULL,
            frames_done INTEGER NOT NULL DEFAULT 0,
            faces INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE faces (
            id INTEGER PRIMARY KEY,
            frame_id INTEGER NOT NULL REFERENCES frames (id) ON DELETE CASCADE,
            source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            face_idx INTEGER NOT NULL,
            x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
            score REAL NOT NULL,
            landmarks BLOB NOT NULL,
            matrix BLOB NOT NULL,
            blur REAL NOT NULL,
            yaw REAL NOT NULL, pitch REAL NOT NULL, roll REAL NOT NULL,
            size REAL NOT NULL,
            rejected TEXT,
            filter_distance REAL,
            excluded INTEGER NOT NULL DEFAULT 0,
            identity_id INTEGER,
            UNIQUE (frame_id, face_idx)
        )""",
        "CREATE INDEX faces_by_source ON faces (source_id, frame_id)",
        """CREATE TABLE face_images (
            face_id INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
            size INTEGER NOT NULL,
            format TEXT NOT NULL,
            data BLOB NOT NULL
        )""",
        """CREATE TABLE face_thumbs (
            face_id INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
            format TEXT NOT NULL,
            data BLOB NOT NULL
        )""",
        """CREATE TABLE masks (
            face_id INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (face_id, kind)
        )""",
        """CREATE TABLE embeddings (
            face_id INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (face_id, model)
        )""",
    ):
        conn.execute(statement)


def _0004_identities(conn: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE identities (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            side TEXT CHECK (side IN ('A', 'B')),
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE cluster_runs (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            method TEXT NOT NULL,
            threshold REAL NOT NULL,
            source_ids TEXT NOT NULL,
            faces INTEGER NOT NULL,
            clusters INTEGER NOT NULL,
            job_id INTEGER
        )""",
        """CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            size INTEGER NOT NULL,
            centre BLOB NOT NULL,
            identity_id INTEGER REFERENCES identities (id) ON DELETE SET NULL,
            UNIQUE (run_id, idx)
        )""",
        """CREATE TABLE cluster_members (
            run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
            face_id INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
            cluster_id INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
            distance REAL NOT NULL,
            PRIMARY KEY (run_id, face_id)
        )""",
        "CREATE INDEX cluster_members_by_cluster ON cluster_members (cluster_id)",
        # A person chosen by hand for a face outlives every re-clustering.
        "ALTER TABLE faces ADD COLUMN identity_manual INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX faces_by_identity ON faces (identity_id)",
    ):
        conn.execute(statement)


def _0005_review(conn: sqlite3.Connection) -> None:
    for statement in (
        # The undo stack of the review: each action with the rows it changed, as they were.
        """CREATE TABLE review_actions (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            action TEXT NOT NULL,
            summary TEXT NOT NULL,
            undo TEXT NOT NULL,
            undone_at REAL
        )""",
        # Colour histograms of the thumbnails, and each face's place in the chain of
        # most similar histograms (faceswap's "hist" sort), made by the pipeline.
        """CREATE TABLE face_histograms (
            face_id INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
            bins BLOB NOT NULL
        )""",
        "ALTER TABLE faces ADD COLUMN hist_rank INTEGER",
    ):
        conn.execute(statement)


# Indented as _0001_INITIAL_SQL is, for the same reason.
_0006_TRAINING_SQL: tuple[str, ...] = (
        # A session: one model for one pair of people. Its model config is frozen at
        # creation; `settings` holds the per-run settings its newest run used.
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            model TEXT NOT NULL,
            config TEXT NOT NULL,
            identity_a INTEGER NOT NULL REFERENCES identities (id),
            identity_b INTEGER NOT NULL REFERENCES identities (id),
            settings TEXT NOT NULL,
            iteration INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE session_runs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            job_id INTEGER,
            started_at REAL NOT NULL,
            ended_at REAL,
            start_iteration INTEGER NOT NULL,
            end_iteration INTEGER NOT NULL,
            batch_size INTEGER NOT NULL,
            device TEXT NOT NULL,
            settings TEXT NOT NULL,
            rollbacks INTEGER NOT NULL DEFAULT 0,
            end_reason TEXT
        )""",
        "CREATE INDEX session_runs_by_session ON session_runs (session_id, started_at)",
        """CREATE TABLE losses (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            loss_a REAL NOT NULL,
            loss_b REAL NOT NULL,
            PRIMARY KEY (session_id, iteration)
        ) WITHOUT ROWID""",
        # Model files on disk (relative to the session's folder) with their sha256.
        """CREATE TABLE checkpoints (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('save', 'snapshot', 'backup')),
            iteration INTEGER NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            loss_a REAL,
            loss_b REAL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX checkpoints_by_session ON checkpoints (session_id, kind, iteration)",
        """CREATE TABLE previews (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            created_at REAL NOT NULL,
            format TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (session_id, iteration)
        )""",
        """CREATE TABLE swap_metrics (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            faces INTEGER NOT NULL,
            identity_a REAL,
            identity_b REAL,
            pose_error REAL,
            expression_error REAL,
            PRIMARY KEY (session_id, iteration)
        )""",
)


def _0006_training(conn: sqlite3.Connection) -> None:
    for statement in _0006_TRAINING_SQL:
        conn.execute(statement)


def _0007_training_control(conn: sqlite3.Connection) -> None:
    # created_by_job makes a new-session job idempotent: requeued after a crash, it finds
    # the session it made. save_requested_at is the TUI's and CLI's "save now" request.
    conn.execute("ALTER TABLE sessions ADD COLUMN created_by_job INTEGER")
    conn.execute("ALTER TABLE sessions ADD COLUMN save_requested_at REAL")


def _0008_session_archives(conn: sqlite3.Connection) -> None:
    for statement in (
        # A restore archives what the session had past the restored iteration: its newer
        # checkpoints keep their files and rows (marked with the archive), its losses,
        # metrics and previews move to the archived_* tables. Nothing is overwritten.
        """CREATE TABLE session_archives (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            iteration INTEGER NOT NULL,
            restored_to INTEGER NOT NULL,
            reason TEXT NOT NULL
        )""",
        "CREATE INDEX session_archives_by_session ON session_archives (session_id, id)",
        "ALTER TABLE checkpoints ADD COLUMN archive_id INTEGER"
        " REFERENCES session_archives (id) ON DELETE CASCADE",
        """CREATE TABLE archived_losses (
            archive_id INTEGER NOT NULL REFERENCES session_archives (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            loss_a REAL NOT NULL,
            loss_b REAL NOT NULL,
            PRIMARY KEY (archive_id, iteration)
        ) WITHOUT ROWID""",
        """CREATE TABLE archived_swap_metrics (
            archive_id INTEGER NOT NULL REFERENCES session_archives (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            faces INTEGER NOT NULL,
            identity_a REAL,
            identity_b REAL,
            pose_error REAL,
            expression_error REAL,
            PRIMARY KEY (archive_id, iteration)
        )""",
        """CREATE TABLE archived_previews (
            archive_id INTEGER NOT NULL REFERENCES session_archives (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            created_at REAL NOT NULL,
            format TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (archive_id, iteration)
        )""",
    ):
        conn.execute(statement)


def _0009_conversions(conn: sqlite3.Connection) -> None:
    for statement in (
        # The provenance of every converted output: what it was made from and with what.
        # `mark` is the payload its pixels carry (project tag and session).
        """CREATE TABLE conversions (
            id INTEGER PRIMARY KEY,
            job_id INTEGER,
            session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
            session_name TEXT NOT NULL,
            source_id INTEGER REFERENCES sources (id) ON DELETE SET NULL,
            source_path TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            checkpoint_iteration INTEGER NOT NULL,
            model_sha256 TEXT NOT NULL,
            settings TEXT NOT NULL,
            output TEXT NOT NULL,
            mark TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            frames INTEGER,
            swapped INTEGER
        )""",
        "CREATE INDEX conversions_by_session ON conversions (session_id)",
        # The Convert screen's before / after pictures of one frame, made by preview jobs.
        """CREATE TABLE convert_previews (
            job_id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            frame INTEGER NOT NULL,
            swapped INTEGER NOT NULL,
            format TEXT NOT NULL,
            before BLOB NOT NULL,
            after BLOB NOT NULL
        )""",
        # A random id of this project, from which the watermark's project tag is made.
        "INSERT OR IGNORE INTO settings (key, value) VALUES ('project_uuid', '\"' ||"
        " lower(hex(randomblob(16))) || '\"')",
    ):
        conn.execute(statement)


def _0010_lr_sweeps(conn: sqlite3.Connection) -> None:
    for statement in (
        # Learning-rate sweeps of a session (the lr_find job). `points` holds the
        # (learning rate, smoothed loss) of each step run as little-endian float32 pairs;
        # `stop_reason` says why it stopped before its last step (NULL: it did not);
        # `suggested` is NULL when no rate could be picked.
        """CREATE TABLE lr_sweeps (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            job_id INTEGER UNIQUE,
            created_at REAL NOT NULL,
            iterations INTEGER NOT NULL,
            steps INTEGER NOT NULL,
            strength TEXT NOT NULL,
            points BLOB NOT NULL,
            suggested REAL,
            stop_reason TEXT,
            applied_at REAL
        )""",
        "CREATE INDEX lr_sweeps_by_session ON lr_sweeps (session_id, id)",
    ):
        conn.execute(statement)


def _0011_job_origin(conn: sqlite3.Connection) -> None:
    for statement in (
        # Where a job was queued: this machine and the project's folder (store.origin). A
        # queued job whose origin is not the present one came with a copied project or
        # from before the folder moved: it is held until the user releases it. Jobs queued
        # before this migration have none, so they are held too.
        "ALTER TABLE jobs ADD COLUMN origin TEXT",
        # How far a job got, for each total it reported progress against ({"total": best
        # done}), and that map as it was when the running attempt began: a worker that
        # died after passing an earlier attempt's mark made progress and is retried.
        "ALTER TABLE jobs ADD COLUMN progress_marks TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE jobs ADD COLUMN marks_at_claim TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE jobs ADD COLUMN stalled_deaths INTEGER NOT NULL DEFAULT 0",
    ):
        conn.execute(statement)


def _0012_merge_groups(conn: sqlite3.Connection) -> None:
    for statement in (
        # Faces merged into one cluster by hand share a group: every later clustering keeps
        # each group's faces in one cluster, as it keeps names and hand moves.
        "ALTER TABLE faces ADD COLUMN merge_group INTEGER",
        "CREATE INDEX faces_by_merge_group ON faces (merge_group) WHERE merge_group IS NOT NULL",
    ):
        conn.execute(statement)


def _0013_tracks(conn: sqlite3.Connection) -> None:
    for statement in (
        # A track is one person followed through neighbouring frames of a source; clustering
        # keeps a track's faces together. `flag` says why the track is probably not a face.
        """CREATE TABLE tracks (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            first_frame INTEGER NOT NULL,
            last_frame INTEGER NOT NULL,
            flag TEXT
        )""",
        "CREATE INDEX tracks_by_source ON tracks (source_id)",
        "ALTER TABLE faces ADD COLUMN track_id INTEGER REFERENCES tracks (id) ON DELETE SET NULL",
        "CREATE INDEX faces_by_track ON faces (track_id) WHERE track_id IS NOT NULL",
        # Gap filling: 1 for a face the tracker placed in a frame where detection missed it.
        "ALTER TABLE faces ADD COLUMN tracked INTEGER NOT NULL DEFAULT 0",
        # Why the face is probably not a face (NULL: nothing wrong seen); such faces are left
        # out of clustering and training. `flag_kept` 1: a person said it is a face after all,
        # 0: a person confirmed it is not (it is then excluded too), NULL: nobody looked.
        "ALTER TABLE faces ADD COLUMN flag TEXT",
        "ALTER TABLE faces ADD COLUMN flag_kept INTEGER",
        # Shot cuts: each processed frame's grey levels at 16x9 (144 uint8).
        "ALTER TABLE frames ADD COLUMN signature BLOB",
        # When the source's faces were last linked into tracks (NULL: not since extraction).
        "ALTER TABLE extractions ADD COLUMN tracked_at REAL",
    ):
        conn.execute(statement)


def _0014_manual_faces(conn: sqlite3.Connection) -> None:
    # 1 for a face placed by hand in the Alignments review (a box drawn, a face copied).
    conn.execute("ALTER TABLE faces ADD COLUMN manual INTEGER NOT NULL DEFAULT 0")


def _0015_mask_labels(conn: sqlite3.Connection) -> None:
    # A face's hand-made mask label, what the occlusion mask learns from: a base mask (an
    # existing mask or an imported PNG, at `size`, or none: empty) with include and exclude
    # polygons painted over it in order (JSON, in the pixels of that size).
    conn.execute("""CREATE TABLE mask_labels (
        face_id INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        base BLOB,
        polygons TEXT NOT NULL DEFAULT '[]',
        updated_at REAL NOT NULL
    )""")


def _0016_mask_models(conn: sqlite3.Connection) -> None:
    for statement in (
        # A trained occlusion mask (XSeg-style): its network and seed (JSON, fixed when it is
        # made), and its newest checkpoint: the iteration, the file (relative to
        # models/masks/<id>/) and the file's sha256; NULL path: not trained yet.
        """CREATE TABLE mask_models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            settings TEXT NOT NULL,
            iteration INTEGER NOT NULL DEFAULT 0,
            path TEXT,
            sha256 TEXT,
            updated_at REAL
        )""",
        """CREATE TABLE mask_losses (
            model_id INTEGER NOT NULL REFERENCES mask_models (id) ON DELETE CASCADE,
            iteration INTEGER NOT NULL,
            loss REAL NOT NULL,
            PRIMARY KEY (model_id, iteration)
        ) WITHOUT ROWID""",
        # Which mask model's checkpoint (by its sha256) made a face's mask of a kind: applying
        # it again skips the faces that checkpoint has masked already.
        """CREATE TABLE mask_made_by (
            face_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            model_id INTEGER NOT NULL REFERENCES mask_models (id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (face_id, kind),
            FOREIGN KEY (face_id, kind) REFERENCES masks (face_id, kind) ON DELETE CASCADE
        ) WITHOUT ROWID""",
    ):
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", _0001_initial),
    Migration(2, "workers", _0002_workers),
    Migration(3, "faces", _0003_faces),
    Migration(4, "identities", _0004_identities),
    Migration(5, "review", _0005_review),
    Migration(6, "training", _0006_training),
    Migration(7, "training control", _0007_training_control),
    Migration(8, "session archives", _0008_session_archives),
    Migration(9, "conversions", _0009_conversions),
    Migration(10, "learning-rate sweeps", _0010_lr_sweeps),
    Migration(11, "job origin and progress marks", _0011_job_origin),
    Migration(12, "merge groups", _0012_merge_groups),
    Migration(13, "tracks", _0013_tracks),
    Migration(14, "faces placed by hand", _0014_manual_faces),
    Migration(15, "mask labels", _0015_mask_labels),
    Migration(16, "mask models", _0016_mask_models),
)
LATEST_VERSION = MIGRATIONS[-1].number


class SchemaTooNewError(RuntimeError):
    """The file was written by a newer swapdeck than this one."""


def _ensure_record_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )


def applied_version(conn: sqlite3.Connection) -> int:
    """The highest migration recorded in the file (0 for a file with no record table)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not has_table:
        return 0
    return conn.execute("SELECT COALESCE(MAX(number), 0) FROM schema_migrations").fetchone()[0]


def check_not_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"this project was written by a newer swapdeck (schema {version}; this one knows up "
            f"to {LATEST_VERSION}): upgrade swapdeck to open it"
        )


def backup_file(conn: sqlite3.Connection, db_path: Path, from_version: int) -> Path:
    """Copy the store beside itself with SQLite's online backup (consistent even in WAL mode)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db_path.with_name(f"{db_path.name}.v{from_version}-{stamp}.bak")
    counter = 1
    while target.exists():
        target = db_path.with_name(f"{db_path.name}.v{from_version}-{stamp}-{counter}.bak")
        counter += 1
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def migrate(
    conn: sqlite3.Connection,
    db_path: Path,
    *,
    target: int = LATEST_VERSION,
) -> Path | None:
    """Bring the file up to `target`; returns the backup made first, if one was needed."""
    current = applied_version(conn)
    check_not_newer(current)
    pending = [m for m in MIGRATIONS if current < m.number <= target]
    if not pending:
        return None
    backup = backup_file(conn, db_path, current) if current > 0 else None
    for migration in pending:
        with write(conn):
            _ensure_record_table(conn)
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (migration.number, migration.name, time.time()),
            )
    return backup
