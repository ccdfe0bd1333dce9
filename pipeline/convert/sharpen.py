"""Sharpening of the swapped face (faceswap's sharpen plugin): the model's output is softer
than the video around it."""
from __future__ import annotations

import cv2
import numpy as np

SHARPEN_METHODS = ("none", "box", "gaussian", "unsharp")
MAX_AMOUNT = 500.0
MAX_RADIUS = 0.05
# faceswap's default: differences under 5 levels of 255 are noise, not edges.
UNSHARP_THRESHOLD = 5 / 255


def sharpen(face: np.ndarray, method: str, amount: float, radius: float, *,
            threshold: float = UNSHARP_THRESHOLD) -> np.ndarray:
    """`face` (float32 SxSx3, [0, 1]) sharpened; a new float32 array clipped to [0, 1].

    `amount` is in percent (0 to 500; faceswap's default 150) and `radius` a share of the
    face's side (up to 0.05; faceswap's default 0.3 % is 0.003), rounded to at least one
    pixel. box and unsharp add `amount` times the detail above a blur; gaussian adds half
    as much, as faceswap does. unsharp leaves details under `threshold` (in [0, 1] units)
    alone, so flat skin does not turn grainy.
    """
    if method not in SHARPEN_METHODS:
        raise ValueError(f"unknown sharpening {method!r}: choose one of "
                         f"{', '.join(SHARPEN_METHODS)}")
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"sharpen amount must be between 0 and {MAX_AMOUNT:g} percent, "
                         f"not {amount:g}")
    if not 0 < radius <= MAX_RADIUS:
        raise ValueError(f"sharpen radius must be above 0 and at most {MAX_RADIUS * 100:g} "
                         f"percent of the face, not {radius * 100:g}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"unsharp threshold must be between 0 and 1, not {threshold:g}")
    face = np.asarray(face, np.float32)
    if method == "none" or amount == 0:
        return np.clip(face, 0, 1)
    pixels = max(1, round(face.shape[1] * radius))
    kernel = (2 * pixels + 1, 2 * pixels + 1)
    strength = np.float32(amount / 100)
    if method == "box":
        detail = face - cv2.blur(face, kernel, borderType=cv2.BORDER_REFLECT)
    else:
        detail = face - cv2.GaussianBlur(face, kernel, 0, borderType=cv2.BORDER_REFLECT)
    if method == "gaussian":
        strength = strength / 2
    elif method == "unsharp":
        detail[np.abs(detail) < threshold] = 0
    return np.clip(face + detail * strength, 0, 1)
