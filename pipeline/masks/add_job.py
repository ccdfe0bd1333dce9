"""The `mask-add` job: one mask kind computed for every kept face of the chosen sources (all
when none is named) that lacks it, after extraction.

Faces are taken in id order, BATCH_FACES at a time; each batch's masks are stored in one
transaction, so a stopped or killed job resumes with the faces still lacking the kind and never
stores a mask twice. Face parsing runs on the stored aligned crops; the landmark kinds are
drawn from the stored landmarks.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.masks import MASK_KINDS as LANDMARK_KINDS
from pipeline.extract.masks import MASK_SIZE, landmark_mask
from pipeline.inline_images import decode_inline
from pipeline.registry import job_kind
from store import face_masks, faces
from store.errors import RequestError
from store.files.inline_images import OversizedImageError
from store.requests.mask_add import checked_params

BATCH_FACES = 16
# face ids -> their masks (0-255, MASK_SIZE square) by id; a face that cannot be masked is
# left out (and logged)
Masker = Callable[[JobContext, Sequence[int]], dict[int, np.ndarray]]


@job_kind("mask-add")
def mask_add(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    try:
        request = checked_params(ctx.conn, params)
    except RequestError as exc:
        raise JobError(str(exc)) from exc
    kind, source_ids = request["kind"], request["source_ids"]
    total = len(face_masks.lacking(ctx.conn, kind, source_ids))
    kept = face_masks.count_kept(ctx.conn, source_ids)
    if not total:
        message = (f"every one of the {kept} kept faces has a {kind} mask already" if kept
                   else "no kept faces to mask: extract the sources first")
        return {"message": message, "kind": kind, "added": 0, "faces": kept}
    masker = _masker(kind, request["mask_glasses"], request["mask_mouth"])
    added = done = unreadable = after = 0
    while batch := face_masks.lacking(ctx.conn, kind, source_ids, after=after,
                                      limit=BATCH_FACES):
        ctx.checkpoint()
        masks = masker(ctx, batch)
        added += face_masks.save(ctx.conn, kind, MASK_SIZE,
                                 {face_id: _png(mask) for face_id, mask in masks.items()})
        unreadable += len(batch) - len(masks)
        after, done = batch[-1], done + len(batch)
        ctx.progress(done, total, f"{kind}: {done}/{total} faces masked")
    skipped = f"; {unreadable} could not be read (see the log)" if unreadable else ""
    message = f"{kind} mask added to {added} of {kept} kept faces{skipped}"
    ctx.progress(done, total, message, force=True)
    return {"message": message, "kind": kind, "added": added, "faces": kept}


def _masker(kind: str, glasses: bool, mouth: bool) -> Masker:
    if kind in LANDMARK_KINDS:
        return lambda ctx, face_ids: _landmark_masks(ctx, face_ids, kind)
    # torch and the network only for the kinds that need them
    from pipeline.devices import default_device
    from pipeline.masks.download import WeightsError
    from pipeline.masks.parsing import face_parser

    try:
        parser = face_parser(default_device().type)
    except WeightsError as exc:
        raise JobError(str(exc)) from exc

    def parse(ctx: JobContext, face_ids: Sequence[int]) -> dict[int, np.ndarray]:
        crops = _crops(ctx, face_ids)
        found = parser.masks(list(crops.values()), [kind], glasses, mouth)
        return {face_id: masks[kind] for face_id, masks in zip(crops, found)}
    return parse


def _landmark_masks(ctx: JobContext, face_ids: Sequence[int], kind: str) -> dict[int, np.ndarray]:
    masks = {}
    for face_id in face_ids:
        face = faces.get_face(ctx.conn, face_id)
        if face is not None:
            masks[face_id] = landmark_mask(face.landmarks, face.matrix, kind)
    return masks


def _crops(ctx: JobContext, face_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """The RGB aligned crops of the faces, by id; one that cannot be read is logged and left
    out (the job goes on with the others)."""
    stored = face_masks.crop_data(ctx.conn, face_ids)
    crops = {}
    for face_id in face_ids:
        where = f"face {face_id}'s crop"
        try:
            bgr = (decode_inline(stored[face_id], cv2.IMREAD_COLOR, where)
                   if face_id in stored else None)
        except OversizedImageError as exc:
            ctx.log.warning("%s", exc)
            continue
        if bgr is None or bgr.shape[0] != bgr.shape[1]:
            ctx.log.warning("%s is missing or not a square picture: left without a mask",
                            where)
            continue
        crops[face_id] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return crops


def _png(mask: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", mask)
    if not ok:
        raise JobError("a mask could not be encoded as PNG")
    return data.tobytes()
