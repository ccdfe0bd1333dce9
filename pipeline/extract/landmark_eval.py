"""Landmark accuracy against ground truth: normalised mean error (inter-ocular).

Used by benchmarks/landmarks.py and by the test that holds the dlib aligner to its measured
accuracy. Ground truth: 68-point iBUG annotations (.pts, 1-based; menpo .ljson, (y, x)).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.extract.backends import Aligner, Detection, Detector
from pipeline.extract.landmarks import read_pts

IMAGE_SUFFIXES = (".jpg", ".png", ".ppm", ".jpeg")


@dataclass(frozen=True)
class GroundTruth:
    name: str
    image: np.ndarray
    points: np.ndarray  # (68, 2) zero-based pixels


def _image_beside(annotation: Path) -> Path | None:
    return next((p for s in IMAGE_SUFFIXES if (p := annotation.with_suffix(s)).is_file()), None)


def ground_truth(folder: Path) -> Iterator[GroundTruth]:
    """Every annotated face under `folder` that has its image beside it."""
    for annotation in sorted([*folder.rglob("*.pts"), *folder.rglob("*.ljson")]):
        image_path = _image_beside(annotation)
        if image_path is None:
            continue
        if annotation.suffix == ".pts":
            points = read_pts(annotation)
        else:
            group = json.loads(annotation.read_text())["groups"]["LJSON"]
            points = np.array(group["landmarks"]["points"], np.float64)[:, ::-1]
        with Image.open(image_path) as opened:
            image = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
        yield GroundTruth(str(annotation.relative_to(folder)), image, points)


def normalised_mean_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean point distance over the distance between the outer eye corners (36, 45)."""
    inter_ocular = np.linalg.norm(truth[36] - truth[45])
    return float(np.linalg.norm(predicted - truth, axis=1).mean() / inter_ocular)


def _overlap(box: tuple[float, ...], other: tuple[float, ...]) -> float:
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    if width <= 0 or height <= 0:
        return 0.0
    union = ((box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1])
             - width * height)
    return width * height / union


def face_box(detector: Detector, face: GroundTruth) -> Detection:
    """The detection that overlaps the annotated face most; the annotation's own box when the
    detector misses it (so every aligner is scored on every face)."""
    truth_box = (*face.points.min(axis=0), *face.points.max(axis=0))
    detections = detector.detect([face.image])[0]
    best = max(detections, key=lambda d: _overlap(d.box, truth_box), default=None)
    if best is not None and _overlap(best.box, truth_box) > 0.3:
        return best
    return Detection(tuple(float(v) for v in truth_box), 0.0)


def aligner_errors(aligner: Aligner, detector: Detector,
                   faces: list[GroundTruth]) -> dict[str, float]:
    """Normalised mean error of `aligner` on each face, by name."""
    errors = {}
    for face in faces:
        box = face_box(detector, face)
        [[points]] = aligner.landmarks([face.image], [[box]])
        errors[face.name] = normalised_mean_error(points, face.points)
    return errors
