"""The trained model of a session, loaded for swapping: faces of one side in, the other side's
faces (and learned masks) out, in batches.

Faces are cut from the frame exactly as training cut them (the session's centering, coverage
and vertical offset), so the model sees what it learned from.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pipeline.errors import JobError
from pipeline.extract.alignment import matrix_scale
from pipeline.train.checkpoint import CheckpointError, read_model
from pipeline.train.cut import Window
from pipeline.train.keeper import verified_path
from pipeline.train.models.registry import SwapModel, build_model
from pipeline.train.session_config import SessionConfig
from pipeline.devices import default_device, native_bf16
from store import sessions


@dataclass(frozen=True)
class Swapped:
    faces: np.ndarray          # N x S x S x 3 float32 in [0, 1]
    masks: np.ndarray | None   # N x S x S float32 in [0, 1], when the model learned masks


class Swapper:
    """A session's model at one checkpoint, swapping towards `side` ("a" or "b")."""

    def __init__(self, model: SwapModel, config: SessionConfig, checkpoint: sessions.Checkpoint,
                 side: str, device: torch.device) -> None:
        self.model, self.config, self.checkpoint = model, config, checkpoint
        self.side, self.device = side, device
        self.window: Window = config.data.window
        self.size = model.config.output_size
        self.learns_mask = model.config.learn_mask
        self.bf16 = native_bf16(device)   # emulated bf16 is far slower than float32

    def frame_to_cut(self, face_matrix: np.ndarray, size: int | None = None) -> np.ndarray:
        """Frame pixels -> pixels of the model's `size` face (2x3)."""
        face = np.vstack([face_matrix, [0, 0, 1]])
        return (self.window.template_to_cut(size or self.size) @ face)[:2]

    def cut(self, frame: np.ndarray, face_matrix: np.ndarray, size: int) -> np.ndarray:
        return cv2.warpAffine(frame, self.frame_to_cut(face_matrix, size), (size, size),
                              flags=cv2.INTER_AREA if matrix_scale(face_matrix) * size
                              < self.window.side else cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)

    @torch.inference_mode()
    def swap(self, inputs: list[np.ndarray]) -> Swapped:
        """Faces cut at the model's input size (uint8 RGB) -> the other side's faces."""
        batch = torch.from_numpy(np.stack(inputs)).to(self.device)
        batch = batch.permute(0, 3, 1, 2).float().div_(255)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            output = self.model.decode(self.model.encode(batch), self.side)
        faces = output.face.float().clamp(0, 1)
        if faces.shape[-1] != self.size:
            faces = F.interpolate(faces, size=self.size, mode="bilinear", align_corners=False)
        masks = (output.mask.float().clamp(0, 1)[:, 0].cpu().numpy()
                 if output.mask is not None else None)
        return Swapped(faces.permute(0, 2, 3, 1).cpu().numpy(), masks)


def newest_checkpoint(conn: sqlite3.Connection, models: Path, session: sessions.Session,
                      log: logging.LoggerAdapter | None = None
                      ) -> tuple[sessions.Checkpoint, dict[str, torch.Tensor]]:
    """The newest of the session's checkpoints whose file is whole (older ones are tried when
    the newest is damaged, saying so in `log`)."""
    rows = sorted(sessions.checkpoints(conn, session.id),
                  key=lambda row: (row.iteration, row.kind == "save"), reverse=True)
    if not rows:
        raise JobError(f"session {session.name} has no checkpoint yet: train it until it "
                       "saves (every save_every iterations), then convert")
    for row in rows:
        try:
            return row, read_model(verified_path(models, row))
        except (CheckpointError, OSError) as exc:
            if log is not None:
                log.warning("%s; trying an older checkpoint", exc)
    raise JobError(f"every checkpoint of session {session.name} is missing or damaged: "
                   "restore one on the Analysis screen, or train it again")


_cache_lock = threading.Lock()
_cached: tuple[tuple[int, str, str], Swapper] | None = None


def load_swapper(conn: sqlite3.Connection, models: Path, session: sessions.Session, side: str,
                 log: logging.LoggerAdapter | None = None) -> Swapper:
    """The session's newest whole model, towards `side`; the last one loaded is kept, so
    preview after preview does not read the file again."""
    global _cached
    rows = sessions.checkpoints(conn, session.id)
    with _cache_lock:
        if _cached is not None:
            (checkpoint_id, sha, cached_side), swapper = _cached
            newest = max(rows, key=lambda r: (r.iteration, r.kind == "save"), default=None)
            if (newest is not None and newest.id == checkpoint_id and newest.sha256 == sha
                    and cached_side == side):
                return swapper
        row, weights = newest_checkpoint(conn, models, session, log)
        config = SessionConfig.from_dict(session.config)
        device = default_device()
        model = build_model(config.model)
        model.load_state_dict(weights)
        model.to(device).eval()
        swapper = Swapper(model, config, row, side, device)
        _cached = ((row.id, row.sha256, side), swapper)
        return swapper
