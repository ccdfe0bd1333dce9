"""Face-parsing masks: BiSeNet run on aligned face crops, batched, and its classes gathered into
the mask kinds `bisenet-face`, `bisenet-hair` and `bisenet-head`.

A mask is in the aligned crop's space at the landmark masks' size (MASK_SIZE), so every kind
lines up with the crop and with the others. The crop (its head room included) is resized to
the network's input size as a whole; BiSeNet was trained on CelebAMask-HQ images framed
about as loosely (face about half the width).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from pipeline.devices import available_cores, cpu_threads, native_bf16
from pipeline.extract import weights
from pipeline.extract.masks import MASK_SIZE
from pipeline.masks.bisenet import CLASSES, IMAGENET_MEAN, IMAGENET_STD, BiSeNet, load_bisenet
from pipeline.masks.download import WeightsError, checked_weights
from store.requests.extract import PARSING_MASKS

INPUT_SIZE = 512   # the size BiSeNet's release was trained at
BATCH = 8

_C = {name: index for index, name in enumerate(CLASSES)}
FACE = tuple(_C[name] for name in ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose",
                                   "u_lip", "l_lip"))
HAIR = (_C["hair"],)
HEAD_EXTRA = tuple(_C[name] for name in ("hair", "l_ear", "r_ear", "ear_r", "neck"))
GLASSES, MOUTH = _C["eye_g"], _C["mouth"]


def mask_classes(kind: str, glasses: bool, mouth: bool) -> tuple[int, ...]:
    """The classes a parsing mask kind takes in (glasses and the inside of the mouth as
    asked)."""
    chosen = FACE + (GLASSES,) * glasses + (MOUTH,) * mouth
    if kind == "bisenet-face":
        return chosen
    if kind == "bisenet-hair":
        return chosen + HAIR
    if kind == "bisenet-head":
        return chosen + HEAD_EXTRA
    raise ValueError(f"unknown face-parsing mask {kind!r} (known: {', '.join(PARSING_MASKS)})")


def region_mask(labels: np.ndarray, classes: Sequence[int], size: int = MASK_SIZE) -> np.ndarray:
    """A uint8 mask (0-255, edges anti-aliased when scaled down), `size` pixels square, of the
    pixels whose class is one of `classes`."""
    inside = np.isin(labels, classes).astype(np.float32)
    shrinking = labels.shape[0] > size
    scaled = cv2.resize(inside, (size, size),
                        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.round(scaled * 255).astype(np.uint8)


class FaceParser:
    """BiSeNet on a device, turning RGB face crops into class maps, in batches.

    Runs under bf16 autocast where the hardware has it natively (1.6x faster on this AMX CPU
    at 512 px; with random weights 98.7% of pixels keep their fp32 class: the published
    weights could not be compared here). On CPU it uses one thread fewer than the cores it
    may run on, as the descriptor does: a thread sharing its core with another busy process
    holds the others up.
    """

    def __init__(self, net: BiSeNet, device: str = "cpu", input_size: int = INPUT_SIZE,
                 batch_size: int = BATCH, threads: int | None = None,
                 bf16: bool | None = None) -> None:
        """`input_size`: the side crops are resized to (a multiple of 32; 512 for the
        published weights; tests pass less for speed)."""
        if input_size % 32:
            raise ValueError(f"BiSeNet's input size is a multiple of 32, not {input_size}")
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.input_size, self.batch_size = input_size, batch_size
        self.bf16 = native_bf16(self.device) if bf16 is None else bf16
        self.threads = threads or max(1, available_cores() - 1)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255

    @torch.inference_mode()
    def labels(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, S, S) uint8 class indices of N RGB uint8 crops (any square size), S the
        input size."""
        side = self.input_size
        out = np.empty((len(crops), side, side), np.uint8)
        on_cpu = self.device.type == "cpu"
        with cpu_threads(self.threads) if on_cpu else contextlib.nullcontext():
            for start in range(0, len(crops), self.batch_size):
                batch = np.stack([_resized(crop, side)
                                  for crop in crops[start:start + self.batch_size]])
                x = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float()
                with torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16):
                    scores = self.net((x - self.mean) / self.std)
                out[start:start + len(batch)] = scores.argmax(1).byte().cpu().numpy()
        return out

    def masks(self, crops: Sequence[np.ndarray], kinds: Sequence[str], glasses: bool,
              mouth: bool) -> list[dict[str, np.ndarray]]:
        """Each crop's masks of `kinds` (one network pass for all of them)."""
        chosen = {kind: mask_classes(kind, glasses, mouth) for kind in kinds}
        return [{kind: region_mask(labels, classes) for kind, classes in chosen.items()}
                for labels in self.labels(crops)]


def _resized(crop: np.ndarray, side: int) -> np.ndarray:
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
        raise ValueError(f"face crops are RGB uint8 (H, W, 3), not {crop.shape} {crop.dtype}")
    if crop.shape[:2] == (side, side):
        return crop
    shrinking = crop.shape[0] > side
    return cv2.resize(crop, (side, side),
                      interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def face_parser(device: str, *, download: bool = True) -> FaceParser:
    """The parser with the published weights (fetched on first use, checked by SHA-256);
    WeightsError saying how to get them when they cannot be had."""
    path = checked_weights(weights.BISENET, download=download)
    try:
        net = load_bisenet(path)
    except ValueError as exc:
        raise WeightsError(str(exc)) from exc
    return FaceParser(net, device)
