"""The `export` job: a faceset as a folder of aligned PNGs (the stored crops, lossless from
here on), named so a file manager sorts them by source and frame."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.registry import job_kind
from store import faces, identities


def _chosen_faces(ctx: JobContext, person: str | None,
                  include_excluded: bool) -> list[faces.Face]:
    chosen = [f for f in faces.list_faces(ctx.conn, include_rejected=False)
              if include_excluded or not f.excluded]
    if person is None:
        return chosen
    try:
        identity_id = identities.find_identity(ctx.conn, person)
    except identities.IdentityError as exc:
        raise JobError(str(exc)) from exc
    return [f for f in chosen if f.identity_id == identity_id]


@job_kind("export")
def export_faces(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    folder = Path(params["folder"])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"cannot make the folder {folder}: {exc.strerror}") from exc
    chosen = _chosen_faces(ctx, params.get("person"), bool(params.get("include_excluded")))
    if not chosen:
        raise JobError("no faces to export (extract first, or check --person)")
    for done, face in enumerate(chosen, 1):
        ctx.checkpoint()
        crop = cv2.imdecode(np.frombuffer(faces.face_image(ctx.conn, face.id).data, np.uint8),
                            cv2.IMREAD_COLOR)
        name = f"s{face.source_id:03d}_f{face.frame_idx:06d}_{face.face_idx}_id{face.id}.png"
        ok, png = cv2.imencode(".png", crop)
        if not ok:
            raise JobError(f"face {face.id}: its stored crop could not be encoded")
        temporary = folder / f".{name}.part"
        temporary.write_bytes(png.tobytes())
        os.replace(temporary, folder / name)  # never a half-written PNG under its real name
        ctx.progress(done, len(chosen), f"exported {done}/{len(chosen)} faces")
    return {"message": f"{len(chosen)} faces exported to {folder}", "faces": len(chosen),
            "folder": str(folder)}
