"""Orderings and filters of the face grid: faceswap's sort keys as queries, never renames.

Histogram similarity needs pixels, so it is computed by the pipeline, not here: the
`histogram` job stores each face's place in its order as `faces.hist_rank`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from store.schema.connection import rows_in

# Sort key -> ORDER BY clause. `distance` puts outliers (far from their cluster centre) first.
SORT_KEYS = {
    "frame": "f.source_id, fr.idx, f.face_idx",
    "distance": "m.distance DESC",
    "blur": "f.blur ASC",
    "yaw": "ABS(f.yaw) DESC",
    "pitch": "ABS(f.pitch) DESC",
    "size": "f.size ASC",
    "score": "f.score ASC",
    "histogram": "f.hist_rank IS NULL, f.hist_rank",
}
SORT_HELP = {
    "frame": "source, then frame order",
    "distance": "farthest from the cluster centre first (outliers: likely someone else)",
    "blur": "blurriest first",
    "yaw": "most turned first",
    "pitch": "most tilted up or down first",
    "size": "smallest in the frame first",
    "score": "least confident detection first",
    "histogram": "similar colours together (faceswap's hist; run swapdeck faces PROJECT "
                 "histogram first)",
}
FILTERS = {
    "excluded": "f.excluded = 1",
    "included": "f.excluded = 0",
    "rejected": "f.rejected IS NOT NULL",
    "kept": "f.rejected IS NULL",
    "multiple": "(SELECT COUNT(*) FROM faces g WHERE g.frame_id = f.frame_id) > 1",
    "flagged": "f.flag IS NOT NULL",
    "tracked": "f.tracked = 1",
    "blurry": """f.blur <= (SELECT blur FROM faces ORDER BY blur
                 LIMIT 1 OFFSET (SELECT COUNT(*) FROM faces) / 10)""",
}
FILTER_HELP = {
    "excluded": "only faces left out of training",
    "included": "only faces not excluded",
    "rejected": "only faces rejected at extraction (with the reason)",
    "kept": "only faces kept at extraction",
    "multiple": "only faces that share their frame with another face",
    "flagged": "only faces flagged as probably not faces (left out of clustering and training "
               "until restored)",
    "tracked": "only faces placed by tracking where detection missed them",
    "blurry": "low quality: only the blurriest tenth of the project's faces",
}


@dataclass(frozen=True)
class FaceListing:
    id: int
    source_id: int
    source_file: str          # the video or image it came from (a folder's: its image)
    time: float | None        # seconds into the video (None for images)
    frame_idx: int
    face_idx: int
    identity: str | None
    cluster_id: int | None
    distance: float | None
    blur: float
    yaw: float
    pitch: float
    size: float
    score: float
    excluded: bool
    rejected: str | None
    track_id: int | None      # the track it belongs to (None: tracked with no other face)
    tracked: bool             # placed by tracking where detection missed it
    flag: str | None          # why it is probably not a face

    def to_json(self) -> dict:
        return {**self.__dict__}


class FaceQueryError(ValueError):
    pass


def _order(sort: str) -> str:
    if sort not in SORT_KEYS:
        raise FaceQueryError(f"unknown sort {sort!r} (known: {', '.join(SORT_KEYS)})")
    return f"{SORT_KEYS[sort]}, f.id"


def _where(filters: tuple[str, ...], person: str | None, identity_id: int | None,
           cluster_id: int | None, unclustered: bool, max_blur: float | None,
           track_id: int | None = None, flagged: bool | None = None) -> tuple[str, list]:
    """`flagged`: True only faces flagged as probably not faces, False none of them."""
    unknown = [f for f in filters if f not in FILTERS]
    if unknown:
        raise FaceQueryError(f"unknown filter {', '.join(unknown)} (known: {', '.join(FILTERS)})")
    clauses = [FILTERS[f] for f in filters]
    args: list = []
    for clause, value in (("i.name = ?", person), ("f.identity_id = ?", identity_id),
                          ("m.cluster_id = ?", cluster_id), ("f.blur < ?", max_blur),
                          ("f.track_id = ?", track_id)):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    if unclustered:
        clauses.append("m.cluster_id IS NULL")
    if flagged is not None:
        clauses.append("f.flag IS NOT NULL" if flagged else "f.flag IS NULL")
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


_FROM = """FROM faces f JOIN frames fr ON fr.id = f.frame_id JOIN sources s ON s.id = f.source_id
            LEFT JOIN identities i ON i.id = f.identity_id
            LEFT JOIN cluster_members m ON m.face_id = f.id
                 AND m.run_id = (SELECT MAX(id) FROM cluster_runs)"""
# A frame's time is its pts in seconds, recorded at ingest; idx / fps where none was.
_LISTING = """SELECT f.id, f.source_id,
                   CASE WHEN s.kind = 'folder' THEN s.path || '/' || fr.path ELSE s.path END
                       AS source_file,
                   CASE WHEN s.kind = 'video' THEN COALESCE(fr.time, fr.idx / s.fps) END AS time,
                   fr.idx AS frame_idx, f.face_idx, i.name AS identity,
                   m.cluster_id, m.distance, f.blur, f.yaw, f.pitch, f.size, f.score,
                   f.excluded, f.rejected, f.track_id, f.tracked, f.flag"""


def _listing(row: sqlite3.Row) -> FaceListing:
    return FaceListing(**{**dict(row), "excluded": bool(row["excluded"]),
                          "tracked": bool(row["tracked"])})


def list_faces(conn: sqlite3.Connection, *, sort: str = "frame", filters: tuple[str, ...] = (),
               person: str | None = None, identity_id: int | None = None,
               cluster_id: int | None = None, unclustered: bool = False,
               max_blur: float | None = None, limit: int | None = None,
               offset: int = 0, track_id: int | None = None,
               flagged: bool | None = None) -> list[FaceListing]:
    """A page of faces in the chosen order; `max_blur` keeps the low-quality ones only."""
    where, args = _where(filters, person, identity_id, cluster_id, unclustered, max_blur,
                         track_id, flagged)
    rows = conn.execute(f"{_LISTING} {_FROM} {where} ORDER BY {_order(sort)}"
                        " LIMIT ? OFFSET ?", (*args, -1 if limit is None else limit, offset))
    return [_listing(r) for r in rows]


def count_faces(conn: sqlite3.Connection, *, filters: tuple[str, ...] = (),
                person: str | None = None, identity_id: int | None = None,
                cluster_id: int | None = None, unclustered: bool = False,
                max_blur: float | None = None, track_id: int | None = None,
                flagged: bool | None = None) -> int:
    """How many faces match: the total that `list_faces` pages through."""
    where, args = _where(filters, person, identity_id, cluster_id, unclustered, max_blur,
                         track_id, flagged)
    return conn.execute(f"SELECT COUNT(*) {_FROM} {where}", args).fetchone()[0]


def face_ids(conn: sqlite3.Connection, *, sort: str = "frame", filters: tuple[str, ...] = (),
             identity_id: int | None = None, cluster_id: int | None = None,
             unclustered: bool = False, track_id: int | None = None,
             flagged: bool | None = None) -> list[int]:
    """Every matching face's id in the chosen order: the review grid pages through these."""
    where, args = _where(filters, None, identity_id, cluster_id, unclustered, None, track_id,
                         flagged)
    return [r[0] for r in conn.execute(
        f"SELECT f.id {_FROM} {where} ORDER BY {_order(sort)}", args)]


