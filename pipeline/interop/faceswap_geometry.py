"""Where faceswap puts a face in its aligned images, so that the faces we write are the ones
its tools expect and the points of the faces it wrote can be placed in them.

faceswap fits the 51 inner landmarks to a mean face on the unit square ("legacy" space),
estimates the head's pose from 26 of them against a 3-D head model, and shifts the square
to the centre of the face or of the head ("face" and "head" centering). An extracted face
is head-centred: the unit square fills 1 - 0.625 of the image, padding the rest. Masks are
stored face-centred at 128 px. The two point sets below are the templates faceswap aligns
to (its `lib/align/constants.py`); the same numbers must be used to land on the same pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.alignment import transform_points, umeyama

# How much of an aligned image each centering leaves as padding, at coverage 1.
EXTRACT_RATIOS = {"legacy": 0.375, "face": 0.5, "head": 0.625}
# The 51 inner points (iBUG 17-67) of faceswap's mean face, in legacy units.
MEAN_FACE_51 = np.array([
    (0.010086, 0.106454), (0.085135, 0.038915), (0.191003, 0.018748), (0.300643, 0.034489),
    (0.403270, 0.077391), (0.596729, 0.077391), (0.699356, 0.034489), (0.808997, 0.018748),
    (0.914864, 0.038915), (0.989913, 0.106454), (0.500000, 0.203352), (0.500000, 0.307009),
    (0.500000, 0.409805), (0.500000, 0.515625), (0.376753, 0.587326), (0.435909, 0.609345),
    (0.500000, 0.628106), (0.564090, 0.609345), (0.623246, 0.587326), (0.131610, 0.216423),
    (0.196995, 0.178758), (0.275698, 0.179852), (0.344479, 0.231733), (0.270791, 0.245099),
    (0.192616, 0.244077), (0.655520, 0.231733), (0.724301, 0.179852), (0.803005, 0.178758),
    (0.868389, 0.216423), (0.807383, 0.244077), (0.729208, 0.245099), (0.264022, 0.780233),
    (0.350858, 0.745405), (0.438731, 0.727388), (0.500000, 0.742578), (0.561268, 0.727388),
    (0.649141, 0.745405), (0.735977, 0.780233), (0.652032, 0.864805), (0.566594, 0.902192),
    (0.500000, 0.909281), (0.433405, 0.902192), (0.347967, 0.864805), (0.300252, 0.784792),
    (0.437969, 0.778746), (0.500000, 0.785343), (0.562030, 0.778746), (0.699747, 0.784792),
    (0.563237, 0.824182), (0.500000, 0.831803), (0.436763, 0.824182)])
# The 3-D head the pose is solved against, and the iBUG points that match its points.
HEAD_3D = np.array([
    (4.056931, -11.432347, 1.636229), (1.833492, -12.542305, 4.061275),
    (0.0, -12.901019, 4.070434), (-1.833492, -12.542305, 4.061275),
    (-4.056931, -11.432347, 1.636229), (6.825897, 1.275284, 4.402142),
    (1.330353, 1.636816, 6.903745), (-1.330353, 1.636816, 6.903745),
    (-6.825897, 1.275284, 4.402142), (1.930245, -5.060977, 5.914376),
    (0.746313, -5.136947, 6.263227), (0.0, -5.485328, 6.76343),
    (-0.746313, -5.136947, 6.263227), (-1.930245, -5.060977, 5.914376),
    (5.311432, 0.0, 3.987654), (1.78993, -0.091703, 4.413414),
    (-1.78993, -0.091703, 4.413414), (-5.311432, 0.0, 3.987654),
    (2.774015, -7.566103, 5.048531), (0.509714, -7.056507, 6.566167),
    (0.0, -7.131772, 6.704956), (-0.509714, -7.056507, 6.566167),
    (-2.774015, -7.566103, 5.048531), (-0.589441, -8.443925, 6.109526),
    (0.0, -8.601736, 6.097667), (0.589441, -8.443925, 6.109526)])
HEAD_3D_POINTS = [6, 7, 8, 9, 10, 17, 21, 22, 26, 31, 32, 33, 34, 35, 36, 39, 42, 45, 48, 50,
                  51, 52, 54, 56, 57, 58]
# The 3-D points whose projections are the centres of the face and of the head.
CENTRES_3D = {"face": (0.0, -1.5, 4.2), "head": (0.0, 0.0, -2.3)}
CAMERA = np.array([[4.0, 0.0, 0.5], [0.0, 4.0, 0.5], [0.0, 0.0, 1.0]])
MASK_SIZE = 128
MASK_CENTERING = "face"


def legacy_matrix(landmarks: np.ndarray) -> np.ndarray:
    """Frame pixels -> faceswap's legacy unit square (2x3), fitted on the inner points."""
    return umeyama(np.asarray(landmarks, np.float64)[17:], MEAN_FACE_51)


def centre_offsets(landmarks: np.ndarray, legacy: np.ndarray) -> dict[str, np.ndarray]:
    """How far the face and head centres sit from the legacy square's centre, in its units."""
    points = transform_points(legacy, np.asarray(landmarks, np.float64))[HEAD_3D_POINTS]
    _, rotation, translation = cv2.solvePnP(HEAD_3D, points, CAMERA, np.zeros((4, 1)),
                                            flags=cv2.SOLVEPNP_ITERATIVE)
    offsets = {"legacy": np.zeros(2)}
    for centering, point in CENTRES_3D.items():
        projected, _ = cv2.projectPoints(np.array([point]), rotation, translation, CAMERA,
                                         np.zeros((4, 1)))
        offsets[centering] = projected.reshape(2) - 0.5
    return offsets


def padding(size: int, centering: str, coverage: float = 1.0) -> int:
    """The pixels of padding on each side of the unit square (Python's rounding, as theirs)."""
    return round((size * (coverage - (1 - EXTRACT_RATIOS[centering]))) / 2)


def aligned_matrix(landmarks: np.ndarray, size: int, centering: str = "head",
                   coverage: float = 1.0) -> np.ndarray:
    """Frame pixels -> pixels of faceswap's aligned image of `size` (2x3)."""
    legacy = legacy_matrix(landmarks)
    shifted = legacy.copy()
    if centering != "legacy":
        shifted[:, 2] -= centre_offsets(landmarks, legacy)[centering]
    pad = padding(size, centering, coverage)
    matrix = shifted * (size - 2 * pad)
    matrix[:, 2] += pad
    return matrix


def warp_interpolation(matrix: np.ndarray) -> int:
    """The interpolation faceswap uses for a warp by `matrix`: cubic up, area down."""
    x_scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    y_scale = float((matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0]) / x_scale)
    return cv2.INTER_CUBIC if (x_scale + y_scale) / 2 >= 1.0 else cv2.INTER_AREA


def mask_interpolator(matrix: np.ndarray) -> int:
    """The interpolator a stored mask records for going back to the frame."""
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    return cv2.INTER_LINEAR if scale < 1.0 else cv2.INTER_AREA
