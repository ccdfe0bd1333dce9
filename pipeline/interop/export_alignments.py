"""The `export-alignments` job: a source's faces as a faceswap alignments file (`.fsa`), so
that faceswap can convert the video (or frames) with them. Every frame looked at is listed,
with the faces a conversion swaps (kept, not flagged as not faces) in their order (faceswap's
face index); each face has its box, its 68 points and our landmark masks (and its hand-made
label as the `custom` mask)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.atomic_files import atomic_write
from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.interop import faceswap
from pipeline.interop.export_faces import faceswap_masks, frame_name
from pipeline.registry import job_kind
from store import faces, interop, sources
from store.files.contained import requested


@job_kind("export-alignments")
def export_alignments(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Write source `source_id`'s faces to `file` (replaced whole, never half-written)."""
    try:
        source = sources.get(ctx.conn, int(params["source_id"]))
    except sources.SourceNotFoundError as exc:
        raise JobError(str(exc)) from None
    out = Path(params["file"])
    requested(ctx.project.root, out, where=f"jobs row {ctx.job_id} (file {out})")
    swapped = interop.swapped_face_ids(ctx.conn, source.id)
    kept = [face for face in faces.list_faces(ctx.conn, source.id) if face.id in swapped]
    if not kept:
        raise JobError(f"source {source.id} ({source.name}) has no faces: extract it first")
    by_frame: dict[int, list[faces.Face]] = defaultdict(list)
    for face in kept:
        by_frame[face.frame_id].append(face)
    listed = {f.id: f for f in interop.processed_frames(ctx.conn, source.id)}
    for at in interop.frames_of_faces(ctx.conn, [f.id for f in kept]).values():
        listed[at.frame.id] = at.frame   # faces imported into frames no extraction looked at
    entries: dict[str, list[dict[str, Any]]] = {}
    for done, frame in enumerate(sorted(listed.values(), key=lambda f: f.idx), 1):
        ctx.checkpoint()
        entries[frame_name(source, frame.idx, frame.path, "faceswap")] = [
            faceswap.face_entry(face.box, face.landmarks, faceswap_masks(ctx.conn, face))
            for face in sorted(by_frame.get(frame.id, []), key=lambda f: f.face_idx)]
        ctx.progress(done, len(listed), f"frame {done}/{len(listed)}")
    data = faceswap.alignments_file(entries)
    atomic_write(out, lambda temp: temp.write_bytes(data))
    message = f"{len(kept)} faces of {len(entries)} frames written to {out}"
    return {"message": message, "faces": len(kept), "frames": len(entries), "file": str(out)}
