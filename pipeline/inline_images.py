"""Decoding the pictures the store holds inline, after checking their declared size."""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from store.files.inline_images import check_inline_size, oversized


def decode_inline(data: bytes, flags: int, where: str) -> np.ndarray | None:
    """The picture as cv2 decodes it with `flags`, or None when it is not a picture; one
    whose header declares more pixels than swapdeck ever stores raises OversizedImageError."""
    try:
        with Image.open(io.BytesIO(data)) as header:
            check_inline_size(*header.size, where)
    except Image.DecompressionBombError as error:  # Pillow's own, far higher, limit
        raise oversized(where, "more pixels than Pillow allows") from error
    except (UnidentifiedImageError, OSError):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
