"""The `export-model` job: a session's model at one checkpoint written as an ONNX file or a
DeepFaceLive `.dfm`, checked with onnxruntime on the project's own faces before it is
written (where onnxruntime is installed), written whole or not at all.

The output is the one the job's request names; one inside the project must still be inside
it when the job runs (store.files.contained.requested).
"""
from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from pipeline.atomic_files import atomic_write
from pipeline.context import JobContext
from pipeline.convert.swapper import newest_checkpoint
from pipeline.errors import JobError
from pipeline.inline_images import decode_inline
from pipeline.model_export.check import TOLERANCE, max_difference, onnxruntime_module
from pipeline.model_export.graphs import FORMATS, INTERFACES, OPSET, export_graph
from pipeline.registry import job_kind
from pipeline.train.checkpoint import CheckpointError, read_model
from pipeline.train.cut import cut_image
from pipeline.train.keeper import verified_path
from pipeline.train.models.registry import SwapModel, build_model, config_to_dict
from pipeline.train.session_config import SessionConfig
from store import sessions
from store.files.contained import requested
from store.training_faces import stored_crops, training_faces

DIRECTIONS = {"a2b": ("a", "b"), "b2a": ("b", "a")}   # direction -> (faces in, decoder side)
CHECK_FACES = 4


@job_kind("export-model")
def export_model(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Write session `session_id`'s model as `format`, swapping `direction`, to `out`."""
    out = Path(params["out"])
    requested(ctx.project.root, out, where=f"jobs row {ctx.job_id} (out {out})")
    fmt, direction = params["format"], params.get("direction", "a2b")
    if fmt not in FORMATS or direction not in DIRECTIONS:
        raise JobError(f"cannot export format {fmt!r} in direction {direction!r} (formats: "
                       f"{', '.join(FORMATS)}; directions: {', '.join(DIRECTIONS)})")
    session = _session(ctx, params["session_id"])
    row, model = _model(ctx, session, params.get("checkpoint"))
    config = SessionConfig.from_dict(session.config)
    side_in, side_out = DIRECTIONS[direction]
    ctx.progress(0, 2, f"tracing {session.name}'s model at iteration {row.iteration:,}",
                 force=True)
    data = export_graph(model, fmt, side_out, metadata(config, fmt, direction, row))
    ctx.checkpoint()
    ctx.progress(1, 2, "running the export with onnxruntime", force=True)
    checked = _check(ctx, model, fmt, side_out, data,
                     _check_faces(ctx, session, side_in, config))
    atomic_write(out, lambda temp: temp.write_bytes(data))
    mask = "" if model.config.learn_mask else (
        "; the model learned no mask, so its masks are all ones"
        + (" (choose DeepFaceLive's LMRKS face mask)" if fmt == "dfm" else ""))
    message = (f"wrote {out}: {config.model_name} {fmt}, {direction}, iteration "
               f"{row.iteration:,}; {checked}{mask}")
    ctx.progress(2, 2, message, force=True)
    return {"message": message, "file": str(out), "format": fmt, "direction": direction,
            "iteration": row.iteration, "bytes": len(data)}


def _session(ctx: JobContext, session_id: object) -> sessions.Session:
    try:
        return sessions.get(ctx.conn, int(str(session_id)))
    except sessions.SessionError as exc:
        raise JobError(str(exc)) from None


def _model(ctx: JobContext, session: sessions.Session, iteration: int | None
           ) -> tuple[sessions.Checkpoint, SwapModel]:
    """The checkpoint to export (the newest whole one, or the one at `iteration`) and the
    session's model holding its weights, in float32 on the CPU."""
    if iteration is None:
        row, weights = newest_checkpoint(ctx.conn, ctx.project.models, session, ctx.log)
    else:
        row = _at_iteration(ctx, session, int(iteration))
        try:
            weights = read_model(verified_path(ctx.project.models, row))
        except CheckpointError as exc:
            raise JobError(str(exc)) from None
    model = build_model(SessionConfig.from_dict(session.config).model)
    model.load_state_dict(weights)
    return row, model.float().eval()


def _at_iteration(ctx: JobContext, session: sessions.Session,
                  iteration: int) -> sessions.Checkpoint:
    """The session's checkpoint at `iteration` (its save before a snapshot or backup)."""
    rows = sessions.checkpoints(ctx.conn, session.id)
    found = [row for row in rows if row.iteration == iteration]
    if not found:
        held = ", ".join(str(i) for i in sorted({row.iteration for row in rows})) or "none"
        raise JobError(f"session {session.name} has no checkpoint at iteration {iteration} "
                       f"(it has: {held})")
    return min(found, key=lambda row: sessions.CHECKPOINT_KINDS.index(row.kind))


def metadata(config: SessionConfig, fmt: str, direction: str,
             row: sessions.Checkpoint) -> dict[str, str]:
    """What the file says about itself: what the model takes and makes, and from what."""
    model, data, interface = config.model, config.data, INTERFACES[fmt]
    window = data.window
    return {
        "format": fmt, "model": config.model_name,
        "model_options": json.dumps(config_to_dict(model), sort_keys=True),
        "input_size": str(model.input_size), "output_size": str(model.output_size),
        "centering": data.centering, "coverage": str(data.coverage),
        "vertical_offset": str(data.vertical_offset),
        "cut_window": json.dumps({"x": window.x, "y": window.y, "side": window.side}),
        "direction": direction, "iteration": str(row.iteration),
        "checkpoint_sha256": row.sha256, "learned_mask": str(model.learn_mask).lower(),
        "input": interface.input, "outputs": ",".join(interface.outputs),
        "layout": interface.layout, "colours": interface.colours,
        "value_range": "float32 0..1", "opset": str(OPSET),
        "software": f"swapdeck {importlib.metadata.version('swapdeck')}",
        "synthetic": "a face-swap model: what it makes is synthetic; use it only on "
                     "people who have agreed to it",
    }


def _check_faces(ctx: JobContext, session: sessions.Session, side: str,
                 config: SessionConfig) -> torch.Tensor:
    """Up to CHECK_FACES of the project's faces of side `side`'s person, cut as training
    cut them at the model's input size (N x 3 x S x S, RGB, in [0, 1]; N may be 0)."""
    person = session.identity_a if side == "a" else session.identity_b
    usable = [face.id for face in training_faces(ctx.conn, person)]
    chosen = usable[::max(1, len(usable) // CHECK_FACES)][:CHECK_FACES]
    size = config.model.input_size
    cut = []
    for stored in stored_crops(ctx.conn, chosen, None):
        crop = decode_inline(stored.crop.data, cv2.IMREAD_COLOR, f"face {stored.face_id}")
        if crop is not None:
            rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
            cut.append(cut_image(rgb, config.data.window, size))
    images = np.stack(cut) if cut else np.zeros((0, size, size, 3), np.uint8)
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)


def _check(ctx: JobContext, model: SwapModel, fmt: str, side: str, data: bytes,
           faces: torch.Tensor) -> str:
    """Run the export with onnxruntime against the torch model; a difference above
    TOLERANCE fails the job. Says what was checked."""
    if onnxruntime_module() is None:
        ctx.log.warning("onnxruntime is not installed: the export was not checked")
        return "not checked (onnxruntime is not installed: pip install 'swapdeck[export]')"
    if len(faces) == 0:
        return "not checked (the side's person has no usable faces left)"
    difference = max_difference(model, fmt, side, data, faces)
    if difference > TOLERANCE:
        raise JobError(f"onnxruntime's output differs from the model's by {difference:.2g} "
                       f"(more than {TOLERANCE:g}): the export was not written")
    return (f"onnxruntime matches the model within {difference:.1e} on {len(faces)} "
            "of the project's faces")
