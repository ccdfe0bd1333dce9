"""Turn frames into faces: detect, align, measure, mask, describe and judge, in batches."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pipeline.extract import backends
from pipeline.extract.alignment import align_to_mean_face, aligned_crop, thumbnail
from pipeline.extract.backends import BackendUnavailableError, Detection
from pipeline.extract.dlib_backend import face_chip
from pipeline.extract.filters import (IdentityFilter, descriptors_array, layout_problem,
                                      no_filter, size_problem)
from pipeline.extract.masks import MASK_SIZE, landmark_mask
from pipeline.extract.quality import measure
from store.requests.extract import AUTO, PARSING_MASKS, ExtractSettings
from store.faces import DESCRIPTOR_MODEL, EncodedImage, NewFace

if TYPE_CHECKING:
    from pipeline.masks.parsing import FaceParser

JPEG_QUALITY = 92
# Detectors see at most this many pixels whatever detect_size says (a 4K frame is 8.3 Mpx): on
# a 50 Mpx photo HOG alone would take half a gigabyte and a minute, and faces big enough to
# keep are found smaller.
DETECT_MAX_PIXELS = 16_000_000


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_backends(settings: ExtractSettings) -> tuple[str, str, str]:
    """(detector, aligner, device) with `auto` settled: the face-alignment pair with CUDA."""
    device = "cuda" if cuda_available() else "cpu"
    detector = settings.detector if settings.detector != AUTO else (
        "s3fd" if device == "cuda" else "dlib-hog")
    aligner = settings.aligner if settings.aligner != AUTO else (
        "fan" if device == "cuda" else "dlib")
    return detector, aligner, device


@dataclass(frozen=True)
class FrameFaces:
    """A frame's faces before they are stored: everything but the frame id."""
    detection: Detection
    landmarks: np.ndarray
    matrix: np.ndarray


