"""The review's undo stack: every review action keeps the rows it changed, as they were.

An action opens a `Journal` inside its write transaction, captures the rows it is about to
change (and notes the rows it creates), changes them, and records itself. `undo_last` puts
the newest action's rows back, marks the faces it created as rejected (UNDONE) and deletes
the clusters and people it created; before that it keeps the rows' current values in the
action's record ("redo"), which `redo_last` puts back. A clustering run seals the stack:
actions older than the newest run are not undone, since the run reassigned their faces,
and nothing undone before a run (or before a newer review action) is redone.
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
# Tables whose rows an action may create; undo deletes them (people only while unused),
# except faces, which it rejects as UNDONE so that redo can bring them back.
CREATED = ("clusters", "identities", "faces")
UNDONE = "undone by hand"


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


class NothingToRedo(LookupError):
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

    def capture_keys(self, table: str, keys: Sequence[Sequence[object]]) -> None:
        """`capture` for the rows with these key values (all key columns, in order)."""
        *fixed, last = TRACKED[table][0]
        groups: dict[tuple, list[object]] = {}
        for key in keys:
            groups.setdefault(tuple(key[:-1]), []).append(key[-1])
        matches = "".join(f"{column} = ? AND " for column in fixed)
        for prefix, ids in groups.items():
            self._keep(table, rows_in(
                self.conn, f"{_select(table)} WHERE {matches}{last} IN ({{ids}})", ids, *prefix))

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
        created = undo["created"]
        undo["redo"] = _current(conn, undo["restore"], created.get("faces", []))
        for block in reversed(undo["restore"]):
            _restore(conn, block["table"], block["rows"])
        conn.executemany("UPDATE faces SET rejected = ? WHERE id = ?",
                         [(UNDONE, face_id) for face_id in created.get("faces", [])])
        for cluster_id in created.get("clusters", []):
            conn.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))
        for identity_id in created.get("identities", []):
            conn.execute(
                """DELETE FROM identities WHERE id = ?
                   AND NOT EXISTS (SELECT 1 FROM faces WHERE identity_id = identities.id)
                   AND NOT EXISTS (SELECT 1 FROM clusters WHERE identity_id = identities.id)""",
                (identity_id,))
        conn.execute("UPDATE review_actions SET undone_at = ?, undo = ? WHERE id = ?",
                     (time.time(), json.dumps(undo), row["id"]))
    return row["summary"]


def _current(conn: sqlite3.Connection, restore: list[dict], face_ids: list[int]) -> list[dict]:
    """The tracked values, as they are now, of the rows undo restores and the faces it rejects."""
    journal = Journal(conn)
    for block in restore:
        width = len(TRACKED[block["table"]][0])
        journal.capture_keys(block["table"], [row[:width] for row in block["rows"]])
    journal.capture_ids("faces", "id", face_ids)
    return journal.restore


def _redoable(conn: sqlite3.Connection) -> sqlite3.Row:
    """The most recently undone action, if nothing was recorded or clustered since its undo."""
    row = conn.execute("SELECT id, summary, undo, undone_at FROM review_actions"
                       " WHERE undone_at IS NOT NULL ORDER BY undone_at DESC LIMIT 1").fetchone()
    if row is None or conn.execute(
            """SELECT EXISTS (SELECT 1 FROM review_actions WHERE created_at >= :at)
                   OR EXISTS (SELECT 1 FROM cluster_runs WHERE created_at >= :at)""",
            {"at": row["undone_at"]}).fetchone()[0]:
        raise NothingToRedo("nothing to redo: no review action undone since the last new "
                            "action or clustering")
    return row


def redo_last(conn: sqlite3.Connection) -> str:
    """Redo the most recently undone review action; returns its summary. NothingToRedo when
    there is none, or when its undo removed clusters or people it had made."""
    with write(conn):
        row = _redoable(conn)
        undo = json.loads(row["undo"])
        if undo["created"].get("clusters") or undo["created"].get("identities"):
            raise NothingToRedo(f"cannot redo \"{row['summary']}\": undo removed the clusters "
                                "or people it made; do it again instead")
        if "redo" not in undo:
            raise NothingToRedo(f"cannot redo \"{row['summary']}\": it was undone before "
                                "swapdeck kept what undo changed")
        for block in undo["redo"]:
            _restore(conn, block["table"], block["rows"])
        conn.execute("UPDATE review_actions SET undone_at = NULL WHERE id = ?", (row["id"],))
    return row["summary"]


def history(conn: sqlite3.Connection, limit: int = 50) -> list[ReviewAction]:
    """The newest review actions first, undone ones included."""
    rows = conn.execute(
        "SELECT id, created_at, action, summary, undone_at FROM review_actions"
        " ORDER BY id DESC LIMIT ?", (limit,))
    return [ReviewAction(**dict(r)) for r in rows]
