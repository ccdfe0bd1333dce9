"""dlib's detectors (HOG, MMOD-CNN) and 68-point shape predictor, with the model files of
`face_recognition_models`: works offline, the CPU default."""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import dlib
import numpy as np

from pipeline.extract.backends import Detection, aligner, detector
from pipeline.extract.model_files import MMOD, SHAPE_68, dlib_model_file

# HOG finds faces down to about 80 px at upsample 0 and 40 px at upsample 1.
HOG_SMALLEST_FACE_PX = 80


def upsample_for(frame_shape: tuple[int, ...], min_size_percent: float,
                 smallest_face_px: int = HOG_SMALLEST_FACE_PX) -> int:
    """Upsample once only when faces smaller than the detector's native minimum are wanted
    (`frame_shape` is the image the detector sees: a frame scaled down for detection wants
    smaller faces in its pixels)."""
    smallest = min(frame_shape[:2]) * min_size_percent / 100
    return 0 if smallest >= smallest_face_px else 1


class DlibHogDetector:
    """HOG on every core: dlib releases the GIL while it scans, so threads run in parallel.

    Each thread has a detector of its own (dlib does not promise that one can be shared).
    """
    name = "dlib-hog"

    def __init__(self, min_size_percent: float = 0.0, threads: int | None = None) -> None:
        self.min_size_percent = min_size_percent
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads or os.cpu_count() or 1,
                                        thread_name_prefix="hog")

    def _detect_one(self, frame: np.ndarray) -> list[Detection]:
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = dlib.get_frontal_face_detector()
        rects, scores, _ = detector.run(frame, upsample_for(frame.shape, self.min_size_percent),
                                        0.0)
        return [Detection(_box(r), float(s)) for r, s in zip(rects, scores)]

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        return list(self._pool.map(self._detect_one, frames))


class DlibMmodDetector:
    name = "dlib-mmod"

    def __init__(self, min_size_percent: float = 0.0) -> None:
        self._detector = dlib.cnn_face_detection_model_v1(str(dlib_model_file(MMOD)))
        self.min_size_percent = min_size_percent

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        found = []
        for frame in frames:
            hits = self._detector(frame, upsample_for(frame.shape, self.min_size_percent))
            found.append([Detection(_box(h.rect), float(h.confidence)) for h in hits])
        return found


@functools.cache
def shape_predictor() -> dlib.shape_predictor:
    """The 68-point predictor, read once per process (half a second of parsing 100 MB): a
    worker's extractions and training runs share it, as predicting keeps no state in it."""
    return dlib.shape_predictor(str(dlib_model_file(SHAPE_68)))


class DlibAligner:
    name = "dlib"

    def __init__(self) -> None:
        self._predictor = shape_predictor()

    def landmarks(self, frames: Sequence[np.ndarray],
                  boxes: Sequence[Sequence[Detection]]) -> list[list[np.ndarray]]:
        return [[shape_points(self._predictor(frame, _rect(d.box))) for d in frame_boxes]
                for frame, frame_boxes in zip(frames, boxes)]


def _box(rect: dlib.rectangle) -> tuple[float, float, float, float]:
    return float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom())


def _rect(box: tuple[float, float, float, float]) -> dlib.rectangle:
    return dlib.rectangle(*(int(round(v)) for v in box))


def shape_points(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def face_chip(frame: np.ndarray, box: tuple[float, float, float, float],
              landmarks: np.ndarray) -> np.ndarray:
    """The 150x150 chip dlib's face descriptor expects, from any aligner's 68 points."""
    points = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in landmarks])
    shape = dlib.full_object_detection(_rect(box), points)
    return dlib.get_face_chip(frame, shape, size=150, padding=0.25)


@detector("dlib-hog")
def _hog(device: str, min_size_percent: float = 0.0) -> DlibHogDetector:
    return DlibHogDetector(min_size_percent)


@detector("dlib-mmod")
def _mmod(device: str, min_size_percent: float = 0.0) -> DlibMmodDetector:
    return DlibMmodDetector(min_size_percent)


@aligner("dlib")
def _dlib_aligner(device: str) -> DlibAligner:
    return DlibAligner()
