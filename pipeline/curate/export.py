"""The `export` job: a faceset as a folder of aligned PNGs (the stored crops, lossless from
here on), named so a file manager sorts them by source and frame; or (`format`) as faceswap
face PNGs or DeepFaceLab aligned JPGs (pipeline/interop/export_faces.py). The folder is the
one the request names; one in the project folder must still be inside it when the job runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2

from pipeline.atomic_files import atomic_write, remove_stale_temps
from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.inline_images import decode_inline
from pipeline.interop.export_faces import export_faceset
from pipeline.registry import job_kind
from store import faces, identities
from store.files.contained import requested


def _chosen_faces(ctx: JobContext, person: str | None, include_excluded: bool,
                  source_id: int | None = None) -> list[faces.Face]:
    chosen = [f for f in faces.list_faces(ctx.conn, source_id, include_rejected=False)
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
    requested(ctx.project.root, folder, where=f"jobs row {ctx.job_id} (folder {folder})")
    source_id = params.get("source_id")
    chosen = _chosen_faces(ctx, params.get("person"), bool(params.get("include_excluded")),
                           None if source_id is None else int(source_id))
    if not chosen:
        raise JobError("no faces to export (extract first, or check --person and --source)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"cannot make the folder {folder}: {exc.strerror}") from exc
    remove_stale_temps(folder)   # a killed attempt's half-written PNGs
    if params.get("format", "png") != "png":
        return export_faceset(ctx, chosen, folder, params["format"])
    for done, face in enumerate(chosen, 1):
        ctx.checkpoint()
        crop = decode_inline(faces.face_image(ctx.conn, face.id).data, cv2.IMREAD_COLOR,
                             f"face {face.id}")
        ok, png = cv2.imencode(".png", crop) if crop is not None else (False, None)
        if not ok:
            raise JobError(f"face {face.id}: its stored crop could not be read")
        name = f"s{face.source_id:03d}_f{face.frame_idx:06d}_{face.face_idx}_id{face.id}.png"
        # never a half-written PNG under its real name
        atomic_write(folder / name, lambda temp: temp.write_bytes(png.tobytes()))
        ctx.progress(done, len(chosen), f"exported {done}/{len(chosen)} faces")
    return {"message": f"{len(chosen)} faces exported to {folder}", "faces": len(chosen),
            "folder": str(folder)}
