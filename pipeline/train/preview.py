"""The preview grid saved at every save, faceswap's layout: for each preview face a row of
A, A to A, A to B, then B, B to B, B to A. It is a rendered output, so it is marked as
synthetic in its PNG text."""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from pipeline.train.models.registry import SwapModel

SYNTHETIC_NOTE = "synthetic image: face-swap training preview made with swapdeck"


@torch.no_grad()
def preview_columns(model: SwapModel, faces_a: torch.Tensor,
                    faces_b: torch.Tensor) -> list[torch.Tensor]:
    """The six columns, each N x 3 x out x out in [0, 1]."""
    size = model.config.output_size
    columns = []
    for faces, own, other in ((faces_a, "a", "b"), (faces_b, "b", "a")):
        inputs = F.interpolate(faces, size=model.config.input_size, mode="area")
        code = model.encode(inputs)
        columns += [F.interpolate(faces, size=size, mode="area"),
                    model.decode(code, own).face.float(), model.decode(code, other).face.float()]
    return columns


def preview_png(columns: list[torch.Tensor], session: str, iteration: int) -> bytes:
    rows = min(len(c) for c in columns)
    grid = torch.cat([torch.cat([c[:rows] for c in columns], dim=3)[i] for i in range(rows)], dim=1)
    pixels = (grid.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    info = PngInfo()
    info.add_text("Software", "swapdeck")
    info.add_text("Comment", f"{SYNTHETIC_NOTE}; session {session}, iteration {iteration}")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", pnginfo=info)
    return out.getvalue()
