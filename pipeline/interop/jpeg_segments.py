"""Segments of JPEG files: DeepFaceLab keeps a face's data in an APP15 segment (a pickle, read
here only through `safe_pickle`); swapdeck adds a comment segment (COM) starting
`swapdeck:` with JSON, which JPEG readers and DeepFaceLab pass over."""
from __future__ import annotations

import struct

APP0, APP15, COM, SOS, SOI = 0xE0, 0xEF, 0xFE, 0xDA, 0xD8
COMMENT_TAG = b"swapdeck:"
MAX_SEGMENT = 0xFFFF - 2
# Markers with no length: start and end of image, restarts, and TEM.
_STANDALONE = frozenset({0xD8, 0xD9, 0x01, *range(0xD0, 0xD8)})


class JpegMetaError(ValueError):
    """A JPEG whose segments cannot be read or written."""


def segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The (marker, payload) segments before the image data, and the rest of the file from
    the start-of-scan marker on; JpegMetaError for a damaged file."""
    if not data.startswith(b"\xff\xd8"):
        raise JpegMetaError("not a JPEG file")
    found, at = [], 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise JpegMetaError(f"no segment marker at byte {at}")
        marker = data[at + 1]
        if marker == 0xFF:      # fill byte
            at += 1
            continue
        if marker == SOS:
            return found, data[at:]
        if marker in _STANDALONE:
            found.append((marker, b""))
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        if length < 2 or at + 2 + length > len(data):
            raise JpegMetaError(f"segment {marker:#04x} at byte {at} runs past the end")
        found.append((marker, data[at + 4:at + 2 + length]))
        at += 2 + length
    raise JpegMetaError("no image data (start of scan) in the file")


def payloads(data: bytes, marker: int) -> list[bytes]:
    return [payload for found, payload in segments(data)[0] if found == marker]


def segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > MAX_SEGMENT:
        raise JpegMetaError(f"{len(payload):,} bytes do not fit in one JPEG segment "
                            f"(at most {MAX_SEGMENT:,})")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def with_segments(jpeg: bytes, added: list[tuple[int, bytes]]) -> bytes:
    """`jpeg` with these segments placed after its last APPn segment (where DeepFaceLab puts
    its own), dropping earlier APP15 and swapdeck comment segments."""
    found, rest = segments(jpeg)
    kept = [(m, p) for m, p in found
            if m != APP15 and not (m == COM and p.startswith(COMMENT_TAG))]
    last_app = max((i for i, (m, _) in enumerate(kept) if APP0 <= m <= APP15), default=-1)
    ordered = kept[:last_app + 1] + added + kept[last_app + 1:]
    body = b"".join(struct.pack(">BB", 0xFF, m) if m in _STANDALONE else segment(m, p)
                    for m, p in ordered if m != SOI)
    return b"\xff\xd8" + body + rest
