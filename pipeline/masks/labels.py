"""A mask label's truth: its base mask (or an empty one) with its include and exclude
polygons painted over it in order, include as 255 and exclude as 0, in the label's pixels."""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.inline_images import decode_inline
from store.mask_labels import LabelError, MaskLabel

SUBPIXEL_BITS = 4      # polygon points keep 1/16 px (cv2.fillPoly's `shift`)


def label_truth(label: MaskLabel) -> np.ndarray:
    """size x size uint8, 0 or 255 (a base mask's own grey levels where no polygon lies)."""
    truth = _base(label)
    scale = 1 << SUBPIXEL_BITS
    for polygon in label.polygons:
        points = np.round(np.asarray(polygon.points, np.float64) * scale).astype(np.int32)
        cv2.fillPoly(truth, [points.reshape(-1, 1, 2)], 255 if polygon.mode == "include" else 0,
                     lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    return truth


def _base(label: MaskLabel) -> np.ndarray:
    """The base mask at the label's size (resized when it was stored at another), or zeros."""
    size = label.size
    if label.base is None:
        return np.zeros((size, size), np.uint8)
    where = f"the base mask of face {label.face_id}'s label"
    base = decode_inline(label.base, cv2.IMREAD_GRAYSCALE, where)
    if base is None:
        raise LabelError(f"{where} is not a picture")
    if base.shape != (size, size):
        base = cv2.resize(base, (size, size), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(base)
