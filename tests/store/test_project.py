"""Project folders and migrations on real SQLite files."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from store import project as project_module
from store import sources
from store.schema.connection import connect, data_version, integrity_check, write
from store.schema.migrations import LATEST_VERSION, applied_version, migrate
from store.project import DB_NAME, ProjectError, create_project, open_or_create, open_project

TABLES = {"sources", "frames", "jobs", "events", "settings", "workers", "schema_migrations"}


def tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_project_has_folders_and_the_latest_schema(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    for name in ("models", "outputs", "cache", "inbox"):
        assert (project.root / name).is_dir()
    assert TABLES <= tables(project.db_path)
    conn = project.connect()
    assert applied_version(conn) == LATEST_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


def test_reopening_changes_nothing_and_makes_no_backup(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    open_project(project.root)
    open_or_create(project.root)
    assert sorted(p.name for p in project.root.glob("*.bak")) == []
    conn = project.connect()
    numbers = [r[0] for r in conn.execute("SELECT number FROM schema_migrations ORDER BY number")]
    assert numbers == list(range(1, LATEST_VERSION + 1))
    conn.close()


def test_old_schema_is_upgraded_with_a_backup_beside_it(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    db = root / DB_NAME
    conn = connect(db)
    migrate(conn, db, target=1)
    with write(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('kept', '42')")
    conn.close()
    assert "workers" not in tables(db)

    open_project(root)

    assert "workers" in tables(db)
    [backup] = root.glob("project.db.v1-*.bak")
    old = sqlite3.connect(backup)
    assert applied_version(old) == 1
    assert old.execute("SELECT value FROM settings WHERE key = 'kept'").fetchone() == ("42",)
    old.close()
    conn = connect(db)
    assert conn.execute("SELECT value FROM settings WHERE key = 'kept'").fetchone()[0] == "42"
    conn.close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    conn = project.connect()
    with write(conn):
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
    conn.close()
    before = digest(project.db_path)
    with pytest.raises(ProjectError, match="newer swapdeck"):
        open_project(project.root)
    assert digest(project.db_path) == before


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / DB_NAME).write_text("hello, I am a text file\n")
    before = sorted(p.name for p in root.iterdir())
    with pytest.raises(ProjectError, match="not a SQLite database"):
        open_project(root)
    assert sorted(p.name for p in root.iterdir()) == before
    assert (root / DB_NAME).read_text() == "hello, I am a text file\n"


def test_a_folder_that_is_not_a_project_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(b"...")
    with pytest.raises(ProjectError, match="not a swapdeck project"):
        open_project(tmp_path)
    with pytest.raises(ProjectError, match="not empty"):
        open_or_create(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["holiday.jpg"]
    with pytest.raises(ProjectError, match="no such folder"):
        open_project(tmp_path / "missing")


def test_open_or_create_makes_a_new_project(tmp_path: Path) -> None:
    project = open_or_create(tmp_path / "brand new")
    assert (project.root / DB_NAME).is_file()


def test_network_filesystem_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_module, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(ProjectError, match="network filesystem"):
        create_project(tmp_path / "p")


def test_filesystem_type_reads_the_mount_table(tmp_path: Path) -> None:
    assert project_module.filesystem_type(tmp_path)  # whatever it is, it is known


def test_data_version_moves_when_another_connection_commits(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    reader, writer = project.connect(), project.connect()
    before = data_version(reader)
    assert data_version(reader) == before
    sources.begin_ingest(writer, "/x.mp4", "", "video", 1, 1, None)
    assert data_version(reader) != before
    assert integrity_check(reader) == "ok"
    reader.close()
    writer.close()
