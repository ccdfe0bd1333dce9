"""Which faces to keep: faceswap-style alignment filters and identity filters.

A rejected face is still stored, with the reason, so a person can see what was dropped.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.extract.alignment import transform_points
from pipeline.extract.mean_face import MEAN_FACE_68

# Mean distance (template units) of a face's aligned inner landmarks from the mean face
# beyond which the "face" is not face-shaped.
MAX_MEAN_FACE_DISTANCE = 0.12
DEFAULT_IDENTITY_THRESHOLD = 0.6


def layout_problem(landmarks: np.ndarray, face_matrix: np.ndarray) -> str | None:
    """Why the landmarks cannot be a face, or None."""
    aligned = transform_points(face_matrix, landmarks)
    distance = float(np.linalg.norm(aligned[17:] - MEAN_FACE_68[17:], axis=1).mean())
    if distance > MAX_MEAN_FACE_DISTANCE:
        return f"not face-shaped (distance {distance:.2f} from the mean face)"
    right_eye, left_eye = aligned[36:42].mean(axis=0), aligned[42:48].mean(axis=0)
    nose, mouth = aligned[30], aligned[48:60].mean(axis=0)
    eyes_y = (right_eye[1] + left_eye[1]) / 2
    if not (right_eye[0] < nose[0] < left_eye[0] and eyes_y < nose[1] < mouth[1]):
        return "impossible feature layout"
    return None


def size_problem(size: float, min_size_percent: float) -> str | None:
    if size * 100 < min_size_percent:
        return f"too small ({size * 100:.1f}% of the frame, minimum {min_size_percent:g}%)"
    return None


@dataclass(frozen=True)
class IdentityFilter:
    """faceswap's semantics: keep faces like `keep`, drop faces like `drop`.

    With both, a face near both is kept only when it is nearer to a `keep` face.
    """
    keep: np.ndarray      # (K, 128) descriptors of the --filter photos
    drop: np.ndarray      # (D, 128) descriptors of the --nfilter photos
    threshold: float = DEFAULT_IDENTITY_THRESHOLD

    @property
    def active(self) -> bool:
        return len(self.keep) > 0 or len(self.drop) > 0

    def judge(self, descriptor: np.ndarray) -> tuple[str | None, float | None]:
        """(rejection reason or None, distance to the nearest --filter face or None)."""
        keep_distance = _nearest(self.keep, descriptor)
        drop_distance = _nearest(self.drop, descriptor)
        if drop_distance is not None and drop_distance < self.threshold and (
                keep_distance is None or drop_distance <= keep_distance):
            return f"looks like an --nfilter face (distance {drop_distance:.2f})", keep_distance
        if keep_distance is not None and keep_distance >= self.threshold:
            return f"unlike the --filter faces (distance {keep_distance:.2f})", keep_distance
        return None, keep_distance


def _nearest(references: np.ndarray, descriptor: np.ndarray) -> float | None:
    if len(references) == 0:
        return None
    return float(np.linalg.norm(references - descriptor, axis=1).min())


def no_filter() -> IdentityFilter:
    empty = np.zeros((0, 128), np.float32)
    return IdentityFilter(empty, empty)


def descriptors_array(vectors: Sequence[np.ndarray]) -> np.ndarray:
    return np.asarray(vectors, np.float32).reshape(-1, 128)
