"""The mask that says which part of the swapped face is pasted, and its erosion and feathering.

Convert makes the landmark masks (components, extended), the model's learned mask and none
itself for any face; the others (face parsing, the trained occlusion mask) are read from the
masks table, drawn over each face's aligned crop, and warped into the model's face.

Erosion follows faceswap's mask blend: the amount is a share of the mask's own radius
(sqrt of its area / 2), so one setting does the same to a small face and a large one.
"""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.masks import hull_mask
from store.faces import crop_matrix
from store.requests.convert import MADE_MASKS
from store.requests.extract import MASKS as LANDMARK_MASKS

# The masks made for any face; every other kind (face parsing: swapdeck masks add, a trained
# occlusion mask: swapdeck masks apply) is stored per face in the masks table.
FACE_MASK_KINDS = MADE_MASKS
# A face without the stored mask chosen (extracted after the masks were added) gets this one.
FALLBACK_MASK = "extended"
# Frames a stored mask is averaged over unless the settings say otherwise: those masks are
# computed from each frame's pixels and their edges (the hairline most) jump between frames;
# the landmark masks follow the landmarks, which have smoothing of their own.
DEFAULT_SMOOTHING = 5
MAX_EROSION = 0.5
MAX_BLUR = 0.5


def smoothing_window(kind: str, setting: int | None) -> int:
    """The frames `kind` is averaged over: the setting where given (never for the learned
    mask or none, made afresh for each face), else DEFAULT_SMOOTHING for stored masks."""
    if kind in ("learned", "none"):
        return 0
    if setting is not None:
        return setting
    return 0 if kind in LANDMARK_MASKS else DEFAULT_SMOOTHING


def decode_mask(data: bytes) -> np.ndarray:
    """A stored mask (PNG, one channel) as float32 in [0, 1]."""
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
        raise ValueError("a stored mask is not a square one-channel PNG")
    return mask.astype(np.float32) / 255


def cut_mask(crop: np.ndarray, face_matrix: np.ndarray, to_cut: np.ndarray,
             size: int) -> np.ndarray:
    """A mask over a face's aligned crop (any size; `face_matrix` the one it was cut with)
    warped into the model's `size` face, whose frame -> face pixels matrix is `to_cut`."""
    to_crop = np.vstack([crop_matrix(face_matrix, crop.shape[0]), [0, 0, 1]])
    warp = (np.vstack([to_cut, [0, 0, 1]]) @ np.linalg.inv(to_crop))[:2]
    out = cv2.warpAffine(np.ascontiguousarray(crop, np.float32), warp, (size, size),
                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(out, 0, 1)


def face_mask(kind: str, size: int, points: np.ndarray | None,
              learned: np.ndarray | None) -> np.ndarray:
    """The mask of the model's output face, float32 `size` x `size` in [0, 1].

    `points` are the 68 landmarks in the output face's pixels (for components and extended);
    `learned` is the model's own mask (float in [0, 1], any square size).
    """
    if size < 1:
        raise ValueError(f"mask size must be at least 1 pixel, not {size}")
    if kind in ("components", "extended"):
        if points is None:
            raise ValueError(f"a {kind} mask needs the face's landmarks")
        return hull_mask(np.asarray(points, np.float64), kind, size).astype(np.float32) / 255
    if kind == "learned":
        if learned is None:
            raise ValueError("this session's model did not learn a mask: choose components or "
                             "extended")
        mask = np.asarray(learned, np.float32)
        mask = mask[..., 0] if mask.ndim == 3 and mask.shape[2] == 1 else mask
        if mask.ndim != 2:
            raise ValueError(f"a learned mask must be one channel, not shape {mask.shape}")
        if mask.shape != (size, size):
            mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_LINEAR)
        return np.clip(mask, 0, 1)
    if kind == "none":
        return np.ones((size, size), np.float32)
    raise ValueError(f"unknown mask {kind!r}: choose one of {', '.join(FACE_MASK_KINDS)} "
                     "(a stored mask is read with cut_mask)")


def adjust_mask(mask: np.ndarray, erosion: float, blur: float) -> np.ndarray:
    """Erode (positive) or dilate (negative) the mask, then feather its edge; float32 [0, 1].

    `erosion` (-0.5 to 0.5) is faceswap's erosion percent / 100: the structuring ellipse is
    that share of the mask's radius across. `blur` (0 to 0.5) is the gaussian kernel's width
    as a share of the mask's side (made odd, at least 1 pixel).
    """
    if not -MAX_EROSION <= erosion <= MAX_EROSION:
        raise ValueError(f"mask erosion must be between -{MAX_EROSION * 100:g} and "
                         f"{MAX_EROSION * 100:g} percent, not {erosion * 100:g}")
    if not 0 <= blur <= MAX_BLUR:
        raise ValueError(f"mask blur must be between 0 and {MAX_BLUR * 100:g} percent, "
                         f"not {blur * 100:g}")
    out = np.ascontiguousarray(mask, np.float32)
    kernel_size = int(abs(erosion) * np.sqrt(out.sum()) / 2)
    if erosion and kernel_size:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel_size, kernel_size))
        morph = cv2.erode if erosion > 0 else cv2.dilate
        out = morph(out, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    blur_size = int(round(blur * out.shape[0])) | 1
    if blur_size > 1:
        out = cv2.GaussianBlur(out, (blur_size, blur_size), 0, borderType=cv2.BORDER_CONSTANT)
    return np.clip(out, 0, 1)
