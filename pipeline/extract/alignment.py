"""Similarity alignment to the mean face, and the aligned crops cut with it.

A face's `matrix` (2x3) maps frame pixels to template units: the mean face's inner points
span the unit square there. The stored crop covers CROP_SPAN template units around the face
(head room above), so training can later cut face or head centering at any coverage.
"""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.landmarks import INNER
from pipeline.extract.mean_face import MEAN_FACE_68
from store.faces import CROP_SPAN, crop_matrix

THUMB_SIZE = 96


def umeyama(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares similarity transform (2x3) that maps `source` points onto `target`
    (Umeyama 1991: rotation, uniform scale, translation; no reflection)."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    centred_s, centred_t = source - mean_s, target - mean_t
    covariance = centred_t.T @ centred_s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = centred_s.var(axis=0).sum()
    scale = (singular * np.diag(sign)).sum() / variance if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mean_t - matrix[:, :2] @ mean_s
    return matrix


def align_to_mean_face(landmarks: np.ndarray) -> np.ndarray:
    """Frame pixels -> template units, fitted on the 51 inner points (the jaw moves too much)."""
    return umeyama(landmarks[INNER], MEAN_FACE_68[INNER])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def aligned_crop(frame: np.ndarray, face_matrix: np.ndarray, size: int) -> np.ndarray:
    """The face, upright and centred, `size` pixels square; outside the frame is black."""
    interpolation = cv2.INTER_AREA if matrix_scale(face_matrix) * size / CROP_SPAN < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(frame, crop_matrix(face_matrix, size), (size, size),
                          flags=interpolation, borderMode=cv2.BORDER_CONSTANT)


def matrix_scale(matrix: np.ndarray) -> float:
    """How many template units one frame pixel spans (the similarity's uniform scale)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def thumbnail(crop: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
