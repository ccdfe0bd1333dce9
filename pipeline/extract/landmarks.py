"""The iBUG 68-point layout: reading annotations, mirroring, and named groups."""
from __future__ import annotations

from pathlib import Path

import numpy as np

JAW = slice(0, 17)
RIGHT_BROW, LEFT_BROW = slice(17, 22), slice(22, 27)
NOSE_BRIDGE, NOSE_BOTTOM = slice(27, 31), slice(31, 36)
RIGHT_EYE, LEFT_EYE = slice(36, 42), slice(42, 48)
MOUTH_OUTER, MOUTH_INNER = slice(48, 60), slice(60, 68)
INNER = slice(17, 68)

# Index of each point's mirror image (the subject's right becomes their left).
MIRROR_68 = np.array(
    list(range(16, -1, -1))                      # jaw
    + list(range(26, 21, -1)) + list(range(21, 16, -1))  # brows
    + [27, 28, 29, 30] + [35, 34, 33, 32, 31]    # nose
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]           # inner lips
)


def read_pts(path: Path) -> np.ndarray:
    """A .pts annotation as (68, 2) zero-based pixel coordinates (the files are 1-based)."""
    lines = path.read_text().splitlines()
    start = lines.index("{") + 1
    end = lines.index("}")
    return np.array([[float(v) for v in line.split()] for line in lines[start:end]]) - 1.0
