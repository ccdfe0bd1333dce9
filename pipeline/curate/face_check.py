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

# dlib's MMOD in torch where it is registered (fast, batched), else dlib's own.
CHECKERS = ("mmod", "dlib-mmod")
# Faces smaller than this share of the crop's side are not looked for: the crop's face spans
# about half of it, and a larger smallest face spares the detector an upsampled pass.
SMALLEST_FACE_PERCENT = 40.0


def cnn_face_check(device: str) -> FaceCheck:
    detector = _first_available(device)

    def check(crops: Sequence[np.ndarray]) -> list[float]:
        return [max((d.score for d in found), default=-math.inf)
                for found in detector.detect(list(crops))]
    return check


def _first_available(device: str) -> backends.Detector:
    for name in CHECKERS[:-1]:
        try:
            return backends.create(backends.DETECTORS, "detector", name, device,
                                   SMALLEST_FACE_PERCENT)
        except backends.BackendUnavailableError:
            continue
    return backends.create(backends.DETECTORS, "detector", CHECKERS[-1], device,
                           SMALLEST_FACE_PERCENT)


def stored_crops(conn: sqlite3.Connection) -> CropReader:
    def crop_of(face_id: int) -> np.ndarray:
        encoded = face_image(conn, face_id)
        bgr = cv2.imdecode(np.frombuffer(encoded.data, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return crop_of
