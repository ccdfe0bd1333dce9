"""People, cluster runs and their clusters: who each face is.

A face's person (`faces.identity_id`) follows its cluster's name, unless a person was chosen
for that face by hand (`identity_manual`), which no re-clustering changes. Clusters merged by
hand bond their faces into one merge group (`faces.merge_group`), which every re-clustering
keeps in one cluster, named or not.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.schema.connection import rows_in, write
from store.faces import DESCRIPTOR_MODEL, from_blob, to_blob
from store.review import Journal

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
    """(face ids, descriptors) of the faces kept at extraction and not flagged as probably
    not faces, of the given sources (or all)."""
    sql = ("SELECT f.id, e.vector FROM faces f JOIN embeddings e ON e.face_id = f.id"
           " WHERE e.model = ? AND f.rejected IS NULL AND f.flag IS NULL")
    args: list = [model]
    if source_ids:
        sql += f" AND f.source_id IN ({','.join('?' * len(source_ids))})"
        args += list(source_ids)
    rows = conn.execute(sql + " ORDER BY f.id", args).fetchall()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return [r["id"] for r in rows], np.array([from_blob(r["vector"], (-1,)) for r in rows])


def track_units(conn: sqlite3.Connection, face_ids: Sequence[int]) -> np.ndarray:
    """A unit number per face (in the order of `face_ids`), shared by the faces of one track;
    a face in no track is a unit of its own."""
    tracks = {r[0]: r[1] for r in rows_in(
        conn, "SELECT id, track_id FROM faces WHERE id IN ({ids})", face_ids)}
    numbers: dict[object, int] = {}
    return np.array([numbers.setdefault(("track", tracks[face_id]) if tracks.get(face_id)
                                        is not None else ("face", face_id), len(numbers))
                     for face_id in face_ids], np.int64)


def merge_groups(conn: sqlite3.Connection, face_ids: Sequence[int]) -> list[int | None]:
    """Each face's merge group, in the order of `face_ids` (None: merged with nothing)."""
    groups = {r[0]: r[1] for r in rows_in(
        conn, "SELECT id, merge_group FROM faces WHERE id IN ({ids})", face_ids)}
    return [groups.get(face_id) for face_id in face_ids]


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


SAME_PERSON_DISTANCE = 0.6   # dlib's threshold for its descriptors


def nearest_people(vectors: np.ndarray, centres: dict[int, np.ndarray]) -> list[int | None]:
    """Whose face each descriptor (rows of `vectors`) is: the person whose centre is nearest,
    when it is within SAME_PERSON_DISTANCE; else None. The convert job and the Convert
    screen's face counts decide with this one rule."""
    if not centres or not len(vectors):
        return [None] * len(vectors)
    ids = list(centres)
    stacked = np.stack([centres[i] for i in ids])
    # squared distances by |v|² - 2 v·c + |c|²: faces x people, not faces x people x 128
    squared = ((vectors ** 2).sum(axis=1)[:, None] - 2 * vectors @ stacked.T
               + (stacked ** 2).sum(axis=1)[None, :])
    nearest = squared.argmin(axis=1)
    close = squared[np.arange(len(vectors)), nearest] < SAME_PERSON_DISTANCE ** 2
    return [ids[n] if hit else None for n, hit in zip(nearest, close)]


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


@dataclass(frozen=True)
class RunCounts:
    id: int
    faces: int
    clusters: int


def run_of_job(conn: sqlite3.Connection, job_id: int) -> RunCounts | None:
    """The clustering a job recorded, if it did: a retried job whose worker died after
    recording it must not cluster (and carry names over) a second time."""
    row = conn.execute("SELECT id, faces, clusters FROM cluster_runs WHERE job_id = ?"
                       " ORDER BY id LIMIT 1", (job_id,)).fetchone()
    return RunCounts(*row) if row else None


def largest_cluster_of_source(conn: sqlite3.Connection, source_id: int) -> int:
    """The id of the latest run's cluster holding most of a source's faces: in a clip of one
    person, that person's cluster. IdentityError if the run holds none of its faces."""
    row = conn.execute(
        """SELECT m.cluster_id FROM cluster_members m JOIN faces f ON f.id = m.face_id
           WHERE m.run_id = ? AND f.source_id = ? GROUP BY m.cluster_id
           ORDER BY COUNT(*) DESC LIMIT 1""", (latest_run_id(conn), source_id)).fetchone()
    if row is None:
        raise IdentityError(f"the latest cluster run holds no faces of source {source_id}")
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


