"""The face check of tracking: a CNN detector run on a face's aligned crop."""
from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.curate.track_flags import CropReader, FaceCheck
from pipeline.extract import backends
from store.faces import face_image

# Faces smaller than this share of the crop's side are not looked for: the crop's face spans
# about half of it, and a larger smallest face spares the detector an upsampled pass.
SMALLEST_FACE_PERCENT = 40.0


def cnn_face_check(device: str) -> FaceCheck:
    detector = backends.create(backends.DETECTORS, "detector", "mmod", device,
                               SMALLEST_FACE_PERCENT)   # dlib's MMOD, run in torch

    def check(crops: Sequence[np.ndarray]) -> list[float]:
        return [max((d.score for d in found), default=-math.inf)
                for found in detector.detect(list(crops))]
    return check


def stored_crops(conn: sqlite3.Connection) -> CropReader:
    def crop_of(face_id: int) -> np.ndarray:
        encoded = face_image(conn, face_id)
        bgr = cv2.imdecode(np.frombuffer(encoded.data, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return crop_of
