"""The largest source image (or video frame) the worker will decode: a project setting.

A PNG of one colour compresses a 30000x30000 picture into a few hundred kilobytes and decodes
to 2.7 GB; the worker reads each image's declared size first and refuses one above this limit
before decoding it. The default keeps the worker well under 1.5 GB for anything it accepts.
"""
from __future__ import annotations

import sqlite3

from store import settings

KEY = "max_image_pixels"
DEFAULT_MAX_PIXELS = 50_000_000
# Pillow refuses anything above twice its MAX_IMAGE_PIXELS itself; a higher limit would be moot.
CEILING_PIXELS = 178_956_970
SET_WITH = "raise it with swapdeck add or extract --max-mpx"


class PixelLimitError(ValueError):
    """A limit outside what swapdeck can honour."""


def get(conn: sqlite3.Connection) -> int:
    """This project's limit in pixels (the default when none was set)."""
    value = settings.get(conn, KEY)
    return int(value) if isinstance(value, int) and 0 < value <= CEILING_PIXELS else \
        DEFAULT_MAX_PIXELS


def put_mpx(conn: sqlite3.Connection, mpx: float) -> int:
    """Set the limit from megapixels; PixelLimitError names the allowed range."""
    pixels = round(mpx * 1_000_000)
    if not 1 <= pixels <= CEILING_PIXELS:
        raise PixelLimitError(f"--max-mpx must be above 0 and at most "
                              f"{CEILING_PIXELS / 1e6:.0f} (Pillow's own limit), not {mpx:g}")
    settings.put(conn, KEY, pixels)
    return pixels


def mpx(pixels: int) -> str:
    """Pixels as a short megapixel figure: `900 Mpx`, `0.3 Mpx`."""
    return f"{pixels / 1e6:.3g} Mpx"


def too_large(width: int, height: int, limit: int) -> str | None:
    """Why an image of this size is refused, or None when it is within `limit`."""
    if width * height <= limit:
        return None
    return (f"image is {width}x{height} = {mpx(width * height)}, above this project's limit "
            f"of {mpx(limit)} ({SET_WITH})")
