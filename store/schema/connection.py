"""The one connection recipe both processes use, and the write-transaction helper."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 5.0
# Ids per `IN (...)` list: well under every SQLite build's limit on bound parameters.
IN_LIST_CHUNK = 500


def connect(db_path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the store with the recipe from DESIGN.md: autocommit, WAL, NORMAL sync, FKs on."""
    if read_only:
        uri = Path(db_path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the lock up front (`BEGIN IMMEDIATE`).

    A deferred transaction that later writes can fail with SQLITE_BUSY without waiting;
    an immediate one waits up to the busy timeout instead.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever another connection commits to the file (for pollers)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def integrity_check(conn: sqlite3.Connection) -> str:
    """`ok`, or SQLite's first complaint about the file."""
    return conn.execute("PRAGMA integrity_check").fetchone()[0]


def rows_in(conn: sqlite3.Connection, sql: str, ids: Sequence[object],
            *args: object) -> Iterator[sqlite3.Row]:
    """The rows of `sql` for any number of ids: `{ids}` in `sql` takes the placeholders of
    one chunk of ids, bound after `args`."""
    ids = list(ids)
    for start in range(0, len(ids), IN_LIST_CHUNK):
        part = ids[start:start + IN_LIST_CHUNK]
        yield from conn.execute(sql.format(ids=",".join("?" * len(part))), (*args, *part))