class FaceExtractor:
    def __init__(self, settings: ExtractSettings, *, descriptor: str = "dlib-torch") -> None:
        self.settings = settings
        detector, aligner, self.device = resolve_backends(settings)
        self.detector = backends.create(backends.DETECTORS, "detector", detector, self.device,
                                        settings.min_size)
        self.aligner = backends.create(backends.ALIGNERS, "aligner", aligner, self.device)
        self.descriptor = backends.create(backends.DESCRIPTORS, "descriptor", descriptor,
                                          self.device)
        self.identity: IdentityFilter = no_filter()
        self.parsing_kinds = [kind for kind in settings.masks if kind in PARSING_MASKS]
        self.parser: FaceParser | None = None
        if self.parsing_kinds:   # torch and the network's weights only when asked for
            from pipeline.masks.parsing import face_parser

            self.parser = face_parser(self.device)

    def set_identity_references(self, keep: Sequence[np.ndarray],
                                drop: Sequence[np.ndarray]) -> None:
        self.identity = IdentityFilter(descriptors_array(keep), descriptors_array(drop),
                                       self.settings.threshold)

    def locate(self, images: Sequence[np.ndarray]) -> list[list[FrameFaces]]:
        """Detect every face of every image on the image scaled down to the detect size, and
        align it on the full image."""
        scaled = [detection_image(image, self.settings.detect_size) for image in images]
        detections = [_scaled(found, factors) for found, (_, factors) in zip(
            self.detector.detect([small for small, _ in scaled]), scaled)]
        landmarks = self.aligner.landmarks(images, detections)
        return [
            [FrameFaces(d, points, align_to_mean_face(points)) for d, points in zip(dets, lms)]
            for dets, lms in zip(detections, landmarks)
        ]

    def describe(self, images: Sequence[np.ndarray],
                 located: Sequence[Sequence[FrameFaces]]) -> list[np.ndarray]:
        chips = [face_chip(image, f.detection.box, f.landmarks)
                 for image, faces in zip(images, located) for f in faces]
        if not chips:
            return []
        return list(self.descriptor.describe(chips))

    def reference_descriptor(self, image: np.ndarray, name: str) -> np.ndarray:
        """The descriptor of the largest face in a reference photo."""
        [faces] = self.locate([image])
        if not faces:
            raise BackendUnavailableError(f"no face found in the reference photo {name}")
        largest = max(faces, key=lambda f: (f.detection.box[2] - f.detection.box[0]))
        return self.describe([image], [[largest]])[0]

    def extract(self, frame_ids: Sequence[int], images: Sequence[np.ndarray]) -> list[NewFace]:
        """Every face of the batch, measured, masked, described and judged."""
        return self.complete(frame_ids, images, self.locate(images))

    def place(self, frame_id: int, image: np.ndarray,
              detections: Sequence[Detection]) -> list[NewFace]:
        """Faces in boxes given rather than detected (tracking's gaps, boxes drawn by hand):
        the aligner places the points, and the rest is as for a detected face."""
        [landmarks] = self.aligner.landmarks([image], [detections])
        located = [FrameFaces(d, points, align_to_mean_face(points))
                   for d, points in zip(detections, landmarks)]
        return self.complete([frame_id], [image], [located])

    def with_points(self, frame_id: int, image: np.ndarray, detection: Detection,
                    landmarks: np.ndarray) -> NewFace:
        """A face whose 68 points are given (moved by hand), not aligned: the rest is as for
        a detected face."""
        points = np.asarray(landmarks, np.float32)
        located = [FrameFaces(detection, points, align_to_mean_face(points))]
        [face] = self.complete([frame_id], [image], [located])
        return face

    def complete(self, frame_ids: Sequence[int], images: Sequence[np.ndarray],
                 located: Sequence[Sequence[FrameFaces]]) -> list[NewFace]:
        """The second half of `extract`, for faces `locate` found (so the two can overlap)."""
        vectors = iter(self.describe(images, located))
        every = [face for faces in located for face in faces]
        crops = [aligned_crop(image, face.matrix, self.settings.size)
                 for image, faces in zip(images, located) for face in faces]
        masked = iter(zip(crops, self.masks(crops, every)))
        found = []
        for frame_id, image, faces in zip(frame_ids, images, located):
            for face_idx, face in enumerate(faces):
                found.append(self._new_face(frame_id, face_idx, image, face, next(vectors),
                                            *next(masked)))
        return found

    def masks(self, crops: Sequence[np.ndarray],
              faces: Sequence[FrameFaces]) -> list[dict[str, EncodedImage]]:
        """The masks the settings ask for, of each face: the landmark ones drawn, the
        face-parsing ones from one batched pass of the network over all the crops."""
        parsed = (self.parser.masks(crops, self.parsing_kinds, self.settings.mask_glasses,
                                    self.settings.mask_mouth)
                  if self.parser is not None and crops else [{} for _ in crops])
        return [{kind: _png(parsing[kind] if kind in parsing else
                            landmark_mask(face.landmarks, face.matrix, kind))
                 for kind in self.settings.masks}
                for face, parsing in zip(faces, parsed)]

    def _new_face(self, frame_id: int, face_idx: int, image: np.ndarray, face: FrameFaces,
                  vector: np.ndarray, crop: np.ndarray,
                  masks: dict[str, EncodedImage]) -> NewFace:
        quality = measure(image, face.landmarks, face.matrix)
        identity_problem, distance = self.identity.judge(vector)
        rejected = (layout_problem(face.landmarks, face.matrix)
                    or size_problem(quality.size, self.settings.min_size)
                    or identity_problem)
        return NewFace(
            frame_id=frame_id, face_idx=face_idx, box=face.detection.box,
            score=face.detection.score, landmarks=face.landmarks, matrix=face.matrix,
            blur=quality.blur, yaw=quality.yaw, pitch=quality.pitch, roll=quality.roll,
            size=quality.size, rejected=rejected, filter_distance=distance,
            crop=_jpeg(crop), crop_size=self.settings.size, thumb=_jpeg(thumbnail(crop)),
            masks=masks,
            mask_size=MASK_SIZE,
            descriptors={DESCRIPTOR_MODEL: np.asarray(vector, np.float32)},
        )


def detection_scale(shape: tuple[int, ...], detect_size: int) -> float:
    """The factor an image of `shape` is scaled by for detection: its long side down to
    `detect_size` (0: the full image), then down to DETECT_MAX_PIXELS; never up."""
    rows, cols = shape[:2]
    scale = min(1.0, detect_size / max(rows, cols)) if detect_size else 1.0
    pixels = rows * cols * scale * scale
    return scale if pixels <= DETECT_MAX_PIXELS else scale * (DETECT_MAX_PIXELS / pixels) ** 0.5


def detection_image(image: np.ndarray,
                    detect_size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """The image detectors see, and the (x, y) factors that take its boxes back to `image`."""
    scale = detection_scale(image.shape, detect_size)
    if scale == 1.0:
        return image, (1.0, 1.0)
    rows, cols = image.shape[:2]
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, (cols / size[0], rows / size[1])


def _scaled(found: list[Detection], factors: tuple[float, float]) -> list[Detection]:
    if factors == (1.0, 1.0):
        return found
    fx, fy = factors
    return [Detection((d.box[0] * fx, d.box[1] * fy, d.box[2] * fx, d.box[3] * fy), d.score)
            for d in found]


def _jpeg(rgb: np.ndarray) -> EncodedImage:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return EncodedImage("jpeg", data.tobytes())


def _png(gray: np.ndarray) -> EncodedImage:
    ok, data = cv2.imencode(".png", gray)
    assert ok
    return EncodedImage("png", data.tobytes())