def listings(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, FaceListing]:
    """The listings of the given faces, by id."""
    rows = rows_in(conn, f"{_LISTING} {_FROM} WHERE f.id IN ({{ids}})", ids)
    return {r["id"]: _listing(r) for r in rows}


def thumbnails(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """The encoded thumbnails (JPEG/PNG bytes) of the given faces, by id; faces without one
    are left out."""
    return dict(rows_in(conn, "SELECT face_id, data FROM face_thumbs WHERE face_id IN ({ids})",
                        ids))



def histogram_ranked(conn: sqlite3.Connection) -> bool:
    """Whether every kept face has its place in the histogram order (else the `histogram`
    sort lists the unranked ones last, and the job should run)."""
    return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM faces WHERE rejected IS NULL"
                        " AND hist_rank IS NULL)").fetchone()[0] == 1

@dataclass(frozen=True)
class Group:
    """One line of the review sidebar: a set of faces to look at."""
    kind: str                 # "all", "flagged", "person", "cluster" or "unclustered"
    key: int | None           # the person's or cluster's id
    label: str
    count: int                # faces for training: kept at extraction, not excluded
    side: str | None = None
    person: str | None = None  # the person's name, or the cluster's


def groups(conn: sqlite3.Connection) -> list[Group]:
    """Everyone, then the people (sides first), then the clusters of the newest run, each
    counting the faces the grid's default filter shows and training takes (not rejected,
    not excluded, not flagged as probably not faces), so the sidebar and the Train form
    give one number per person. The flagged faces waiting for a look come second."""
    kept = "f.rejected IS NULL AND f.excluded = 0 AND f.flag IS NULL"
    total = conn.execute(f"SELECT COUNT(*) FROM faces f WHERE {kept}").fetchone()[0]
    found = [Group("all", None, "All faces", total)]
    flagged = conn.execute("SELECT COUNT(*) FROM faces f WHERE f.rejected IS NULL AND"
                           " f.excluded = 0 AND f.flag IS NOT NULL").fetchone()[0]
    if flagged:
        found.append(Group("flagged", None, "probably not faces", flagged))
    for row in conn.execute(
            f"""SELECT i.id, i.name, i.side, COUNT(f.id) FROM identities i
                LEFT JOIN faces f ON f.identity_id = i.id AND {kept}
                GROUP BY i.id ORDER BY i.side IS NULL, i.side, i.name"""):
        found.append(Group("person", row[0], row[1], row[3], row[2], row[1]))
    run_id = conn.execute("SELECT MAX(id) FROM cluster_runs").fetchone()[0]
    if run_id is None:
        return found
    for row in conn.execute(
            f"""SELECT c.id, i.name, COUNT(f.id) FROM clusters c
                LEFT JOIN identities i ON i.id = c.identity_id
                JOIN cluster_members m ON m.cluster_id = c.id
                JOIN faces f ON f.id = m.face_id AND {kept}
                WHERE c.run_id = ? GROUP BY c.id ORDER BY c.idx""", (run_id,)):
        label = f"cluster {row[0]}" + (f": {row[1]}" if row[1] else "")
        found.append(Group("cluster", row[0], label, row[2], person=row[1]))
    unclustered = conn.execute(
        f"""SELECT COUNT(*) FROM faces f WHERE {kept} AND NOT EXISTS (SELECT 1 FROM
            cluster_members m WHERE m.face_id = f.id AND m.run_id = ?)""", (run_id,)).fetchone()[0]
    if unclustered:
        found.append(Group("unclustered", None, "not clustered", unclustered))
    return found
