"""The `identity-filter` job: faceswap's --filter / --nfilter on faces already extracted.

The reference photos become descriptors exactly as at extraction (the same extractor and
settings), every kept face of the chosen sources is judged by the same `IdentityFilter`,
and the faces it drops are marked rejected with the reason extraction would have given,
in one review action that `swapdeck faces PROJECT undo` takes back.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.job import filtering_extractor
from pipeline.registry import job_kind
from store import identities, pixel_limit
from store.requests.extract import ExtractSettings
from store.faces import DESCRIPTOR_MODEL


def _settings(params: dict[str, Any]) -> ExtractSettings:
    """Extraction's settings with these reference photos and threshold; JobError if unusable."""
    keep = tuple(str(p) for p in params.get("filter", []))
    drop = tuple(str(p) for p in params.get("nfilter", []))
    if not keep and not drop:
        raise JobError("no reference photos: give --filter photos of the people to keep "
                       "and/or --nfilter photos of the people to drop")
    for photo in (*keep, *drop):
        if not Path(photo).is_file():
            raise JobError(f"no such reference photo: {photo}")
    settings = ExtractSettings(filter=keep, nfilter=drop, threshold=float(
        params.get("threshold", ExtractSettings.threshold)))
    if problems := settings.problems():
        raise JobError("; ".join(problems))
    return settings


@job_kind("identity-filter")
def identity_filter(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(params)
    source_ids = [int(s) for s in params.get("source_ids", [])]
    face_ids, vectors = identities.descriptors(ctx.conn, source_ids, DESCRIPTOR_MODEL)
    if not face_ids:
        where = f"sources {', '.join(map(str, source_ids))}" if source_ids else "this project"
        raise JobError(f"no kept faces to judge in {where}: extract first (swapdeck extract)")
    total = len(face_ids)
    photos = len(settings.filter) + len(settings.nfilter)
    ctx.progress(0, total, f"reading {photos} reference photo{'s' if photos != 1 else ''}",
                 force=True)
    judge = filtering_extractor(settings, pixel_limit.get(ctx.conn)).identity
    verdicts = []
    for done, (face_id, vector) in enumerate(zip(face_ids, vectors), 1):
        ctx.checkpoint()
        rejected, distance = judge.judge(vector)
        verdicts.append(identities.FilterVerdict(face_id, rejected, distance))
        ctx.progress(done, total, f"judged {done}/{total} faces")
    dropped = sum(v.rejected is not None for v in verdicts)
    summary = f"identity filter dropped {dropped} of {total} faces"
    ctx.checkpoint()
    try:
        identities.apply_identity_filter(ctx.conn, verdicts, summary)
    except identities.IdentityError as exc:  # faces deleted meanwhile (extracted again)
        raise JobError(f"the faces changed while they were judged ({exc}): run it again") from exc
    ctx.progress(total, total, summary, force=True)
    return {"message": summary, "dropped": dropped, "faces": total,
            "kept": total - dropped}
