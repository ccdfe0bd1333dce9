"""The review's undo stack: every review action keeps the rows it changed, as they were.

An action opens a `Journal` inside its write transaction, captures the rows it is about to
change (and notes the rows it creates), changes them, and records itself. `undo_last` puts
the newest action's rows back and deletes what it created. A clustering run seals the stack:
actions older than the newest run are not undone, since the run reassigned their faces.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from store.schema.connection import rows_in, write

# The rows a review action may change: table -> (key columns, value columns).
# A column is only ever added at the end of a table's value columns: an action recorded
# before that holds a prefix of them, and undo restores just those.
TRACKED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "faces": (("id",), ("excluded", "identity_id", "identity_manual", "rejected",
                        "filter_distance", "merge_group", "track_id", "flag",
                        "flag_kept")),
    "clusters": (("id",), ("size", "centre", "identity_id")),
    "cluster_members": (("run_id", "face_id"), ("cluster_id", "distance")),
    "identities": (("id",), ("name", "side")),
}
# Tables whose rows an action may create; undo deletes them (people only while unused).
CREATED = ("clusters", "identities", "faces")


@dataclass(frozen=True)
class ReviewAction:
    id: int
    created_at: float
    action: str
    summary: str
    undone_at: float | None

    def to_json(self) -> dict:
        return {**self.__dict__}


class NothingToUndo(LookupError):
    pass


def _encode(value: object) -> object:
    return {"hex": value.hex()} if isinstance(value, bytes) else value


def _decode(value: object) -> object:
    return bytes.fromhex(value["hex"]) if isinstance(value, dict) else value


class Journal:
    """What one review action changed; use inside the action's write transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.restore: list[dict] = []
        self.created: dict[str, list[int]] = {}

    def capture(self, table: str, where: str, args: Sequence[object] = ()) -> None:
        """Keep the tracked columns of the rows `where` selects, before they change."""
        self._keep(table, self.conn.execute(f"{_select(table)} WHERE {where}", tuple(args)))

    def capture_ids(self, table: str, column: str, ids: Sequence[int]) -> None:
        """`capture` for the rows whose `column` is one of `ids`."""
        self._keep(table, rows_in(self.conn, f"{_select(table)} WHERE {column} IN ({{ids}})",
                                  ids))

    def _keep(self, table: str, rows: Iterable[sqlite3.Row]) -> None:
        encoded = [[_encode(v) for v in row] for row in rows]
        if encoded:
            self.restore.append({"table": table, "rows": encoded})

    def note_created(self, table: str, row_id: int) -> None:
        self.created.setdefault(table, []).append(row_id)

    def record(self, action: str, summary: str) -> int:
        return self.conn.execute(
            "INSERT INTO review_actions (created_at, action, summary, undo) VALUES (?, ?, ?, ?)",
            (time.time(), action, summary,
             json.dumps({"restore": self.restore, "created": self.created})),
        ).lastrowid


def _select(table: str) -> str:
    keys, values = TRACKED[table]
    return f"SELECT {', '.join(keys + values)} FROM {table}"


def _undoable(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute(
        """SELECT id, summary, undo FROM review_actions WHERE undone_at IS NULL
           AND created_at >= COALESCE((SELECT MAX(created_at) FROM cluster_runs), 0)
           ORDER BY id DESC LIMIT 1""").fetchone()


def _restore(conn: sqlite3.Connection, table: str, rows: list[list]) -> None:
    """Put captured rows back: their key columns, then a prefix of the value columns."""
    keys, values = TRACKED[table]
    width = len(rows[0]) - len(keys)
    assignments = ", ".join(f"{column} = ?" for column in values[:width])
    matches = " AND ".join(f"{column} = ?" for column in keys)
    conn.executemany(f"UPDATE {table} SET {assignments} WHERE {matches}",
                     [[_decode(v) for v in r[len(keys):]] + r[:len(keys)] for r in rows])


def undo_last(conn: sqlite3.Connection) -> str:
    """Undo the newest review action; returns its summary. NothingToUndo when there is none."""
    with write(conn):
        row = _undoable(conn)
        if row is None:
            raise NothingToUndo("nothing to undo since the last clustering")
        undo = json.loads(row["undo"])
        for block in reversed(undo["restore"]):
            _restore(conn, block["table"], block["rows"])
        for face_id in undo["created"].get("faces", []):
            conn.execute("DELETE FROM faces WHERE id = ?", (face_id,))
        for cluster_id in undo["created"].get("clusters", []):
            conn.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))
        for identity_id in undo["created"].get("identities", []):
            conn.execute(
                """DELETE FROM identities WHERE id = ?
                   AND NOT EXISTS (SELECT 1 FROM faces WHERE identity_id = identities.id)
                   AND NOT EXISTS (SELECT 1 FROM clusters WHERE identity_id = identities.id)""",
                (identity_id,))
        conn.execute("UPDATE review_actions SET undone_at = ? WHERE id = ?",
                     (time.time(), row["id"]))
    return row["summary"]


def history(conn: sqlite3.Connection, limit: int = 50) -> list[ReviewAction]:
    """The newest review actions first, undone ones included."""
    rows = conn.execute(
        "SELECT id, created_at, action, summary, undone_at FROM review_actions"
        " ORDER BY id DESC LIMIT ?", (limit,))
    return [ReviewAction(**dict(r)) for r in rows]
