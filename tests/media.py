"""Media the tests make themselves: synthetic videos and images with known facts."""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def write_video(path: Path, frames: int, *, size: int = 64, rate: int = 25,
                pts_steps: Sequence[int] | None = None, rotation: int | None = None,
                picture: np.ndarray | None = None) -> Path:
    """An H.264 video of `frames` flat grey frames, or of `picture` (square RGB) repeated;
    `pts_steps` gives irregular timing (VFR), `rotation` a display rotation."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        if picture is not None:
            size = picture.shape[0]
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "bf": "0"}
        time_base = Fraction(1, rate * 10)
        if pts_steps is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        pixels = np.zeros((size, size, 3), np.uint8)
        pts = 0
        for index in range(frames):
            pixels[:] = index % 250
            frame = av.VideoFrame.from_ndarray(picture if picture is not None else pixels,
                                               format="rgb24")
            if pts_steps is not None:
                frame.pts = pts
                frame.time_base = time_base
                pts += pts_steps[index % len(pts_steps)]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image(path: Path, seed: int, size: int = 8, noise: bool = False) -> Path:
    """An image whose content (and so hash) differs by `seed`; `noise` makes it
    incompressible, so reading and hashing it is real work."""
    if noise:
        pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)
    else:
        pixels = np.full((size, size, 3), seed % 256, np.uint8)
        pixels[0, 0] = (seed // 256) % 256, seed % 7, 3
    Image.fromarray(pixels).save(path)
    return path
