"""The `align-edit` job: place a face by hand in one frame, as the Alignments review asks.

`set-box`: the aligner places the 68 points in a box the user drew (a missed face, or a
face whose points are off: `replaces` names it). `copy`: the face of the nearest frame (the largest, or
the one of a given track, or a given face) is carried over (its box, the aligner refining the points) and keeps its person and track
(`track`: that track's face, not the frame's largest). `set-points`: the face's points
moved by hand replace it as given, not aligned again; its box moves with the points (by
their median move, so a moved mouth leaves it where it was and a moved face takes it along).
Each way the face gets its crop, masks, quality and descriptor as extraction gives them.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.backends import Detection
from pipeline.extract.extractor import FaceExtractor
from pipeline.extract.frames import read_frames
from pipeline.extract.job import usable_source
from pipeline.registry import job_kind
from store import faces, manual_faces, pixel_limit, sources
from store.faces import NewFace, PendingFrame, from_blob
from store.landmark_groups import POINTS
from store.requests.extract import ExtractSettings


@job_kind("align-edit")
def align_edit(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    source = usable_source(ctx, int(params["source_id"]))
    extraction = faces.get_extraction(ctx.conn, source.id)
    if extraction is None:
        raise JobError(f"source {source.id} is not extracted yet: extract it first")
    frame = _frame(ctx, source.id, int(params["frame"]))
    settings = ExtractSettings.from_json(extraction.settings)
    if params["action"] == "set-points":
        face, replaces = _with_points(ctx, source, frame, settings, params)
        like = None
    else:
        box, like = _box_and_kin(ctx, source.id, params)
        image = _decode(ctx, source, frame)
        [face] = FaceExtractor(settings).place(frame.id, image, [Detection(box, 1.0)])
        replaces = params.get("replaces")
    face_id = manual_faces.add_face(ctx.conn, source.id, face, replaces=replaces, like=like)
    again = "move the points" if params["action"] == "set-points" else "draw the box"
    doubt = f"; its points look wrong ({face.rejected}): {again} again" if face.rejected else ""
    return {"message": f"face {face_id} placed in frame {frame.idx}{doubt}",
            "face_id": face_id, "source_id": source.id}


def _with_points(ctx: JobContext, source: sources.Source, frame: PendingFrame,
                 settings: ExtractSettings, params: dict[str, Any]) -> tuple[NewFace, int]:
    """The face with the given points that replaces `face`, and that face's id."""
    old = ctx.conn.execute("SELECT id, x0, y0, x1, y1, landmarks FROM faces WHERE id = ? AND"
                           " frame_id = ? AND rejected IS NULL",
                           (int(params["face"]), frame.id)).fetchone()
    if old is None:
        raise JobError(f"face {params['face']} is not a kept face of frame {frame.idx}")
    image = _decode(ctx, source, frame)
    points = _points(params["points"], image.shape)
    dx, dy = np.median(points - from_blob(old["landmarks"], (POINTS, 2)), axis=0)
    box = (old["x0"] + dx, old["y0"] + dy, old["x1"] + dx, old["y1"] + dy)
    face = FaceExtractor(settings).with_points(frame.id, image, Detection(box, 1.0), points)
    return face, old["id"]


def _points(given: object, shape: tuple[int, ...]) -> np.ndarray:
    """68 finite (x, y) points inside a frame of `shape`; JobError otherwise."""
    try:
        points = np.asarray(given, np.float64)
    except (TypeError, ValueError):
        points = np.empty(0)
    if points.shape != (POINTS, 2) or not np.isfinite(points).all():
        raise JobError(f"set-points takes {POINTS} points as [x, y] pairs of finite numbers")
    rows, cols = shape[:2]
    outside = np.flatnonzero((points < 0).any(axis=1) | (points[:, 0] > cols)
                             | (points[:, 1] > rows))
    if outside.size:
        x, y = points[outside[0]]
        raise JobError(f"point {outside[0]} ({x:g}, {y:g}) is outside the {cols}x{rows} frame")
    return points


def _frame(ctx: JobContext, source_id: int, idx: int) -> PendingFrame:
    row = ctx.conn.execute("SELECT id, idx, pts, path FROM frames WHERE source_id = ? AND"
                           " idx = ?", (source_id, idx)).fetchone()
    if row is None:
        raise JobError(f"source {source_id} has no frame {idx}")
    return PendingFrame(row["id"], row["idx"], row["pts"], row["path"])


def _box_and_kin(ctx: JobContext, source_id: int,
                 params: dict[str, Any]) -> tuple[tuple[float, ...], int | None]:
    """The box to align in, and the face whose person and track the new one takes."""
    if params["action"] == "set-box":
        x, y, width, height = (float(v) for v in params["box"])
        if width < 8 or height < 8:
            raise JobError(f"a box must be at least 8 px a side, not {width:g}x{height:g}")
        return (x, y, x + width, y + height), None
    track, face = params.get("track"), params.get("face")
    rows = ctx.conn.execute(
        "SELECT f.id, f.x0, f.y0, f.x1, f.y1 FROM faces f JOIN frames fr ON fr.id = f.frame_id"
        " WHERE f.source_id = ? AND fr.idx = ? AND f.rejected IS NULL"
        " AND (? IS NULL OR f.track_id = ?) AND (? IS NULL OR f.id = ?)",
        (source_id, int(params["from"]), track, track, face, face))
    found = rows.fetchall()
    if not found:
        which = f" of track {track}" if track is not None else \
            f" {face}" if face is not None else ""
        raise JobError(f"frame {params['from']} of source {source_id} has no face{which} "
                       "to copy")
    chosen = max(found, key=lambda r: (r["x1"] - r["x0"]) * (r["y1"] - r["y0"]))
    return (chosen["x0"], chosen["y0"], chosen["x1"], chosen["y1"]), chosen["id"]


def _decode(ctx: JobContext, source: sources.Source, frame: PendingFrame) -> np.ndarray:
    for loaded in read_frames(source, [frame], threading.Event(), pixel_limit.get(ctx.conn)):
        if loaded.image is not None:
            return loaded.image
        raise JobError(f"cannot read frame {frame.idx} of {source.path}: {loaded.error}")
    raise JobError(f"frame {frame.idx} of {source.path} could not be decoded")
