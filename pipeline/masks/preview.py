"""The training preview: the occlusion mask on a few faces it never learned, one row per
face: the face, the face with what the mask leaves out dimmed and tinted red, the mask."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from pipeline.masks.xseg import XSeg, predict

TILE = 128              # side of each picture in the grid, at most
LEFT_OUT = (0.55, 0.1, 0.1)


def preview_png(network: XSeg, crops: np.ndarray, device: torch.device, bf16: bool) -> bytes:
    """crops: N x S x S x 3 uint8 RGB (N >= 1)."""
    images = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float() / 255
    size = min(TILE, network.config.resolution)
    images = torch.nn.functional.interpolate(images, size=(size, size), mode="area")
    was_training = network.training
    network.eval()
    masks = predict(network, images, bf16)
    network.train(was_training)
    tint = torch.tensor(LEFT_OUT, device=device).view(1, 3, 1, 1)
    shown = images * masks + (images * 0.35 + tint * 0.65) * (1 - masks)
    rows = torch.cat([images, shown, masks.expand_as(images)], dim=3)   # N x 3 x s x 3s
    return png_bytes(torch.cat(list(rows), dim=1))


def png_bytes(pixels: torch.Tensor) -> bytes:
    """3 x H x W in [0, 1] as PNG bytes."""
    array = (pixels.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()
