"""People, cluster runs and their clusters: who each face is.

A face's person (`faces.identity_id`) follows its cluster's name, unless a person was chosen
for that face by hand (`identity_manual`), which no re-clustering changes.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.connection import write
from store.faces import from_blob, to_blob

# Descriptor distance within which average linkage joins faces into one person;
# benchmarks/cluster_quality.py measured purity 1.000 and inverse purity 0.994 with it.
DEFAULT_THRESHOLD = 0.55


@dataclass(frozen=True)
class Identity:
    id: int
    name: str
    side: str | None
    faces: int


@dataclass(frozen=True)
class ClusterRow:
    id: int
    run_id: int
    idx: int
    size: int
    identity_id: int | None
    name: str | None
    side: str | None

    def to_json(self) -> dict:
        return {"id": self.id, "run_id": self.run_id, "index": self.idx, "size": self.size,
                "identity_id": self.identity_id, "name": self.name, "side": self.side}


class IdentityError(LookupError):
    pass


def descriptors(conn: sqlite3.Connection, source_ids: Sequence[int] | None,
                model: str) -> tuple[list[int], np.ndarray]:
    """(face ids, descriptors) of the faces kept at extraction, of the given sources (or all)."""
    sql = ("SELECT f.id, e.vector FROM faces f JOIN embeddings e ON e.face_id = f.id"
           " WHERE e.model = ? AND f.rejected IS NULL")
    args: list = [model]
    if source_ids:
        sql += f" AND f.source_id IN ({','.join('?' * len(source_ids))})"
        args += list(source_ids)
    rows = conn.execute(sql + " ORDER BY f.id", args).fetchall()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return [r["id"] for r in rows], np.array([from_blob(r["vector"], (-1,)) for r in rows])


def identity_centres(conn: sqlite3.Connection, model: str) -> dict[int, np.ndarray]:
    """The mean descriptor of each named person's faces."""
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    rows = conn.execute(
        "SELECT f.identity_id, e.vector FROM faces f JOIN embeddings e ON e.face_id = f.id"
        " WHERE e.model = ? AND f.identity_id IS NOT NULL", (model,))
    for row in rows:
        vector = from_blob(row["vector"], (-1,))
        sums[row["identity_id"]] = sums.get(row["identity_id"], 0) + vector
        counts[row["identity_id"]] = counts.get(row["identity_id"], 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def record_run(conn: sqlite3.Connection, *, method: str, threshold: float,
               source_ids: Sequence[int], face_ids: Sequence[int], labels: np.ndarray,
               centres: np.ndarray, distances: np.ndarray, names: dict[int, int],
               job_id: int | None) -> int:
    """Store a clustering in one transaction and give faces their cluster's person.

    `names` maps cluster index -> identity id carried over from before.
    """
    sizes = np.bincount(labels, minlength=len(centres)) if len(labels) else []
    with write(conn):
        run_id = conn.execute(
            """INSERT INTO cluster_runs (created_at, method, threshold, source_ids, faces,
                   clusters, job_id) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (time.time(), method, threshold, json.dumps(sorted(source_ids)), len(face_ids),
             len(centres), job_id),
        ).lastrowid
        cluster_ids = [
            conn.execute(
                "INSERT INTO clusters (run_id, idx, size, centre, identity_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, idx, int(sizes[idx]), to_blob(centre), names.get(idx)),
            ).lastrowid
            for idx, centre in enumerate(centres)
        ]
        conn.executemany(
            "INSERT INTO cluster_members (run_id, face_id, cluster_id, distance) VALUES (?, ?, ?, ?)",
            [(run_id, face_id, cluster_ids[label], float(distance))
             for face_id, label, distance in zip(face_ids, labels.tolist(), distances.tolist())],
        )
        conn.execute(
            """UPDATE faces SET identity_id = (
                   SELECT c.identity_id FROM cluster_members m JOIN clusters c
                   ON c.id = m.cluster_id WHERE m.run_id = ? AND m.face_id = faces.id)
               WHERE identity_manual = 0 AND id IN (
                   SELECT face_id FROM cluster_members WHERE run_id = ?)""",
            (run_id, run_id),
        )
    return run_id


def latest_run_id(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT MAX(id) FROM cluster_runs").fetchone()
    return row[0]


def clusters(conn: sqlite3.Connection, run_id: int) -> list[ClusterRow]:
    rows = conn.execute(
        """SELECT c.id, c.run_id, c.idx, c.size, c.identity_id, i.name, i.side
           FROM clusters c LEFT JOIN identities i ON i.id = c.identity_id
           WHERE c.run_id = ? AND c.size > 0 ORDER BY c.idx""", (run_id,))
    return [ClusterRow(**dict(r)) for r in rows]


def find_identity(conn: sqlite3.Connection, name: str) -> int:
    """The id of the person called `name`; IdentityError if there is none."""
    row = conn.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise IdentityError(f"no person called {name!r} in this project")
    return row[0]


def _identity_named(conn: sqlite3.Connection, name: str) -> int:
    """The id of the person called `name`, created if new (inside a write transaction)."""
    row = conn.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    return conn.execute("INSERT INTO identities (name, created_at) VALUES (?, ?)",
                        (name, time.time())).lastrowid


def name_cluster(conn: sqlite3.Connection, cluster_id: int, name: str) -> int:
    """Name a cluster as a person (new or existing); its faces follow unless set by hand."""
    name = name.strip()
    if not name:
        raise IdentityError("a person needs a name")
    with write(conn):
        if conn.execute("SELECT 1 FROM clusters WHERE id = ?", (cluster_id,)).fetchone() is None:
            raise IdentityError(f"no cluster {cluster_id} in this project")
        identity_id = _identity_named(conn, name)
        conn.execute("UPDATE clusters SET identity_id = ? WHERE id = ?", (identity_id, cluster_id))
        conn.execute(
            """UPDATE faces SET identity_id = ? WHERE identity_manual = 0 AND id IN (
                   SELECT face_id FROM cluster_members WHERE cluster_id = ?)""",
            (identity_id, cluster_id),
        )
    return identity_id


def list_identities(conn: sqlite3.Connection) -> list[Identity]:
    rows = conn.execute(
        """SELECT i.id, i.name, i.side, COUNT(f.id) AS faces FROM identities i
           LEFT JOIN faces f ON f.identity_id = i.id AND f.excluded = 0
           GROUP BY i.id ORDER BY i.name""")
    return [Identity(**dict(r)) for r in rows]


def _check_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> None:
    marks = ",".join("?" * len(face_ids))
    found = {r[0] for r in conn.execute(f"SELECT id FROM faces WHERE id IN ({marks})",
                                        tuple(face_ids))}
    missing = sorted(set(face_ids) - found)
    if missing:
        raise IdentityError(f"no face {', '.join(map(str, missing[:5]))} in this project")


def set_excluded(conn: sqlite3.Connection, face_ids: Sequence[int], excluded: bool) -> None:
    """Leave faces out of training (or take them back); nothing is deleted."""
    with write(conn):
        _check_faces(conn, face_ids)
        conn.executemany("UPDATE faces SET excluded = ? WHERE id = ?",
                         [(int(excluded), face_id) for face_id in face_ids])


def move_faces(conn: sqlite3.Connection, face_ids: Sequence[int], name: str) -> int:
    """Give faces a person by hand (new or existing); re-clustering will not undo it."""
    if not name.strip():
        raise IdentityError("a person needs a name")
    with write(conn):
        _check_faces(conn, face_ids)
        identity_id = _identity_named(conn, name.strip())
        conn.executemany("UPDATE faces SET identity_id = ?, identity_manual = 1 WHERE id = ?",
                         [(identity_id, face_id) for face_id in face_ids])
    return identity_id


def merge_clusters(conn: sqlite3.Connection, into: int, others: Sequence[int]) -> None:
    """Fold clusters of one run into `into`: their members and sizes move, and their faces
    take `into`'s person."""
    with write(conn):
        rows = conn.execute(
            f"SELECT id, run_id, identity_id FROM clusters WHERE id IN "
            f"({','.join('?' * (len(others) + 1))})", (into, *others)).fetchall()
        by_id = {r["id"]: r for r in rows}
        missing = sorted({into, *others} - set(by_id))
        if missing:
            raise IdentityError(f"no cluster {', '.join(map(str, missing))} in this project")
        if len({r["run_id"] for r in rows}) > 1:
            raise IdentityError("clusters of different runs cannot be merged")
        for other in others:
            conn.execute("UPDATE cluster_members SET cluster_id = ? WHERE cluster_id = ?",
                         (into, other))
            conn.execute("UPDATE clusters SET size = 0 WHERE id = ?", (other,))
        conn.execute("UPDATE clusters SET size = (SELECT COUNT(*) FROM cluster_members"
                     " WHERE cluster_id = ?) WHERE id = ?", (into, into))
        conn.execute(
            """UPDATE faces SET identity_id = ? WHERE identity_manual = 0 AND id IN (
                   SELECT face_id FROM cluster_members WHERE cluster_id = ?)""",
            (by_id[into]["identity_id"], into))


def set_side(conn: sqlite3.Connection, name: str, side: str | None) -> None:
    """Mark a person as side A or B of the training pair (the side's previous holder is
    cleared), or clear the mark with None."""
    if side not in ("A", "B", None):
        raise IdentityError(f"a side is A or B, not {side!r}")
    with write(conn):
        identity_id = find_identity(conn, name)
        if side is not None:
            conn.execute("UPDATE identities SET side = NULL WHERE side = ?", (side,))
        conn.execute("UPDATE identities SET side = ? WHERE id = ?", (side, identity_id))
