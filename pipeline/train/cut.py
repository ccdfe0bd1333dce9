"""The cut: the square of the stored crop that becomes a training image, chosen as faceswap
chooses it (centering, coverage, vertical offset), and the matrices that make it.

Units. A face's `matrix` maps frame pixels to template units, where our mean face's inner
points span about one unit. The stored crop is CROP_SPAN = 2 units wide, centred HEAD_ROOM =
0.12 units above the middle of the unit square: it covers x in [-0.5, 1.5], y in [-0.62, 1.38].
faceswap's template (lib/align/constants.py, _MEAN_FACE) is a little smaller than ours: the
Umeyama fit of its 51-point mean face onto ours scales by FACESWAP_UNIT = 1.049, so one
faceswap unit is 1.049 of ours.

faceswap's facts (lib/align/constants.py, lib/align/aligned_utils.py, lib/align/pose.py):
- EXTRACT_RATIOS = {legacy: 0.375, face: 0.5, head: 0.625} is the share of an aligned image
  of that centering that is padding around its 1-unit face, so at 100% coverage the image
  spans 1 / (1 - ratio) faceswap units, and coverage scales that span (get_sub_crop_size).
- legacy is centred on the middle of the template's unit square (near the nose tip); face and
  head are moved by the pose offset of a 3D point projected with its solvePnP head model (face:
  (0, -1.5, 4.2), between the eyes and the nose; head: (0, 0, -2.3), the middle of the skull).
- the vertical offset (get_adjusted_center) moves that centre up by `y_offset` faceswap units
  (the option is a percentage; positive shows more forehead and less chin).

Ours. The window is a square in template units, not rotated:
    side   = coverage * 1.049 / (1 - ratio)    legacy 1.678, face 2.098, head 2.797 at 100%
    centre = CENTRES[centering] - (0, 1.049 * vertical_offset)
CENTRES is a fixed template point per centering, not a per-face pose: the centre faceswap's
pose model gives our mean face seen from the front (its face and head points projected for
that face, mapped into our units). A turned head therefore keeps the face's centre, where
faceswap would slide the window towards the skull. Our mean face leans about 3 degrees, so the
centres sit a little left of x = 0.5, on its nose line.

The window must lie inside the stored crop; `window` refuses one that does not, naming the
largest coverage that fits. At vertical offset 0 that is about 100% for legacy, 93% for face
and 67% for head (faceswap's head extract is wider than our crop).

A template point u lands at training pixel (u - corner) * size / side, where corner is the
window's top-left: the window's centre at (size / 2, size / 2), its corners at 0 and size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from store.faces import CROP_SPAN, HEAD_ROOM, crop_matrix

CENTERINGS = ("face", "head", "legacy")
MIN_COVERAGE = 0.625   # faceswap's range of coverage is 62.5% to 100%
FACESWAP_UNIT = 1.049
EXTRACT_RATIOS = {"legacy": 0.375, "face": 0.5, "head": 0.625}
CENTRES = {"legacy": (0.478, 0.526), "face": (0.487, 0.358), "head": (0.489, 0.323)}
# The stored crop in template units: left, top, right, bottom.
CROP_BOUNDS = (0.5 - CROP_SPAN / 2, 0.5 - HEAD_ROOM - CROP_SPAN / 2,
               0.5 + CROP_SPAN / 2, 0.5 - HEAD_ROOM + CROP_SPAN / 2)


@dataclass(frozen=True)
class Window:
    """A square of the template: its centre and side, in template units."""
    x: float
    y: float
    side: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        half = self.side / 2
        return self.x - half, self.y - half, self.x + half, self.y + half

    def template_to_cut(self, size: int) -> np.ndarray:
        """Template units -> pixels of a `size` training image (2x3)."""
        scale = size / self.side
        left, top, _, _ = self.bounds
        return np.array([[scale, 0, -left * scale], [0, scale, -top * scale]])

    def crop_to_cut(self, crop_size: int, size: int) -> np.ndarray:
        """Pixels of a `crop_size` stored crop (or mask) -> pixels of the training image."""
        to_crop = np.vstack([crop_matrix(np.eye(2, 3), crop_size), [0, 0, 1]])
        return self.template_to_cut(size) @ np.linalg.inv(to_crop)


def window(centering: str, coverage: float, vertical_offset: float) -> Window:
    """The window of a centering at a coverage (a fraction) and vertical offset (a fraction
    of faceswap's face unit, positive moves the window up); ValueError if it leaves the
    stored crop."""
    if centering not in CENTERINGS:
        raise ValueError(f"unknown centering {centering!r} (known: {', '.join(CENTERINGS)})")
    full = FACESWAP_UNIT / (1 - EXTRACT_RATIOS[centering])
    x, y = CENTRES[centering]
    cut = Window(x, y - FACESWAP_UNIT * vertical_offset, coverage * full)
    largest = _largest_side(cut.x, cut.y) / full
    if coverage > largest + 1e-9:
        advice = (f"use a coverage of at most {_floor_percent(largest)}% with these"
                  if largest >= MIN_COVERAGE else
                  "no coverage fits there: use a smaller vertical offset or face centering")
        raise ValueError(
            f"{centering} centering at {coverage:.1%} coverage and {vertical_offset:+.0%} "
            f"vertical offset reaches outside the stored crop ({CROP_SPAN:g} template units "
            f"wide): {advice}")
    return cut


def _largest_side(x: float, y: float) -> float:
    """The side of the largest square centred at (x, y) inside the stored crop."""
    left, top, right, bottom = CROP_BOUNDS
    return 2 * max(0.0, min(x - left, right - x, y - top, bottom - y))


def _floor_percent(fraction: float) -> str:
    return f"{np.floor(fraction * 1000) / 10:g}"


def cut_image(image: np.ndarray, cut: Window, size: int, *, smooth: bool = True) -> np.ndarray:
    """The training image of a stored crop (or a mask stored over the crop's area).

    Shrinking is done by area (cv2.resize) before the sub-pixel placement, so a large crop
    does not alias; `smooth` picks cubic interpolation for enlarging (linear for masks).
    """
    source = image.shape[0]
    matrix = np.vstack([cut.crop_to_cut(source, size), [0, 0, 1]])
    if matrix[0, 0] < 1:
        shrunk = max(1, round(source * matrix[0, 0]))
        image = cv2.resize(image, (shrunk, shrunk), interpolation=cv2.INTER_AREA)
        factor = shrunk / source
        # cv2.resize puts pixel j of the result over (j + 0.5) / factor - 0.5 of its source.
        back = np.array([[1 / factor, 0, 0.5 / factor - 0.5], [0, 1 / factor, 0.5 / factor - 0.5],
                         [0, 0, 1]])
        matrix = matrix @ back
        interpolation = cv2.INTER_LINEAR
    else:
        interpolation = cv2.INTER_CUBIC if smooth else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix[:2], (size, size), flags=interpolation,
                          borderMode=cv2.BORDER_REPLICATE)
