"""Landmark masks in the aligned crop: `components` (the face's parts) and `extended` (the
same with the brows raised to take in the forehead)."""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.alignment import transform_points
from store.faces import crop_matrix

MASK_KINDS = ("components", "extended")
MASK_SIZE = 256
# Convex hulls whose union covers the face: each cheek side with its brow and the nose
# bridge, the nose, the mouth with the chin, and the band of the brows.
PARTS = (
    list(range(0, 9)) + list(range(17, 22)) + [27, 28, 29, 30, 31, 33],
    list(range(8, 17)) + list(range(22, 27)) + [27, 28, 29, 30, 35, 33],
    list(range(27, 36)),
    list(range(48, 60)) + [6, 7, 8, 9, 10],
    list(range(17, 27)) + [27],
)
# How far the brows are pushed away from the eyes for `extended`, as a share of that distance.
FOREHEAD_LIFT = 0.6


def _raise_brows(points: np.ndarray) -> np.ndarray:
    lifted = points.copy()
    for brow, eye in ((slice(17, 22), slice(36, 42)), (slice(22, 27), slice(42, 48))):
        centre = points[eye].mean(axis=0)
        lifted[brow] = points[brow] + (points[brow] - centre) * FOREHEAD_LIFT
    return lifted


def hull_mask(points: np.ndarray, kind: str, size: int) -> np.ndarray:
    """A uint8 mask (0 or 255), `size` pixels square, drawn from 68 landmarks already in that
    image's pixel coordinates."""
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask {kind!r} (known: {', '.join(MASK_KINDS)})")
    # Raising the brows is affine-equivariant, so it may run in any coordinates.
    points = points if kind == "components" else _raise_brows(points)
    mask = np.zeros((size, size), np.uint8)
    for part in PARTS:
        hull = cv2.convexHull(np.round(points[part]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255)
    return mask


def landmark_mask(landmarks: np.ndarray, face_matrix: np.ndarray, kind: str,
                  size: int = MASK_SIZE) -> np.ndarray:
    """A uint8 mask (0 or 255) of the aligned crop at `size`."""
    return hull_mask(transform_points(crop_matrix(face_matrix, size), landmarks), kind, size)
