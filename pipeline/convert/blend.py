"""Pasting the swapped face back into its frame.

All work happens on the frame's box under the warped face square (clipped to the frame), so
the cost follows the face's size, not the frame's.
"""
from __future__ import annotations

import cv2
import numpy as np

BLEND_METHODS = ("alpha", "seamless")
# seamlessClone needs some inside to solve for; a thinner mask is pasted with alpha.
MIN_CLONE_SIDE = 3


def paste(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, to_frame: np.ndarray,
          method: str = "alpha") -> str | None:
    """Write `face` (float32 SxSx3 RGB, [0, 1]) into `frame` (uint8 HxWx3 RGB) in place.

    `mask` (float32 SxS, [0, 1]) says how much of each face pixel replaces the frame's;
    `to_frame` (2x3) maps face pixels to frame pixels. Frame pixels where the warped mask is
    0 are left exactly as they were; a face wholly outside the frame changes nothing.
    "seamless" Poisson-clones the face into the frame (NORMAL_CLONE, mask > 0.5) before
    the same alpha mix, so the mask's feathering still applies. Returns None, or why
    seamless cloning could not run here and alpha alone was used.
    """
    if method not in BLEND_METHODS:
        raise ValueError(f"unknown blending {method!r}: choose one of {', '.join(BLEND_METHODS)}")
    _check(frame, face, mask, to_frame)
    box = _frame_box(np.asarray(to_frame, np.float64), face.shape[0], frame.shape)
    if box is None:
        return None
    left, top, right, bottom = box
    to_box = np.array(to_frame, np.float64)
    to_box[:, 2] -= (left, top)
    size = (right - left, bottom - top)
    enlarging = abs(np.linalg.det(to_box[:, :2])) > 1
    # Replicated edges keep the face's colour where the mask fades out at its border.
    warped = cv2.warpAffine(face, to_box, size,
                            flags=cv2.INTER_CUBIC if enlarging else cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, to_box, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    np.clip(alpha, 0, 1, out=alpha)
    np.clip(warped, 0, 1, out=warped)        # cubic overshoots
    source = warped * np.float32(255)
    region = frame[top:bottom, left:right]
    reason = None
    if method == "seamless":
        cloned, reason = _clone(region, cv2.convertScaleAbs(source), alpha)
        if cloned is not None:
            source = cloned.astype(np.float32)
    # blendLinear divides by the weights' sum (+1e-5): where alpha is 0 the frame's value
    # comes back within 0.003 and rounds to itself.
    mixed = cv2.blendLinear(source, region.astype(np.float32), alpha, 1 - alpha)
    region[...] = cv2.convertScaleAbs(mixed)
    return reason


def _check(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, to_frame: np.ndarray) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"the frame must be uint8 RGB, not {frame.dtype} {frame.shape}")
    if face.ndim != 3 or face.shape[2] != 3 or face.shape[0] != face.shape[1]:
        raise ValueError(f"the face must be a square RGB image, not shape {face.shape}")
    if face.dtype != np.float32 or mask.dtype != np.float32:
        raise ValueError(f"face and mask must be float32, not {face.dtype} and {mask.dtype}")
    if mask.shape != face.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not fit the face {face.shape[:2]}")
    if np.shape(to_frame) != (2, 3):
        raise ValueError(f"to_frame must be a 2x3 matrix, not shape {np.shape(to_frame)}")


def _frame_box(to_frame: np.ndarray, size: int,
               shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the frame pixels the warped face square can touch, or
    None when that is nothing."""
    corners = np.array([[-1, -1], [size, -1], [-1, size], [size, size]], np.float64)
    mapped = corners @ to_frame[:, :2].T + to_frame[:, 2]
    left, top = (max(int(v), 0) for v in np.floor(mapped.min(axis=0)))
    right, bottom = (min(int(v) + 1, limit)
                     for v, limit in zip(np.ceil(mapped.max(axis=0)), (shape[1], shape[0])))
    return (left, top, right, bottom) if right > left and bottom > top else None


def _clone(region: np.ndarray, source: np.ndarray,
           alpha: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The face Poisson-cloned into `region`, or None and the reason it cannot be.

    seamlessClone places the mask's bounding box centred on the given point and fails when
    that box leaves the destination; the mask's outer pixel ring is cleared (as OpenCV does
    itself) and the centre is taken from the box, so the box always lies inside the region,
    also where the face runs off the frame's edge.
    """
    hard = np.where(alpha > 0.5, np.uint8(255), np.uint8(0))
    hard[[0, -1], :] = 0
    hard[:, [0, -1]] = 0
    x, y, width, height = cv2.boundingRect(hard)
    if min(width, height) < MIN_CLONE_SIDE:
        return None, ("the mask is too small in the frame for seamless cloning: pasted "
                      "with alpha")
    centre = (x + width // 2, y + height // 2)
    try:
        return cv2.seamlessClone(source, np.ascontiguousarray(region), hard, centre,
                                 cv2.NORMAL_CLONE), None
    except cv2.error as error:
        message = str(error).strip().splitlines()[-1]
        return None, f"seamless cloning failed ({message}): pasted with alpha"
