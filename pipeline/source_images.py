"""Opening images from outside the project: the declared size is checked before decoding.

Pillow's `Image.open` reads only the header, so a decompression bomb is refused at the cost
of a few bytes read; decoding then makes as few full-size copies as it can.
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.errors import JobError
from store.pixel_limit import too_large


class ImageTooLargeError(JobError):
    """An image above the pixel limit; it was not decoded."""


def check_size(width: int, height: int, limit: int, path: Path | str) -> None:
    if reason := too_large(width, height, limit):
        raise ImageTooLargeError(f"{reason}: {path}")


def open_checked(path: Path | str, limit: int) -> Image.Image:
    """The image, opened lazily (header read, pixels not decoded) and within `limit`.

    Raises ImageTooLargeError, or what Pillow raises for a file it cannot read."""
    try:
        with warnings.catch_warnings():  # our own limit replaces Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        width, height = _declared_size(path)
        reason = too_large(width, height, limit) or \
            f"image is {width}x{height}, above Pillow's own limit"
        raise ImageTooLargeError(f"{reason}: {path}") from exc
    try:
        check_size(image.width, image.height, limit, path)
    except ImageTooLargeError:
        image.close()
        raise
    return image


# Pillow's own check is a module global: it is lifted only to read a header, one at a time.
_HEADER_ONLY = threading.Lock()


def _declared_size(path: Path | str) -> tuple[int, int]:
    """The size an image's header declares, even one Pillow refuses to open (above
    CEILING_PIXELS), so the refusal can say how large it is. Nothing is decoded."""
    with _HEADER_ONLY:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(path) as image:
                return image.size
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def decode_rgb(path: Path | str, limit: int) -> np.ndarray:
    """The image upright (EXIF orientation applied) as an RGB array, refused above `limit`."""
    with open_checked(path, limit) as image:
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode != "RGB":
            with image.convert("RGB") as rgb:
                return np.asarray(rgb)
        return np.asarray(image)
