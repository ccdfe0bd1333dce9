"""Swap metrics on real faces, cut as the trainer shows them to a 64 px model."""
from __future__ import annotations

import functools
from dataclasses import astuple

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from pipeline.extract.alignment import align_to_mean_face, transform_points
from pipeline.extract.backends import Detection
from pipeline.extract.dlib_backend import DlibAligner, DlibHogDetector, face_chip
from pipeline.extract.dlib_resnet import TorchDlibDescriptor
from pipeline.train.swap_metrics import SwapMetricsProbe
from store.faces import crop_matrix
from store.sessions import SwapMetrics
from tests.paths import real_media

SIZE = 64


@pytest.fixture(scope="module")
def probe() -> SwapMetricsProbe:
    return SwapMetricsProbe("cpu")


@pytest.fixture(scope="module")
def descriptor() -> TorchDlibDescriptor:
    return TorchDlibDescriptor("cpu")


@functools.cache
def extraction() -> tuple[DlibHogDetector, DlibAligner]:
    # The test photos' faces are over a fifth of the picture: HOG needs no upsampling.
    return DlibHogDetector(min_size_percent=20.0, threads=1), DlibAligner()


def found_face(image: np.ndarray) -> tuple[Detection, np.ndarray]:
    """The most confident face of a photo and its 68 points, as dlib extraction finds them."""
    detector, aligner = extraction()
    detections = detector.detect([image])[0]
    assert detections, "no face in the test photo"
    best = max(detections, key=lambda d: d.score)
    return best, aligner.landmarks([image], [[best]])[0][0]


def tight_crop(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A face-centred crop (brows to chin fill it) and its landmarks in the crop's pixels."""
    matrix = crop_matrix(align_to_mean_face(landmarks), SIZE, span=1.5, head_room=-0.1)
    crop = cv2.warpAffine(image, matrix, (SIZE, SIZE), flags=cv2.INTER_AREA)
    return crop, transform_points(matrix, landmarks)


def photo_descriptor(descriptor: TorchDlibDescriptor, image: np.ndarray) -> np.ndarray:
    detection, landmarks = found_face(image)
    return descriptor.describe([face_chip(image, detection.box, landmarks)])[0]


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def tensor(crops: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


def rotated(crop: np.ndarray, degrees: float) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), degrees, 1.0)
    return cv2.warpAffine(crop, matrix, (SIZE, SIZE), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def astronaut_face() -> tuple[np.ndarray, np.ndarray]:
    return tight_crop(astronaut(), found_face(astronaut())[1])


def test_an_output_identical_to_its_input_keeps_pose_expression_and_identity(
        probe: SwapMetricsProbe, descriptor: TorchDlibDescriptor,
        astronaut_face: tuple[np.ndarray, np.ndarray]) -> None:
    crop, landmarks = astronaut_face
    centre_a = unit(photo_descriptor(descriptor, astronaut()))
    centre_b = unit(np.random.default_rng(0).normal(size=128))
    faces = tensor([crop, crop])
    metrics = probe.measure(7, faces, faces, np.stack([landmarks, landmarks]), centre_a, centre_b)
    assert metrics.iteration == 7 and metrics.faces == 2
    assert metrics.pose_error == pytest.approx(0, abs=1e-6)
    assert metrics.expression_error == pytest.approx(0, abs=1e-6)
    # The crop's own descriptor, from the landmarks extraction stored for it.
    big = cv2.resize(crop, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    points = landmarks * 4 + 1.5
    own = descriptor.describe([face_chip(big, (*points.min(0), *points.max(0)), points)])[0]
    assert metrics.identity_a == pytest.approx(float(unit(own) @ centre_a), abs=0.02)
    assert metrics.identity_a > 0.95 and abs(metrics.identity_b) < 0.3


@pytest.mark.parametrize("change", ["mirrored", "rotated"])
def test_a_mirrored_or_rotated_output_raises_pose_error(
        probe: SwapMetricsProbe, astronaut_face: tuple[np.ndarray, np.ndarray],
        change: str) -> None:
    crop, landmarks = astronaut_face
    output = np.ascontiguousarray(crop[:, ::-1]) if change == "mirrored" else rotated(crop, 20)
    centre = np.ones(128)
    metrics = probe.measure(1, tensor([crop]), tensor([output]), landmarks[None], centre, centre)
    assert metrics.faces == 1
    assert metrics.pose_error > 3.0


def test_a_blank_output_is_left_out_and_none_is_measured(
        probe: SwapMetricsProbe, astronaut_face: tuple[np.ndarray, np.ndarray]) -> None:
    crop, landmarks = astronaut_face
    grey = np.full_like(crop, 128)
    centre = np.ones(128)
    blank = probe.measure(3, tensor([crop]), tensor([grey]), landmarks[None], centre, centre)
    assert blank == SwapMetrics(3, 0, None, None, None, None)
    mixed = probe.measure(3, tensor([crop, crop]), tensor([crop, grey]),
                          np.stack([landmarks, landmarks]), centre, centre)
    alone = probe.measure(3, tensor([crop]), tensor([crop]), landmarks[None], centre, centre)
    assert mixed.faces == alone.faces == 1
    assert astuple(mixed) == pytest.approx(astuple(alone), abs=1e-4)


def test_mismatched_batches_are_refused(probe: SwapMetricsProbe,
                                        astronaut_face: tuple[np.ndarray, np.ndarray]) -> None:
    crop, landmarks = astronaut_face
    with pytest.raises(ValueError, match="do not match"):
        probe.measure(0, tensor([crop, crop]), tensor([crop]), landmarks[None], np.ones(128),
                      np.ones(128))


def bbt_photos(name: str) -> list[np.ndarray]:
    """A person's 150 px face crops from the BBT set, enlarged and framed for HOG."""
    photos = []
    for path in sorted(real_media(f"identities/bbt/{name}").glob("*.png")):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, (300, 300), interpolation=cv2.INTER_CUBIC)
        photos.append(cv2.copyMakeBorder(image, 50, 50, 50, 50, cv2.BORDER_REPLICATE))
    return photos


@pytest.mark.parametrize("person_a, person_b", [("leonard", "penny"), ("howard", "raj")])
def test_an_output_of_another_person_moves_identity_towards_them(
        probe: SwapMetricsProbe, descriptor: TorchDlibDescriptor,
        person_a: str, person_b: str) -> None:
    photos_a, photos_b = bbt_photos(person_a), bbt_photos(person_b)
    # Centres from three photos each; the faces measured are the other two.
    centre_a = unit(np.mean([photo_descriptor(descriptor, p) for p in photos_a[:3]], axis=0))
    centre_b = unit(np.mean([photo_descriptor(descriptor, p) for p in photos_b[:3]], axis=0))
    crops_a = [tight_crop(p, found_face(p)[1]) for p in photos_a[3:]]
    crops_b = [tight_crop(p, found_face(p)[1])[0] for p in photos_b[3:]]
    inputs = tensor([crop for crop, _ in crops_a])
    landmarks = np.stack([points for _, points in crops_a])

    unchanged = probe.measure(0, inputs, inputs, landmarks, centre_a, centre_b)
    swapped = probe.measure(1, inputs, tensor(crops_b), landmarks, centre_a, centre_b)
    assert unchanged.faces == swapped.faces == 2
    assert unchanged.identity_a > unchanged.identity_b
    assert swapped.identity_b > swapped.identity_a
    assert swapped.identity_b > unchanged.identity_b and swapped.identity_a < unchanged.identity_a
    assert swapped.expression_error > unchanged.expression_error
