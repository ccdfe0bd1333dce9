"""The mask-apply job: a trained occlusion mask model masks every kept face of the chosen
sources; the result is the mask kind `xseg-<model name>`, beside the landmark masks.

Faces go in batches, each batch's masks committed in one transaction with the checkpoint
that made them (`mask_made_by`), so a run that stops or dies resumes with the faces not yet
masked by that checkpoint, and applying a retrained model masks every face again.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pipeline.context import JobContext
from pipeline.devices import default_device, native_bf16
from pipeline.errors import JobError
from pipeline.extract.masks import MASK_SIZE
from pipeline.masks.model_files import trained_network
from pipeline.masks.train_data import face_crops
from pipeline.masks.xseg import XSeg, predict
from pipeline.registry import job_kind
from pipeline.train import checkpoint
from store import mask_models
from store.face_masks import kept_ids
from store.mask_models import APPLY_KIND, MaskModelError

BATCH = 32      # faces per forward pass and per transaction


@job_kind(APPLY_KIND)
def mask_apply(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Params: `model_id` (a row of mask_models) and `source_ids` (empty or missing: every
    source)."""
    try:
        model = mask_models.get(ctx.conn, int(params["model_id"]))
        source_ids = [int(source_id) for source_id in params.get("source_ids", [])]
        network, sha = trained_network(ctx.project.root, model)
    except (MaskModelError, checkpoint.CheckpointError, TypeError, ValueError) as exc:
        raise JobError(str(exc)) from exc
    except KeyError as exc:
        raise JobError(f"missing {exc.args[0]!r} in the job's parameters") from exc
    device = default_device()
    network.to(device)
    bf16 = native_bf16(device)
    face_ids = kept_ids(ctx.conn, source_ids)
    before = mask_models.masked_by(ctx.conn, model.kind, sha, face_ids)
    todo = [face_id for face_id in face_ids if face_id not in before]
    done, unreadable = len(before), 0
    for start in range(0, len(todo), BATCH):
        ctx.checkpoint()
        chunk = todo[start:start + BATCH]
        masks = face_masks(ctx.conn, network, chunk, device, bf16)
        mask_models.save_masks(ctx.conn, model, sha, MASK_SIZE, masks)
        done += len(masks)
        unreadable += len(chunk) - len(masks)
        ctx.progress(done, len(face_ids),
                     f"masked {done:,} of {len(face_ids):,} faces as {model.kind}")
    skipped = f"; {unreadable} without a readable crop" if unreadable else ""
    return {"message": f"{len(face_ids) - unreadable:,} faces masked as {model.kind} "
                       f"({len(todo) - unreadable:,} now){skipped}",
            "model_id": model.id, "kind": model.kind, "faces": len(face_ids),
            "masked_now": len(todo) - unreadable, "unreadable": unreadable,
            "iteration": model.iteration}


def face_masks(conn: sqlite3.Connection, network: XSeg, face_ids: Sequence[int],
               device: torch.device, bf16: bool) -> list[tuple[int, bytes]]:
    """(face id, PNG) of each face with a readable crop: its mask at MASK_SIZE, 0 to 255."""
    crops = face_crops(conn, face_ids, network.config.resolution)
    chosen = [face_id for face_id in face_ids if face_id in crops]
    if not chosen:
        return []
    images = torch.from_numpy(np.stack([crops[face_id] for face_id in chosen]))
    images = images.to(device).permute(0, 3, 1, 2).float() / 255
    masks = predict(network, images, bf16)
    masks = F.interpolate(masks, size=(MASK_SIZE, MASK_SIZE), mode="bilinear",
                          align_corners=False)
    pixels = (masks[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return [(face_id, _png(mask)) for face_id, mask in zip(chosen, pixels)]


def _png(mask: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", mask)
    if not ok:
        raise JobError("OpenCV could not encode a mask as PNG")
    return data.tobytes()
