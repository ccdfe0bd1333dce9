"""Orderings and filters of the face grid: faceswap's sort keys as queries, never renames.

Histogram similarity needs pixels, so it is computed by the pipeline, not here.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# Sort key -> ORDER BY clause. `distance` puts outliers (far from their cluster centre) first.
SORT_KEYS = {
    "frame": "f.source_id, fr.idx, f.face_idx",
    "distance": "m.distance DESC",
    "blur": "f.blur ASC",
    "yaw": "ABS(f.yaw) DESC",
    "pitch": "ABS(f.pitch) DESC",
    "size": "f.size ASC",
    "score": "f.score ASC",
}
SORT_HELP = {
    "frame": "source, then frame order",
    "distance": "farthest from the cluster centre first (outliers: likely someone else)",
    "blur": "blurriest first",
    "yaw": "most turned first",
    "pitch": "most tilted up or down first",
    "size": "smallest in the frame first",
    "score": "least confident detection first",
}
FILTERS = {
    "excluded": "f.excluded = 1",
    "included": "f.excluded = 0",
    "rejected": "f.rejected IS NOT NULL",
    "kept": "f.rejected IS NULL",
    "multiple": "(SELECT COUNT(*) FROM faces g WHERE g.frame_id = f.frame_id) > 1",
}
FILTER_HELP = {
    "excluded": "only faces left out of training",
    "included": "only faces not excluded",
    "rejected": "only faces rejected at extraction (with the reason)",
    "kept": "only faces kept at extraction",
    "multiple": "only faces that share their frame with another face",
}


@dataclass(frozen=True)
class FaceListing:
    id: int
    source_id: int
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

    def to_json(self) -> dict:
        return {**self.__dict__}


class FaceQueryError(ValueError):
    pass


def list_faces(conn: sqlite3.Connection, *, sort: str = "frame", filters: tuple[str, ...] = (),
               person: str | None = None, cluster_id: int | None = None,
               max_blur: float | None = None, limit: int | None = None,
               offset: int = 0) -> list[FaceListing]:
    """A page of faces in the chosen order; `max_blur` keeps the low-quality ones only."""
    if sort not in SORT_KEYS:
        raise FaceQueryError(f"unknown sort {sort!r} (known: {', '.join(SORT_KEYS)})")
    unknown = [f for f in filters if f not in FILTERS]
    if unknown:
        raise FaceQueryError(f"unknown filter {', '.join(unknown)} (known: {', '.join(FILTERS)})")
    clauses = [FILTERS[f] for f in filters]
    args: list = []
    if person is not None:
        clauses.append("i.name = ?")
        args.append(person)
    if cluster_id is not None:
        clauses.append("m.cluster_id = ?")
        args.append(cluster_id)
    if max_blur is not None:
        clauses.append("f.blur < ?")
        args.append(max_blur)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"""SELECT f.id, f.source_id, fr.idx AS frame_idx, f.face_idx, i.name AS identity,
                   m.cluster_id, m.distance, f.blur, f.yaw, f.pitch, f.size, f.score,
                   f.excluded, f.rejected
            FROM faces f JOIN frames fr ON fr.id = f.frame_id
            LEFT JOIN identities i ON i.id = f.identity_id
            LEFT JOIN cluster_members m ON m.face_id = f.id
                 AND m.run_id = (SELECT MAX(id) FROM cluster_runs)
            {where} ORDER BY {SORT_KEYS[sort]}, f.id LIMIT ? OFFSET ?""",
        (*args, -1 if limit is None else limit, offset),
    )
    return [FaceListing(**{**dict(r), "excluded": bool(r["excluded"])}) for r in rows]
