"""The astronaut's face as image tensors for the loss tests: a target and a blurred copy."""
from __future__ import annotations

import cv2
import torch
from skimage.data import astronaut

SIZE = 64


def face_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """The astronaut's face (1 x 3 x 64 x 64) and a blurred, noisier copy of it."""
    crop = cv2.resize(astronaut()[20:220, 160:360], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    target = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(0)) * 0.05
    blurred = torch.from_numpy(cv2.GaussianBlur(crop, (5, 5), 1.0)).permute(2, 0, 1)[None] / 255
    return (blurred + noise).clamp(0, 1), target
