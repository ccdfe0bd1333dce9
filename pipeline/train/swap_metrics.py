"""Swap metrics: whether the A-to-B outputs of a fixed set of held-out A faces have taken on
B's identity while keeping each input's pose and expression.

It reuses extraction's dlib pieces on the tight face crops the model sees: HOG decides whether
an output is a face at all, the 68-point shape predictor finds landmarks inside the box the
input's stored landmarks span, and the batched PyTorch descriptor gives identity. The input's
landmarks are found again in the same way rather than taken as stored, so the predictor's own
error on a crop of a few dozen pixels (1-2% of the eye distance) cancels out, and an output
identical to its input measures 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from pipeline.extract.alignment import transform_points, umeyama
from pipeline.extract.backends import Detection
from pipeline.extract.dlib_backend import DlibAligner, DlibHogDetector, face_chip
from pipeline.extract.dlib_resnet import TorchDlibDescriptor
from pipeline.extract.quality import head_pose
from store.sessions import SwapMetrics

# HOG needs faces of about 80 px: a tight crop at 128 px holds one it finds without upsampling.
DETECT_SIZE = 128
# The shape predictor and the face chip are run on crops this big (4x a 64 px model output).
LANDMARK_SIZE = 256
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45


def to_images(batch: torch.Tensor) -> np.ndarray:
    """N x 3 x S x S floats in [0, 1], on any device and in any dtype -> N x S x S x 3 uint8."""
    pixels = (batch.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def resized(images: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    return [cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC
                       if size > image.shape[0] else cv2.INTER_AREA) for image in images]


def pose_error(reference: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean absolute difference of yaw, pitch and roll (extraction's head pose), in degrees."""
    difference = np.subtract(head_pose(landmarks), head_pose(reference))
    return float(np.abs((difference + 180) % 360 - 180).mean())


def expression_error(reference: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean point distance once `landmarks` are similarity-aligned onto `reference`, in
    inter-ocular distances (outer eye corners): what pose, size and position do not explain."""
    aligned = transform_points(umeyama(landmarks, reference), landmarks)
    inter_ocular = np.linalg.norm(reference[LEFT_EYE_OUTER] - reference[RIGHT_EYE_OUTER])
    return float(np.linalg.norm(aligned - reference, axis=1).mean() / inter_ocular)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _span(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = landmarks.min(axis=0), landmarks.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


class SwapMetricsProbe:
    """Built once per training run: loads the shape predictor and the descriptor network."""

    def __init__(self, device: str = "cpu") -> None:
        # The face fills a tight crop: asking for faces the size of the image keeps HOG from
        # upsampling.
        self._detector = DlibHogDetector(min_size_percent=100.0)
        self._aligner = DlibAligner()
        self._descriptor = TorchDlibDescriptor(device)

    def measure(self, iteration: int, inputs: torch.Tensor, outputs: torch.Tensor,
                input_landmarks: np.ndarray, centre_a: np.ndarray,
                centre_b: np.ndarray) -> SwapMetrics:
        """Metrics over the outputs in which a face is found; all None with faces=0 if none.

        `inputs`, `outputs`: N x 3 x S x S RGB in [0, 1]; `input_landmarks`: N x 68 x 2 in the
        inputs' pixels; `centre_a`, `centre_b`: each side's mean descriptor.
        """
        if outputs.shape != inputs.shape or np.shape(input_landmarks) != (len(inputs), 68, 2):
            raise ValueError(f"inputs {tuple(inputs.shape)}, outputs {tuple(outputs.shape)} and "
                             f"landmarks {np.shape(input_landmarks)} do not match")
        swapped = to_images(outputs)
        hits = self._detector.detect(resized(swapped, DETECT_SIZE))
        found = [i for i, faces in enumerate(hits) if faces]
        if not found:
            return SwapMetrics(iteration, 0, None, None, None, None)
        before = resized(to_images(inputs)[found], LANDMARK_SIZE)
        after = resized(swapped[found], LANDMARK_SIZE)
        scale = LANDMARK_SIZE / inputs.shape[-1]
        boxes = [_span((np.asarray(input_landmarks[i]) + 0.5) * scale - 0.5) for i in found]
        detections = [[Detection(box, 1.0)] for box in boxes]
        points = [faces[0] for faces in self._aligner.landmarks(before + after,
                                                                detections + detections)]
        reference, landmarks = points[:len(found)], points[len(found):]
        chips = [face_chip(image, box, marks) for image, box, marks in zip(after, boxes, landmarks)]
        identity = _unit(self._descriptor.describe(chips))
        return SwapMetrics(
            iteration=iteration, faces=len(found),
            identity_a=float((identity @ _unit(np.asarray(centre_a))).mean()),
            identity_b=float((identity @ _unit(np.asarray(centre_b))).mean()),
            pose_error=float(np.mean([pose_error(r, m) for r, m in zip(reference, landmarks)])),
            expression_error=float(np.mean([expression_error(r, m)
                                            for r, m in zip(reference, landmarks)])))
