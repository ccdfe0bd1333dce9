"""face-alignment's S3FD detector and 2D-FAN-4 aligner, both batched across frames and faces.

The networks are face-alignment's own classes, loaded by its own loader from the torch hub
cache (downloaded there on first use). face-alignment runs FAN one face at a time (its
`get_landmarks_from_batch` batches only detection); here every face of every frame is cropped
as face-alignment crops it, the crops go through FAN in batches, and the heatmaps are decoded
as face-alignment decodes them, vectorized (its decoder is numba code that JITs for ~9 s in
every new process).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from face_alignment.api import models_urls as fan_urls
from face_alignment.detection.sfd.bbox import nms
from face_alignment.detection.sfd.sfd_detector import SFDDetector
from face_alignment.detection.sfd.sfd_detector import models_urls as s3fd_urls
from face_alignment.models import FAN
from face_alignment.utils import (CENTER_Y_OFFSET, REFERENCE_SCALE, SCALE_FACTOR, crop, flip,
                                  load_file_from_url)

from pipeline.extract.backends import BackendUnavailableError, Detection, aligner, detector
from pipeline.extract.weights import checkpoint_name

FALLBACK = "--detector dlib-hog --aligner dlib"
S3FD_URL: str = s3fd_urls["s3fd"]
FAN_URL: str = fan_urls["2DFAN-4"]
FAN_MODULES = 4  # 2D-FAN-4: four stacked hourglasses

# S3FD (face_alignment.detection.sfd): input BGR minus these means; six (class, box) output
# pairs, level i with anchors every 2**(i+2) pixels, 4 strides wide; box offsets are scaled
# by these variances; overlapping boxes are merged by NMS at this overlap.
BGR_MEAN = (104.0, 117.0, 123.0)
VARIANCES = (0.1, 0.2)
NMS_OVERLAP = 0.3

# Batch limits. Batches pay on a GPU; on a 2-core CPU they did not (S3FD took ~0.45 s per
# 640x360 frame whatever the batch; FAN 0.17 s a face one at a time, 0.24 s in batches of 16).
# S3FD's first layers keep ~0.5 kB per input pixel alive: 8 Mpx is about 4 GB.
GPU_DETECT_PIXELS, CPU_DETECT_PIXELS = 8_000_000, 2_000_000
GPU_FAN_BATCH, CPU_FAN_BATCH = 32, 4


class S3fdDetector:
    """S3FD on batches of same-sized frames; boxes and scores as face-alignment's SFDDetector
    gives them (threshold 0.5 after NMS)."""

    name = "s3fd"

    def __init__(self, net: torch.nn.Module, device: str, threshold: float = 0.5,
                 max_batch_pixels: int | None = None) -> None:
        self.net = net
        self.device = device
        self.threshold = threshold
        self.max_batch_pixels = max_batch_pixels or (
            GPU_DETECT_PIXELS if _is_gpu(device) else CPU_DETECT_PIXELS)
        self._mean = torch.tensor(BGR_MEAN, device=device).view(1, 3, 1, 1)

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        found: list[list[Detection]] = [[] for _ in frames]
        for indices in _same_size_batches(frames, self.max_batch_pixels):
            batch = torch.from_numpy(np.stack([frames[i] for i in indices])).to(self.device)
            for i, detections in zip(indices, self._detect_batch(batch)):
                found[i] = detections
        return found

    @torch.inference_mode()
    def _detect_batch(self, batch: torch.Tensor) -> list[list[Detection]]:
        """(B, H, W, 3) uint8 RGB frames -> the detections of each."""
        outputs = self.net(batch.permute(0, 3, 1, 2).flip(1).float() - self._mean)
        candidates: list[list[np.ndarray]] = [[] for _ in range(len(batch))]
        for level in range(len(outputs) // 2):
            scores = F.softmax(outputs[2 * level], dim=1)[:, 1]
            # NMS keeps a box only if no higher-scored box overlaps it, so boxes under the
            # threshold can never change which boxes over it survive: drop them first.
            frame, row, column = torch.nonzero(scores > self.threshold, as_tuple=True)
            if len(frame) == 0:
                continue
            offsets = outputs[2 * level + 1][frame, :, row, column].double().cpu().numpy()
            boxes = _anchor_boxes(offsets, column.cpu().numpy(), row.cpu().numpy(),
                                  stride=2 ** (level + 2))
            scored = np.concatenate(
                [boxes, scores[frame, row, column].double().cpu().numpy()[:, None]], 1)
            owner = frame.cpu().numpy()
            for f in np.unique(owner):
                candidates[f].append(scored[owner == f])
        return [_merge(boxes) for boxes in candidates]


def _anchor_boxes(offsets: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                  stride: int) -> np.ndarray:
    """(N, 4) regressed offsets of the anchors at grid cells (xs, ys) -> (N, 4) x0, y0, x1, y1."""
    side = 4.0 * stride
    centre = (np.stack([xs, ys], 1) + 0.5) * stride + offsets[:, :2] * VARIANCES[0] * side
    size = side * np.exp(offsets[:, 2:] * VARIANCES[1])
    corner = centre - size / 2
    return np.concatenate([corner, corner + size], 1)


def _merge(candidates: list[np.ndarray]) -> list[Detection]:
    """Non-maximum suppression (face-alignment's) over one frame's (N, 5) boxes and scores."""
    if not candidates:
        return []
    boxes = np.concatenate(candidates)
    return [Detection((float(x0), float(y0), float(x1), float(y1)), float(score))
            for x0, y0, x1, y1, score in boxes[nms(boxes, NMS_OVERLAP)]]


def _same_size_batches(frames: Sequence[np.ndarray], max_pixels: int) -> Iterator[list[int]]:
    """Indices of frames of one size, at most max_pixels in all (but at least one frame)."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, frame in enumerate(frames):
        by_shape.setdefault(frame.shape, []).append(i)
    for shape, indices in by_shape.items():
        per_batch = max(1, max_pixels // (shape[0] * shape[1]))
        for start in range(0, len(indices), per_batch):
            yield indices[start:start + per_batch]


class FanAligner:
    """2D-FAN-4 on batches of faces from any number of frames."""

    name = "fan"

    def __init__(self, net: torch.nn.Module, device: str, batch_size: int | None = None,
                 flip_input: bool = False) -> None:
        self.net = net
        self.device = device
        self.batch_size = batch_size or (GPU_FAN_BATCH if _is_gpu(device) else CPU_FAN_BATCH)
        # face-alignment's flip_input: also run the mirrored crop and add its mirrored
        # heatmaps. Twice the cost for a small gain in stability.
        self.flip_input = flip_input

    def landmarks(self, frames: Sequence[np.ndarray],
                  boxes: Sequence[Sequence[Detection]]) -> list[list[np.ndarray]]:
        faces = [(f, d.box) for f, frame_boxes in enumerate(boxes) for d in frame_boxes]
        found: list[list[np.ndarray]] = [[] for _ in frames]
        for start in range(0, len(faces), self.batch_size):
            chunk = faces[start:start + self.batch_size]
            centers, scales = crop_geometry(np.array([box for _, box in chunk], np.float64))
            crops = np.stack([crop(frames[f], center, scale)
                              for (f, _), center, scale in zip(chunk, centers, scales)])
            points = heatmaps_to_points(self._heatmaps(crops), centers, scales)
            for (f, _), face_points in zip(chunk, points):
                found[f].append(face_points)
        return found

    @torch.inference_mode()
    def _heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """(N, 256, 256, 3) uint8 crops -> (N, 68, 64, 64) heatmaps of the last hourglass."""
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        heatmaps = self.net(x)[-1]
        if self.flip_input:
            heatmaps = heatmaps + flip(self.net(flip(x))[-1], is_label=True)
        return heatmaps.float().cpu().numpy()


def crop_geometry(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """face-alignment's crop for (N, 4) boxes: (N, 2) centres (the box centre raised by 12% of
    its height) and (N,) scales, (width + height) / 195; the crop is 200 * scale pixels wide."""
    x0, y0, x1, y1 = boxes.T
    centers = np.stack([x1 - (x1 - x0) / 2.0,
                        y1 - (y1 - y0) / 2.0 - (y1 - y0) * CENTER_Y_OFFSET], 1)
    return centers, (x1 - x0 + y1 - y0) / REFERENCE_SCALE


def heatmaps_to_points(heatmaps: np.ndarray, centers: np.ndarray,
                       scales: np.ndarray) -> np.ndarray:
    """(N, 68, H, W) heatmaps -> (N, 68, 2) float32 frame pixels, as face-alignment's
    `get_preds_fromhm`: each peak, moved a quarter pixel towards its higher neighbour on each
    axis (away from the border), then half a pixel back, mapped through the inverse crop
    transform and truncated to whole pixels as its `transform_np` does."""
    n, c, h, w = heatmaps.shape
    y, x = np.divmod(heatmaps.reshape(n, c, h * w).argmax(-1), w)
    face, point = np.ogrid[:n, :c]
    dx = (heatmaps[face, point, y, np.minimum(x + 1, w - 1)]
          - heatmaps[face, point, y, np.maximum(x - 1, 0)])
    dy = (heatmaps[face, point, np.minimum(y + 1, h - 1), x]
          - heatmaps[face, point, np.maximum(y - 1, 0), x])
    inside = ((x > 0) & (x < w - 1) & (y > 0) & (y < h - 1))[..., None]
    # face-alignment counts pixels from 1, then steps back half a pixel: x + 1 - 0.5.
    peaks = np.stack([x, y], -1).astype(np.float32) + 0.5
    peaks += np.where(inside, np.sign(np.stack([dx, dy], -1)) * np.float32(0.25), np.float32(0))
    side = SCALE_FACTOR * scales[:, None, None]
    return np.trunc(peaks * (side / w) + centers[:, None, :] - side / 2).astype(np.float32)


def _on_available_device(device: str) -> str:
    """CUDA when asked for and present; otherwise the CPU."""
    return "cpu" if _is_gpu(device) and not torch.cuda.is_available() else device


def _is_gpu(device: str) -> bool:
    return device.startswith("cuda")


def _checkpoint(url: str) -> str:
    """The weight file's path in the torch hub cache, through face-alignment's loader: it
    returns at once when the file is there and downloads it otherwise (first use)."""
    try:
        return load_file_from_url(url)
    except OSError as error:  # URLError, HTTP errors, timeouts, an unwritable cache folder
        raise BackendUnavailableError(_unavailable_message(error)) from error


def _unavailable_message(error: OSError) -> str:
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    missing = [url for url in (S3FD_URL, FAN_URL) if not (folder / checkpoint_name(url)).is_file()]
    files = " and ".join(f"{checkpoint_name(url)} (from {url})" for url in missing)
    reason = " ".join(str(error).split())
    return (f"face-alignment weights could not be downloaded ({reason}): run with {FALLBACK} "
            f"instead, or put {files} in {folder} ($TORCH_HOME/hub/checkpoints)")


def _unreadable(path: str, error: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(f"cannot load {path} ({' '.join(str(error).split())}): delete "
                                   f"it to download it again, or run with {FALLBACK}")


@detector("s3fd")
def _s3fd(device: str, min_size_percent: float = 0.0) -> S3fdDetector:
    """`min_size_percent` changes nothing here: S3FD's smallest anchors (16 px) already find
    faces smaller than anyone keeps, with no upsampling to choose."""
    device = _on_available_device(device)
    path = _checkpoint(S3FD_URL)
    try:
        net = SFDDetector("cpu", path_to_detector=path).face_detector
    except Exception as error:  # a bad file fails in many ways (IndexError, UnpicklingError, ...)
        raise _unreadable(path, error) from error
    return S3fdDetector(net.to(device), device)


@aligner("fan")
def _fan(device: str) -> FanAligner:
    device = _on_available_device(device)
    path = _checkpoint(FAN_URL)
    net = FAN(FAN_MODULES)
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as error:  # as above
        raise _unreadable(path, error) from error
    return FanAligner(net.to(device).eval(), device)
