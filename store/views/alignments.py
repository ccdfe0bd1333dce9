"""A source's frames as the Alignments review sees them: how many faces each frame has, whose,
and the signs of a bad alignment, with faceswap's frame filters over them.

A landmark jump is how far a face's 68 points moved from the same track's face in the
previous extracted frame, the head's own move taken out (both sets centred on their mean;
mean distance, as a share of the box side): points that change shape from one frame to the
next are misaligned in one of them.

A frame is in a track's gap when the track has a face in an extracted frame before it and
in one after it, but none in it: a face detection missed there.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

from store.faces import from_blob


@dataclass(frozen=True)
class FrameFaces:
    idx: int
    time: float | None                   # seconds into the video
    faces: int                           # faces kept at extraction (and placed by tracking)
    people: tuple[str | None, ...]       # each face's person (None: nobody named)
    flagged: int                         # of them, flagged as probably not faces
    jump: float | None                   # the largest landmark jump of its faces
    low_score: float | None              # the lowest detection score of its faces
    face_ids: tuple[int, ...] = field(default=())
    tracks: tuple[int | None, ...] = field(default=())   # each face's track
    gaps: tuple[int, ...] = field(default=())   # tracks with faces before and after, not here

    def to_json(self) -> dict:
        return {**self.__dict__, "people": list(self.people), "face_ids": list(self.face_ids),
                "tracks": list(self.tracks), "gaps": list(self.gaps)}


@dataclass(frozen=True)
class FaceOnFrame:
    """One face of a frame, as the Alignments screen draws it."""
    id: int
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in frame pixels
    landmarks: np.ndarray                    # (68, 2) frame pixels, iBUG order
    score: float
    person: str | None
    track_id: int | None
    flag: str | None                         # why it is probably not a face
    manual: bool                             # placed by hand


@dataclass(frozen=True)
class FrameFilter:
    """Frames to show; every given condition must hold."""
    no_face: bool = False
    multi: bool = False
    person: str | None = None            # frames without a face of this person
    jumps: float | None = None           # a landmark jump above this
    low_score: float | None = None       # a detection score below this
    track_gaps: bool = False             # frames in a gap of a track

    def keeps(self, frame: FrameFaces) -> bool:
        checks = [(self.no_face, frame.faces == 0), (self.multi, frame.faces > 1),
                  (self.track_gaps, bool(frame.gaps)),
                  (self.person is not None, self.person not in frame.people),
                  (self.jumps is not None,
                   frame.jump is not None and frame.jump > (self.jumps or 0)),
                  (self.low_score is not None,
                   frame.low_score is not None and frame.low_score < (self.low_score or 0))]
        return all(holds for wanted, holds in checks if wanted)


def source_frames(conn: sqlite3.Connection, source_id: int) -> list[FrameFaces]:
    """Every frame extraction looked at, in order, with its faces' summary."""
    frames = conn.execute(
        """SELECT fr.id, fr.idx, CASE WHEN s.kind = 'video' THEN COALESCE(fr.time, fr.idx / s.fps)
                  END FROM frames fr JOIN sources s ON s.id = fr.source_id
           WHERE fr.source_id = ? AND fr.processed = 1 ORDER BY fr.idx""", (source_id,)).fetchall()
    faces: dict[int, list[sqlite3.Row]] = {}
    for row in conn.execute(
            """SELECT f.id, f.frame_id, f.track_id, f.score, f.flag, f.x0, f.x1, f.landmarks,
                      i.name FROM faces f LEFT JOIN identities i ON i.id = f.identity_id
               WHERE f.source_id = ? AND f.rejected IS NULL ORDER BY f.face_idx""",
            (source_id,)):
        faces.setdefault(row["frame_id"], []).append(row)
    gaps = _track_gaps([[r["track_id"] for r in faces.get(f["id"], [])] for f in frames])
    last_seen: dict[int, np.ndarray] = {}   # track -> its face's landmarks in the last frame
    listed = []
    for (frame_id, idx, seconds), missing in zip(frames, gaps):
        rows = faces.get(frame_id, [])
        jumps = [_jump(row, last_seen) for row in rows]
        known = [j for j in jumps if j is not None]
        listed.append(FrameFaces(
            idx, seconds, len(rows), tuple(r["name"] for r in rows),
            sum(r["flag"] is not None for r in rows), max(known) if known else None,
            min((r["score"] for r in rows), default=None), tuple(r["id"] for r in rows),
            tuple(r["track_id"] for r in rows), tuple(sorted(missing))))
    return listed


def _track_gaps(tracks_by_frame: list[list[int | None]]) -> list[set[int]]:
    """For each frame (in order, by the tracks of its faces), the tracks in a gap there."""
    gaps: list[set[int]] = [set() for _ in tracks_by_frame]
    last: dict[int, int] = {}   # track -> the position of its latest frame
    for position, tracks in enumerate(tracks_by_frame):
        for track in set(tracks) - {None}:
            for missed in range(last.get(track, position) + 1, position):
                gaps[missed].add(track)
            last[track] = position
    return gaps


def frame_faces(conn: sqlite3.Connection, source_id: int, idx: int) -> list[FaceOnFrame]:
    """The faces kept in one extracted frame (none when it was not extracted), in order."""
    rows = conn.execute(
        """SELECT f.id, f.x0, f.y0, f.x1, f.y1, f.landmarks, f.score, i.name, f.track_id,
                  f.flag, f.manual
           FROM faces f JOIN frames fr ON fr.id = f.frame_id
           LEFT JOIN identities i ON i.id = f.identity_id
           WHERE f.source_id = ? AND fr.idx = ? AND fr.processed = 1 AND f.rejected IS NULL
           ORDER BY f.face_idx""", (source_id, idx))
    return [FaceOnFrame(r["id"], (r["x0"], r["y0"], r["x1"], r["y1"]),
                        from_blob(r["landmarks"], (68, 2)), r["score"], r["name"],
                        r["track_id"], r["flag"], bool(r["manual"])) for r in rows]


def _jump(row: sqlite3.Row, last_seen: dict[int, np.ndarray]) -> float | None:
    """The face's landmark jump from its track's previous face; remembers this one."""
    if row["track_id"] is None:
        return None
    points = from_blob(row["landmarks"], (68, 2))
    before = last_seen.get(row["track_id"])
    last_seen[row["track_id"]] = points
    if before is None:
        return None
    side = max(row["x1"] - row["x0"], 1.0)
    moved = (points - points.mean(axis=0)) - (before - before.mean(axis=0))
    return float(np.linalg.norm(moved, axis=1).mean() / side)
