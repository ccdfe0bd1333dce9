"""Pictures held inline in a received project are size-checked before they are decoded."""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.curate.histogram import thumbnail_histograms
from pipeline.inline_images import decode_inline
from store.files.inline_images import OversizedImageError


def png_header_claiming(width: int, height: int) -> bytes:
    """The start of a PNG that declares `width` x `height` grey pixels: a few dozen bytes
    that would decode to gigabytes were anything to trust the header and allocate."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 120, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_bomb_header_is_refused_before_decoding() -> None:
    with pytest.raises(OversizedImageError, match="faces row 7: .*9000x9000.*40 Mpx at most"):
        decode_inline(png_header_claiming(9000, 9000), cv2.IMREAD_COLOR, "faces row 7")
    with pytest.raises(OversizedImageError, match="more pixels than Pillow allows"):
        decode_inline(png_header_claiming(30000, 30000), cv2.IMREAD_COLOR, "faces row 7")


def test_ordinary_and_unreadable_pictures() -> None:
    assert decode_inline(small_png(), cv2.IMREAD_COLOR, "x").shape == (8, 8, 3)
    assert decode_inline(b"not a picture", cv2.IMREAD_COLOR, "x") is None


def test_a_bomb_thumbnail_counts_as_unreadable_in_the_histogram_sort() -> None:
    bins, unreadable = thumbnail_histograms([small_png(), png_header_claiming(30000, 30000)])
    assert unreadable == 1 and bins[0].sum() > 0 and bins[1].sum() == 0


def test_the_review_grid_shows_a_note_for_a_bomb_thumbnail() -> None:
    from tui.thumbs import make_thumb

    thumb = make_thumb(png_header_claiming(30000, 30000), "unicode", 12, 6)
    assert thumb.image is None
    assert "no image" in "".join(strip.text for strip in thumb.strips)
