"""The `align-edit` job: place a face by hand in one frame, as the Alignments review asks.

`set-box`: the aligner places the 68 points in a box the user drew (a missed face, or a
face whose points are off: `replaces` names it). `copy`: the face of the nearest frame is
carried over (its box, the aligner refining the points) and keeps its person and track.
Either way the face gets its crop, masks, quality and descriptor as extraction gives them.
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
from store.faces import PendingFrame
from store.requests.extract import ExtractSettings


@job_kind("align-edit")
def align_edit(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    source = usable_source(ctx, int(params["source_id"]))
    extraction = faces.get_extraction(ctx.conn, source.id)
    if extraction is None:
        raise JobError(f"source {source.id} is not extracted yet: extract it first")
    frame = _frame(ctx, source.id, int(params["frame"]))
    box, like = _box_and_kin(ctx, source.id, params)
    image = _decode(ctx, source, frame)
    extractor = FaceExtractor(ExtractSettings.from_json(extraction.settings))
    [face] = extractor.place(frame.id, image, [Detection(box, 1.0)])
    face_id = manual_faces.add_face(ctx.conn, source.id, face, replaces=params.get("replaces"),
                                    like=like)
    doubt = f"; its points look wrong ({face.rejected}): draw the box again" \
        if face.rejected else ""
    return {"message": f"face {face_id} placed in frame {frame.idx}{doubt}",
            "face_id": face_id, "source_id": source.id}


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
    rows = ctx.conn.execute(
        "SELECT f.id, f.x0, f.y0, f.x1, f.y1 FROM faces f JOIN frames fr ON fr.id = f.frame_id"
        " WHERE f.source_id = ? AND fr.idx = ? AND f.rejected IS NULL", (source_id,
                                                                         int(params["from"])))
    found = rows.fetchall()
    if not found:
        raise JobError(f"frame {params['from']} of source {source_id} has no face to copy")
    chosen = max(found, key=lambda r: (r["x1"] - r["x0"]) * (r["y1"] - r["y0"]))
    return (chosen["x0"], chosen["y0"], chosen["x1"], chosen["y1"]), chosen["id"]


def _decode(ctx: JobContext, source: sources.Source, frame: PendingFrame) -> np.ndarray:
    for loaded in read_frames(source, [frame], threading.Event(), pixel_limit.get(ctx.conn)):
        if loaded.image is not None:
            return loaded.image
        raise JobError(f"cannot read frame {frame.idx} of {source.path}: {loaded.error}")
    raise JobError(f"frame {frame.idx} of {source.path} could not be decoded")