def _identity_named(conn: sqlite3.Connection, name: str, journal: Journal) -> int:
    """The id of the person called `name`, created if new (inside a write transaction)."""
    name = name.strip()
    if not name:
        raise IdentityError("a person needs a name")
    row = conn.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    identity_id = conn.execute("INSERT INTO identities (name, created_at) VALUES (?, ?)",
                               (name, time.time())).lastrowid
    journal.note_created("identities", identity_id)
    return identity_id


def _cluster_rows(conn: sqlite3.Connection, cluster_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    """The clusters by id; IdentityError naming any that do not exist."""
    rows = conn.execute(
        f"SELECT id, run_id, idx, identity_id FROM clusters WHERE id IN "
        f"({','.join('?' * len(cluster_ids))})", tuple(cluster_ids)).fetchall()
    by_id = {r["id"]: r for r in rows}
    missing = sorted(set(cluster_ids) - set(by_id))
    if missing:
        raise IdentityError(f"no cluster {', '.join(map(str, missing))} in this project")
    return by_id


def _follow_cluster(conn: sqlite3.Connection, cluster_id: int, journal: Journal) -> None:
    """Give a cluster's faces its person, except faces given a person by hand."""
    members = "SELECT face_id FROM cluster_members WHERE cluster_id = ?"
    journal.capture("faces", f"identity_manual = 0 AND id IN ({members})", (cluster_id,))
    conn.execute(
        f"""UPDATE faces SET identity_id = (SELECT identity_id FROM clusters WHERE id = ?)
            WHERE identity_manual = 0 AND id IN ({members})""", (cluster_id, cluster_id))


def _recentre(conn: sqlite3.Connection, cluster_id: int) -> None:
    """Size, centre and member distances of a cluster after its members changed."""
    rows = conn.execute(
        """SELECT m.face_id, e.vector FROM cluster_members m JOIN embeddings e
           ON e.face_id = m.face_id AND e.model = ? WHERE m.cluster_id = ?""",
        (DESCRIPTOR_MODEL, cluster_id)).fetchall()
    if not rows:
        conn.execute("UPDATE clusters SET size = 0 WHERE id = ?", (cluster_id,))
        return
    vectors = np.array([from_blob(r["vector"], (-1,)) for r in rows])
    centre = vectors.mean(axis=0)
    distances = np.linalg.norm(vectors - centre, axis=1)
    conn.execute("UPDATE clusters SET size = ?, centre = ? WHERE id = ?",
                 (len(rows), to_blob(centre), cluster_id))
    conn.executemany("UPDATE cluster_members SET distance = ? WHERE cluster_id = ? AND face_id = ?",
                     [(float(d), cluster_id, r["face_id"]) for d, r in zip(distances, rows)])


def _bond(conn: sqlite3.Connection, cluster_id: int, journal: Journal) -> None:
    """Put a cluster's faces, and the faces bonded to any of them before, in one new merge
    group: re-clustering keeps them together."""
    face_ids = [r[0] for r in conn.execute(
        "SELECT face_id FROM cluster_members WHERE cluster_id = ?", (cluster_id,))]
    earlier = sorted({r[0] for r in rows_in(
        conn, "SELECT merge_group FROM faces WHERE merge_group IS NOT NULL AND id IN ({ids})",
        face_ids)})
    bonded = sorted({*face_ids, *(r[0] for r in rows_in(
        conn, "SELECT id FROM faces WHERE merge_group IN ({ids})", earlier))})
    journal.capture_ids("faces", "id", bonded)
    group = conn.execute("SELECT COALESCE(MAX(merge_group), 0) + 1 FROM faces").fetchone()[0]
    conn.executemany("UPDATE faces SET merge_group = ? WHERE id = ?",
                     [(group, face_id) for face_id in bonded])


def name_cluster(conn: sqlite3.Connection, cluster_id: int, name: str) -> int:
    """Name a cluster as a person (new or existing); its faces follow unless set by hand."""
    with write(conn):
        _cluster_rows(conn, [cluster_id])
        journal = Journal(conn)
        identity_id = _identity_named(conn, name, journal)
        journal.capture("clusters", "id = ?", (cluster_id,))
        conn.execute("UPDATE clusters SET identity_id = ? WHERE id = ?", (identity_id, cluster_id))
        _follow_cluster(conn, cluster_id, journal)
        journal.record("name", f"named cluster {cluster_id} {name.strip()}")
    return identity_id


def list_identities(conn: sqlite3.Connection) -> list[Identity]:
    rows = conn.execute(
        """SELECT i.id, i.name, i.side, COUNT(f.id) AS faces FROM identities i
           LEFT JOIN faces f ON f.identity_id = i.id AND f.excluded = 0
           GROUP BY i.id ORDER BY i.name""")
    return [Identity(**dict(r)) for r in rows]


def check_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> None:
    if not face_ids:
        raise IdentityError("no faces given")
    found = {r[0] for r in rows_in(conn, "SELECT id FROM faces WHERE id IN ({ids})", face_ids)}
    missing = sorted(set(face_ids) - found)
    if missing:
        raise IdentityError(f"no face {', '.join(map(str, missing[:5]))} in this project")


def _faces_phrase(count: int) -> str:
    return f"{count} face{'s' if count != 1 else ''}"


def set_excluded(conn: sqlite3.Connection, face_ids: Sequence[int], excluded: bool) -> None:
    """Leave faces out of training (or take them back); nothing is deleted."""
    with write(conn):
        check_faces(conn, face_ids)
        journal = Journal(conn)
        journal.capture_ids("faces", "id", face_ids)
        conn.executemany("UPDATE faces SET excluded = ? WHERE id = ?",
                         [(int(excluded), face_id) for face_id in face_ids])
        verb = "excluded" if excluded else "included"
        journal.record(verb, f"{verb} {_faces_phrase(len(face_ids))}")


def move_faces(conn: sqlite3.Connection, face_ids: Sequence[int], name: str) -> int:
    """Give faces a person by hand (new or existing); re-clustering will not undo it."""
    with write(conn):
        check_faces(conn, face_ids)
        journal = Journal(conn)
        identity_id = _identity_named(conn, name, journal)
        journal.capture_ids("faces", "id", face_ids)
        conn.executemany("UPDATE faces SET identity_id = ?, identity_manual = 1 WHERE id = ?",
                         [(identity_id, face_id) for face_id in face_ids])
        detach_from_tracks(conn, face_ids)
        journal.record("move", f"moved {_faces_phrase(len(face_ids))} to {name.strip()}")
    return identity_id


def detach_from_tracks(conn: sqlite3.Connection, face_ids: Sequence[int]) -> None:
    """Faces given another person or cluster than the rest of their track leave it (the
    tracker joined two people), so clustering no longer ties them to it; a whole track
    moved by hand stays one. Call after capturing the faces in the action's journal."""
    chosen = set(face_ids)
    by_track: dict[int, set[int]] = {}
    for face_id, track_id in rows_in(
            conn, "SELECT id, track_id FROM faces WHERE id IN ({ids}) AND track_id IS NOT NULL",
            face_ids):
        by_track.setdefault(track_id, set()).add(face_id)
    for track_id, moved in by_track.items():
        members = {r[0] for r in conn.execute("SELECT id FROM faces WHERE track_id = ?",
                                               (track_id,))}
        if members - chosen:
            conn.executemany("UPDATE faces SET track_id = NULL WHERE id = ?",
                             [(face_id,) for face_id in moved])


def merge_clusters(conn: sqlite3.Connection, into: int, others: Sequence[int]) -> None:
    """Fold clusters of one run into `into`: their members move, and their faces take
    `into`'s person (or the first named other's, when `into` has none). The faces stay
    together through every later clustering."""
    others = [other for other in dict.fromkeys(others) if other != into]
    if not others:
        raise IdentityError("merging needs at least two different clusters")
    with write(conn):
        by_id = _cluster_rows(conn, [into, *others])
        if len({r["run_id"] for r in by_id.values()}) > 1:
            raise IdentityError("clusters of different runs cannot be merged")
        journal = Journal(conn)
        journal.capture_ids("clusters", "id", [into, *others])
        journal.capture_ids("cluster_members", "cluster_id", [into, *others])
        if by_id[into]["identity_id"] is None:
            named = [by_id[o]["identity_id"] for o in others if by_id[o]["identity_id"]]
            if named:
                conn.execute("UPDATE clusters SET identity_id = ? WHERE id = ?", (named[0], into))
        for other in others:
            conn.execute("UPDATE cluster_members SET cluster_id = ? WHERE cluster_id = ?",
                         (into, other))
            conn.execute("UPDATE clusters SET size = 0 WHERE id = ?", (other,))
        _recentre(conn, into)
        _bond(conn, into, journal)
        _follow_cluster(conn, into, journal)
        journal.record("merge", f"merged cluster {', '.join(map(str, others))} into {into}")


def split_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> int:
    """Take faces out of their clusters (of the newest run) into a new cluster of their own;
    returns its id. The faces lose the person of the cluster they left, unless set by hand,
    and leave their merge groups."""
    with write(conn):
        check_faces(conn, face_ids)
        run_id = latest_run_id(conn)
        if run_id is None:
            raise IdentityError("no clustering yet: run swapdeck cluster first")
        memberships = [r[0] for r in rows_in(
            conn, "SELECT cluster_id FROM cluster_members WHERE run_id = ? AND face_id IN ({ids})",
            face_ids, run_id)]
        if len(memberships) < len(face_ids):
            raise IdentityError(f"{len(face_ids) - len(memberships)} of the faces are in no "
                                "cluster of the newest clustering run")
        left = set(memberships)
        journal = Journal(conn)
        journal.capture_ids("clusters", "id", sorted(left))
        journal.capture_ids("cluster_members", "cluster_id", sorted(left))
        idx = conn.execute("SELECT MAX(idx) + 1 FROM clusters WHERE run_id = ?",
                           (run_id,)).fetchone()[0]
        new_id = conn.execute(
            "INSERT INTO clusters (run_id, idx, size, centre) VALUES (?, ?, 0, ?)",
            (run_id, idx, to_blob(np.zeros(1, np.float32)))).lastrowid
        journal.note_created("clusters", new_id)
        conn.executemany("UPDATE cluster_members SET cluster_id = ? WHERE run_id = ? AND face_id = ?",
                         [(new_id, run_id, face_id) for face_id in face_ids])
        journal.capture_ids("faces", "id", face_ids)
        conn.executemany("UPDATE faces SET merge_group = NULL WHERE id = ?",
                         [(face_id,) for face_id in face_ids])
        detach_from_tracks(conn, face_ids)
        for cluster_id in (*sorted(left), new_id):
            _recentre(conn, cluster_id)
        _follow_cluster(conn, new_id, journal)
        journal.record("split", f"split {_faces_phrase(len(face_ids))} off into cluster {new_id}")
    return new_id


def set_side(conn: sqlite3.Connection, name: str, side: str | None) -> None:
    """Mark a person as side A or B of the training pair (the side's previous holder is
    cleared), or clear the mark with None."""
    if side not in ("A", "B", None):
        raise IdentityError(f"a side is A or B, not {side!r}")
    with write(conn):
        identity_id = find_identity(conn, name)
        journal = Journal(conn)
        journal.capture("identities", "id = ? OR side = ?", (identity_id, side))
        if side is not None:
            conn.execute("UPDATE identities SET side = NULL WHERE side = ?", (side,))
        conn.execute("UPDATE identities SET side = ? WHERE id = ?", (side, identity_id))
        journal.record("side", f"{name} is side {side}" if side else f"{name} has no side")


@dataclass(frozen=True)
class FilterVerdict:
    """An identity filter's judgement of one face: why it is dropped (None: kept) and its
    distance to the nearest --filter face (None without --filter photos)."""
    face_id: int
    rejected: str | None
    distance: float | None


def apply_identity_filter(conn: sqlite3.Connection, verdicts: Sequence[FilterVerdict],
                          summary: str) -> int:
    """Record every judged face's filter distance and mark the dropped ones rejected with
    their reason (a face already rejected keeps its first reason), as one undoable review
    action; returns how many faces it dropped."""
    face_ids = [v.face_id for v in verdicts]
    with write(conn):
        check_faces(conn, face_ids)
        journal = Journal(conn)
        journal.capture_ids("faces", "id", face_ids)
        conn.executemany(
            "UPDATE faces SET rejected = COALESCE(rejected, ?), filter_distance = ? WHERE id = ?",
            [(v.rejected, v.distance, v.face_id) for v in verdicts])
        journal.record("filter", summary)
    return sum(v.rejected is not None for v in verdicts)
