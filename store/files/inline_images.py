"""The largest picture the store holds inline, checked before one is decoded.

Crops, thumbnails, masks and previews live as PNG or JPEG blobs in project.db. A received
project could hold a few-kilobyte blob that decodes to gigabytes; every reader checks the
size its header declares first (Pillow reads only the header on open).
"""
from __future__ import annotations

# The biggest inline picture swapdeck writes is a convert preview: one frame of the source
# (an 8K frame is 33 Mpx). Nothing it stores comes near this.
MAX_INLINE_PIXELS = 40_000_000


class OversizedImageError(ValueError):
    """An inline picture larger than any swapdeck writes."""


def check_inline_size(width: int, height: int, where: str) -> None:
    if width * height > MAX_INLINE_PIXELS:
        raise oversized(where, f"{width}x{height}")


def oversized(where: str, size: str) -> OversizedImageError:
    """The error for a stored picture of `size` (its dimensions, or what is known of them)."""
    return OversizedImageError(
        f"{where}: a stored picture of {size} is larger than any swapdeck writes "
        f"({MAX_INLINE_PIXELS // 1_000_000} Mpx at most); it was not decoded")
