"""A face as faceswap or DeepFaceLab stored it, before it becomes one of the project's."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from store.mask_labels import Polygon

POINTS = 68


class ForeignFormatError(ValueError):
    """A file of another tool's format whose face data cannot be used; the message says why."""


@dataclass(frozen=True)
class ForeignMask:
    """A hand-painted mask: uint8 pixels and the matrix (2x3) from frame pixels to them."""
    pixels: np.ndarray
    matrix: np.ndarray


@dataclass(frozen=True)
class ForeignFace:
    """One face of another tool's file. Frame values are in the pixels of the frame it was
    found in; a faceset's face also has its own image, with the frame-to-image matrix and
    its points there. Polygons (include/exclude, as DeepFaceLab's XSeg labels) are in the
    image's pixels; a mask's matrix starts from the frame."""
    origin: str                               # file (and face) it was read from
    frame_name: str                           # the frame's file name, as the tool named it
    face_index: int                           # its place among the frame's faces
    is_video: bool | None                     # whether the frame came from a video, if said
    frame_dims: tuple[int, int] | None        # (height, width), if said
    box: tuple[float, float, float, float] | None      # x0, y0, x1, y1 in the frame
    landmarks: np.ndarray | None              # (68, 2) in the frame
    image: Path | None = None
    to_image: np.ndarray | None = None        # (2, 3) frame -> image pixels
    image_landmarks: np.ndarray | None = None  # (68, 2) in the image
    polygons: tuple[Polygon, ...] = ()
    mask: ForeignMask | None = None
    person: str | None = None                 # as swapdeck wrote it


def points(value: object, what: str) -> np.ndarray:
    """68 finite (x, y) points as float32, not all in one place; ForeignFormatError
    otherwise."""
    try:
        array = np.asarray(value, np.float64).astype(np.float32)
    except (TypeError, ValueError, OverflowError):
        raise ForeignFormatError(f"{what} are not numbers") from None
    if array.shape != (POINTS, 2) or not np.isfinite(array).all():
        raise ForeignFormatError(f"{what} are not {POINTS} finite (x, y) points (shape "
                                 f"{array.shape})")
    if min(np.ptp(array, axis=0)) < 1.0:
        raise ForeignFormatError(f"{what} are all in one place")
    return array


def matrix(value: object, what: str) -> np.ndarray:
    """A finite, invertible 2x3 affine matrix; ForeignFormatError otherwise."""
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise ForeignFormatError(f"{what} is not numbers") from None
    if array.shape == (3, 3):
        array = array[:2]
    if array.shape != (2, 3) or not np.isfinite(array).all() or \
            abs(np.linalg.det(array[:, :2])) < 1e-12:
        raise ForeignFormatError(f"{what} is not an invertible 2x3 matrix")
    return array


def frame_number(name: str) -> int | None:
    """The number a frame file's name ends with (`clip_000012.png`: 12), if any."""
    found = re.search(r"(\d+)$", Path(name).stem)
    return int(found.group(1)) if found else None
