"""What the occlusion mask learns from: each labelled face's aligned crop with the truth of
its label, held in memory (a few dozen to a few thousand faces), and the face model's
augmentation applied to a face and its mask alike.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace

import cv2
import numpy as np
import torch

from pipeline.inline_images import decode_inline
from pipeline.masks.labels import label_truth
from pipeline.train.augment import AugmentSettings, Augmenter
from pipeline.train.face_cache import FaceCache
from store import mask_labels
from store.schema.connection import rows_in

LABEL_CHANNEL = "label"


class MaskDataError(ValueError):
    """No faces to train on; the message says what to do."""


def face_crops(conn: sqlite3.Connection, face_ids: Sequence[int],
               size: int) -> dict[int, np.ndarray]:
    """The aligned crops of these faces, size x size x 3 uint8 RGB, by face id; a face with
    no crop, or one that does not decode, is left out."""
    crops = {}
    for row in rows_in(conn, "SELECT face_id, data FROM face_images WHERE face_id IN ({ids})",
                       list(face_ids)):
        image = decode_inline(row["data"], cv2.IMREAD_COLOR, f"the crop of face {row[0]}")
        if image is None:
            continue
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        crops[row[0]] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return crops


def load_labelled(conn: sqlite3.Connection, size: int,
                  checkpoint: Callable[[], None] = lambda: None) -> FaceCache:
    """Every usable labelled face, in face id order, as a cache the face model's sampler
    draws from: its one mask channel is the label's truth at `size`."""
    labels = mask_labels.labels(conn)
    if not labels:
        raise MaskDataError("no face has a mask label: label some faces first (the Mask "
                            "editor, or `swapdeck masks label import DIR`)")
    crops: dict[int, np.ndarray] = {}
    for start in range(0, len(labels), 64):
        checkpoint()
        crops |= face_crops(conn, [label.face_id for label in labels[start:start + 64]], size)
    usable = [label for label in labels if label.face_id in crops]
    if not usable:
        raise MaskDataError(f"none of the {len(labels)} labelled faces has a readable crop")
    truths = [cv2.resize(label_truth(label), (size, size), interpolation=cv2.INTER_AREA)
              for label in usable]
    return FaceCache(face_ids=tuple(label.face_id for label in usable),
                     images=np.stack([crops[label.face_id] for label in usable]),
                     masks=np.stack(truths)[..., None],
                     landmarks=np.zeros((len(usable), 68, 2), np.float32),
                     mask_channels=(LABEL_CHANNEL,))


def unlabelled_faces(conn: sqlite3.Connection, count: int) -> list[int]:
    """Up to `count` kept faces without a label, spread evenly over the project (the preview
    shows the mask on faces it never learned)."""
    ids = [r[0] for r in conn.execute(
        "SELECT f.id FROM faces f JOIN face_images i ON i.face_id = f.id"
        " WHERE f.rejected IS NULL AND f.id NOT IN (SELECT face_id FROM mask_labels)"
        " ORDER BY f.id")]
    if len(ids) <= count:
        return ids
    return [ids[round(i * (len(ids) - 1) / max(count - 1, 1))] for i in range(count)]


class PairAugmenter:
    """The face model's augmentation (pipeline/train/augment.py: colour, then one random
    rotation, zoom, shift and flip, then a random warp) with the mask moved exactly as its
    face: the mask goes through the same draws (the generator's state is replayed; the
    draws do not depend on the switches) with the colour changes off."""

    def __init__(self, settings: AugmentSettings, size: int) -> None:
        self.faces = Augmenter(settings, size, size)
        self.masks = Augmenter(replace(settings, colour=False, warp_to_landmarks=False),
                               size, size)
        if self.faces.needs_landmarks:
            raise ValueError("the occlusion mask cannot warp to landmarks")

    def __call__(self, images: torch.Tensor, masks: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """images N x 3 x S x S and masks N x 1 x S x S in [0, 1] -> both augmented."""
        none = masks[:, :0]
        state = generator.get_state()
        faces = self.faces(images, none, generator).inputs
        after = generator.get_state()
        generator.set_state(state)
        shaped = self.masks(masks.expand(-1, 3, -1, -1), none, generator).inputs[:, :1]
        generator.set_state(after)
        return faces, shaped
