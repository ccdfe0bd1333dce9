"""A session's loss curve at the resolution a graph can show, however many rows it has.

Up to `points` rows come back as they are; more are averaged in SQLite, in equal spans of
iterations, so a session with millions of loss rows is read in a fraction of a second and
the graph never holds more points than a terminal has columns to spare.
"""
from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

import numpy as np

DEFAULT_POINTS = 1000


@dataclass(frozen=True)
class LossSeries:
    iterations: np.ndarray     # float64: a span's mean iteration when averaged
    loss_a: np.ndarray
    loss_b: np.ndarray
    span: int                  # iterations averaged into each point (1: the rows themselves)
    start: int | None          # the first iteration asked for
    first: int | None          # the session's first and last recorded iteration
    last: int | None

    def __len__(self) -> int:
        return len(self.iterations)


def _bound(conn: sqlite3.Connection, session_id: int, order: str) -> int | None:
    row = conn.execute(f"SELECT iteration FROM losses WHERE session_id = ? ORDER BY iteration"
                       f" {order} LIMIT 1", (session_id,)).fetchone()
    return None if row is None else row[0]


def loss_series(conn: sqlite3.Connection, session_id: int, *, last_n: int | None = None,
                from_iteration: int | None = None,
                points: int = DEFAULT_POINTS) -> LossSeries:
    """The losses of the whole session, of its newest `last_n` iterations, or from
    `from_iteration` on (to compare a session over another's window)."""
    first, last = _bound(conn, session_id, "ASC"), _bound(conn, session_id, "DESC")
    if first is None or last is None:
        empty = np.zeros(0)
        return LossSeries(empty, empty, empty, 1, None, None, None)
    start = first if last_n is None else max(first, last - last_n + 1)
    if from_iteration is not None:
        start = max(first, from_iteration)
    if start > last:
        empty = np.zeros(0)
        return LossSeries(empty, empty, empty, 1, start, first, last)
    span = max(1, math.ceil((last - start + 1) / max(points, 1)))
    if span == 1:
        rows = conn.execute("SELECT iteration, loss_a, loss_b FROM losses WHERE session_id = ?"
                            " AND iteration >= ? ORDER BY iteration",
                            (session_id, start)).fetchall()
    else:
        rows = conn.execute("SELECT AVG(iteration), AVG(loss_a), AVG(loss_b) FROM losses"
                            " WHERE session_id = ? AND iteration >= ?"
                            " GROUP BY (iteration - ?) / ? ORDER BY 1",
                            (session_id, start, start, span)).fetchall()
    values = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return LossSeries(values[:, 0], values[:, 1], values[:, 2], span, start, first, last)
