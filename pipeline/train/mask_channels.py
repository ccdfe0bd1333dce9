"""The mask channels of a training image: the face mask, and the eye and mouth areas that the
loss weighs up (faceswap's eye and mouth multipliers).

faceswap (lib/training/cache.py, lib/align/detected_face.py) makes the area masks from the
aligned landmarks: the hull of each eye (points 36-41, 42-47) and of the outer lip (48-59),
dilated by 2.5% of the image size and blurred with a kernel of a sixteenth of it. Its face
mask's blur kernel is given in pixels of a 128 px mask.
"""
from __future__ import annotations

import cv2
import numpy as np

AREAS = {"eye": (range(36, 42), range(42, 48)), "mouth": (range(48, 60),)}
AREA_DILATION = 0.025
BLUR_REFERENCE = 128


def odd(kernel: int) -> int:
    """A Gaussian kernel size: 0 stays 0 (no blur), an even size goes up to the next odd."""
    return kernel if kernel == 0 or kernel % 2 else kernel + 1


def blur(mask: np.ndarray, kernel: int) -> np.ndarray:
    kernel = odd(kernel)
    return cv2.GaussianBlur(mask, (kernel, kernel), 0) if kernel > 1 else mask


def face_mask_blur(mask_blur: int, size: int) -> int:
    """The setting's blur kernel (pixels at 128 px) at the training size."""
    return odd(round(mask_blur * size / BLUR_REFERENCE))


def area_mask(points: np.ndarray, area: str, size: int) -> np.ndarray:
    """A uint8 mask (0-255) of an area, from the 68 landmarks in training-image pixels."""
    mask = np.zeros((size, size), np.uint8)
    for part in AREAS[area]:
        hull = cv2.convexHull(np.round(points[list(part)]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255)
    dilation = round(size * AREA_DILATION)
    if dilation > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (dilation, dilation)))
    return blur(mask, size // 16)
