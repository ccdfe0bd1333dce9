"""A project is a folder: project.db plus models/, outputs/, cache/ and inbox/."""
from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from store.schema.connection import connect
from store.files.contained import UnsafePathError, contained
from store.schema.migrations import applied_version, check_not_newer, migrate

DB_NAME = "project.db"
SUBFOLDERS = ("models", "outputs", "cache", "inbox")
WORKER_LOG = "worker.log"
# what opening a project (or starting its worker) reads or writes: none may lead out of it
OWN_ENTRIES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", WORKER_LOG,
               *SUBFOLDERS)
SQLITE_HEADER = b"SQLite format 3\x00"
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs",
     "fuse.glusterfs", "lustre", "davfs", "fuse.rclone", "fuse.s3fs", "virtiofs"}
)


class ProjectError(RuntimeError):
    """A folder or file that cannot be opened as a project; the message says why and what to do."""


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def open_worker_log(self) -> BinaryIO:
        """worker.log for appending, never through a symlink (O_NOFOLLOW): a link put
        there after the project was opened cannot make a worker write outside it."""
        path = self.root / WORKER_LOG
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                                 0o644)
        except OSError as exc:
            why = "it is a symlink" if exc.errno == errno.ELOOP else exc.strerror
            raise ProjectError(f"cannot open the worker's log {path}: {why}; remove it and "
                               "try again") from None
        return os.fdopen(descriptor, "ab")

    def connect(self) -> sqlite3.Connection:
        """A new connection to an already opened (migrated) project."""
        return connect(self.db_path)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection that is closed when the block ends."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem `path` lives on, from /proc/mounts (None where unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(path.resolve())
    best, best_type = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def _refuse_network_filesystem(folder: Path) -> None:
    fs_type = filesystem_type(folder)
    if fs_type in NETWORK_FILESYSTEMS:
        raise ProjectError(
            f"{folder} is on a network filesystem ({fs_type}); SQLite needs a local disk: "
            "put the project folder on a local drive"
        )


def _refuse_read_only(root: Path, db_path: Path) -> None:
    """A read-only folder (mount, permissions) is refused before anything is tried: even
    reading the store needs its write-ahead log files beside it."""
    try:
        read_only = bool(os.statvfs(root).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only or not os.access(root, os.W_OK) or not os.access(db_path, os.W_OK):
        raise ProjectError(
            f"{root} is read-only: swapdeck needs to write its store ({DB_NAME}) and files "
            "there; make it writable or copy the project folder to a writable disk")


def _refuse_links_out(root: Path) -> None:
    """A received project's store, log or folders may be symlinks leading elsewhere; SQLite
    and the worker would read and write there, so such a project is refused before anything
    in it is opened (a few lstat calls: opening stays fast)."""
    for name in OWN_ENTRIES:
        path = root / name
        if not path.is_symlink():
            continue
        try:
            contained(root, name, where=name)
        except UnsafePathError:
            raise ProjectError(
                f"{path} is a symlink leading out of the project folder (to "
                f"{os.path.realpath(path)}): swapdeck refuses to open a project that would "
                f"read or write outside its folder; replace the link with a real "
                f"{'folder' if name in SUBFOLDERS else 'file'}") from None


def _check_is_sqlite(db_path: Path) -> None:
    with db_path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ProjectError(f"{db_path} is not a SQLite database (was it overwritten?)")


def create_project(root: Path) -> Project:
    """Make a new project in `root` (which must be missing or empty)."""
    root = Path(root).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root} is a file, not a folder")
    if (root / DB_NAME).exists():
        raise ProjectError(f"{root} is already a swapdeck project")
    if root.exists() and any(root.iterdir()):
        raise ProjectError(
            f"{root} is not empty and holds no {DB_NAME}: choose a new or empty folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    _refuse_network_filesystem(root)
    return open_project(root, _creating=True)


def open_project(root: Path, *, _creating: bool = False) -> Project:
    """Open an existing project, migrating it (after a backup) if its schema is older.

    Refuses, changing nothing, a folder that is not a project, a file that is not SQLite,
    or a schema newer than this code knows.
    """
    root = Path(root).expanduser().absolute()
    project = Project(root)
    if not root.is_dir():
        raise ProjectError(f"no project at {root} (no such folder): create one with `swapdeck new`")
    _refuse_links_out(root)
    db_path = project.db_path
    if not _creating:
        if not db_path.is_file():
            raise ProjectError(
                f"{root} is not a swapdeck project (no {DB_NAME}): create one with `swapdeck new`"
            )
        _check_is_sqlite(db_path)
        _refuse_network_filesystem(root)
        _refuse_read_only(root, db_path)
        _check_schema_read_only(db_path)
    conn = connect(db_path)
    try:
        migrate(conn, db_path)
    finally:
        conn.close()
    for name in SUBFOLDERS:
        (root / name).mkdir(exist_ok=True)
    return project


def _check_schema_read_only(db_path: Path) -> None:
    """Read the schema version without writing anything (no WAL switch, no migration)."""
    try:
        conn = connect(db_path, read_only=True)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{db_path} cannot be opened as SQLite: {exc}") from exc
    try:
        version = applied_version(conn)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{db_path} is not a readable SQLite database: {exc}") from exc
    finally:
        conn.close()
    try:
        check_not_newer(version)
    except RuntimeError as exc:
        raise ProjectError(str(exc)) from exc


def is_project(root: Path) -> bool:
    return (Path(root) / DB_NAME).is_file()


def open_or_create(root: Path) -> Project:
    """`swapdeck open`: open the project, creating it first if the folder is new or empty."""
    root = Path(root).expanduser().absolute()
    if is_project(root):
        return open_project(root)
    return create_project(root)


