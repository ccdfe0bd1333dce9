"""The parts of a face in the 68-point iBUG layout, as the Alignments review moves them."""
from __future__ import annotations

POINTS = 68
LANDMARK_GROUPS: dict[str, range] = {
    "jaw": range(0, 17),
    "brows": range(17, 27),
    "nose": range(27, 36),
    "eyes": range(36, 48),
    "mouth": range(48, 68),
    "all": range(0, POINTS),
}
