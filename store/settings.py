"""Project settings: JSON values by key."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from store.schema.connection import write


def get(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    with write(conn):
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )
