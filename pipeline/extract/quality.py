"""Per-face quality: sharpness, head pose from landmarks, and size in the frame."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from store.faces import crop_matrix

BLUR_CROP = 128
# A generic head, in millimetres: nose tip, chin, outer eye corners, mouth corners (iBUG
# indices below). Good enough to rank faces by pose; not a calibrated measurement.
HEAD_MODEL = np.array([
    (0.0, 0.0, 0.0), (0.0, -63.6, -12.5), (-43.3, 32.7, -26.0), (43.3, 32.7, -26.0),
    (-28.9, -28.9, -24.1), (28.9, -28.9, -24.1),
])
HEAD_MODEL_POINTS = [30, 8, 36, 45, 48, 54]
NEAR_ORTHOGRAPHIC = 10.0


@dataclass(frozen=True)
class Quality:
    blur: float   # variance of the Laplacian of the face at a fixed size: higher is sharper
    yaw: float    # degrees, positive when the face turns to its left
    pitch: float  # degrees, positive when it looks up
    roll: float   # degrees, positive when it tilts clockwise in the image
    size: float   # face width / the frame's short side


def sharpness(frame: np.ndarray, face_matrix: np.ndarray) -> float:
    """Laplacian variance of the face alone, cut at one size so faces compare fairly."""
    face = cv2.warpAffine(frame, crop_matrix(face_matrix, BLUR_CROP, span=1.0, head_room=0.0),
                          (BLUR_CROP, BLUR_CROP), flags=cv2.INTER_AREA)
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return float(cv2.Laplacian(gray, cv2.CV_32F).var() * 1000.0)


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from six landmarks.

    The camera is put on the face's own axis with a long focal length (nearly orthographic),
    so where the face sits in the frame does not read as pose; the solver starts from a face
    looking at the camera, which keeps it off the mirrored solution.
    """
    points = landmarks.astype(np.float64)
    centre = points.mean(axis=0)
    width = float(np.ptp(points[:, 0])) or 1.0
    focal = NEAR_ORTHOGRAPHIC * width
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]])
    model = HEAD_MODEL * np.array([1, -1, -1])  # y up, z towards the camera -> image axes
    model_width = float(np.ptp(model[:, 0]))
    rotation_vector = np.zeros((3, 1))
    translation = np.array([[0.0], [0.0], [focal * model_width / width]])
    ok, rotation_vector, _ = cv2.solvePnP(model, points[HEAD_MODEL_POINTS], camera, None,
                                          rotation_vector, translation, useExtrinsicGuess=True,
                                          flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rotation_vector)
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    yaw = np.degrees(np.arcsin(-np.clip(rotation[2, 0], -1, 1)))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(yaw), float(-pitch), float(roll)


def face_size(face_matrix: np.ndarray, frame_shape: tuple[int, ...]) -> float:
    """The mean face's unit square, in frame pixels, over the frame's short side."""
    unit_in_pixels = 1.0 / np.sqrt(abs(np.linalg.det(face_matrix[:, :2])))
    return float(unit_in_pixels / min(frame_shape[:2]))


def measure(frame: np.ndarray, landmarks: np.ndarray, face_matrix: np.ndarray) -> Quality:
    yaw, pitch, roll = head_pose(landmarks)
    return Quality(sharpness(frame, face_matrix), yaw, pitch, roll,
                   face_size(face_matrix, frame.shape))
