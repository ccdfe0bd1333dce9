"""Whether a file looks like a video or an image, from its first bytes, before anything is
queued: a text file or an archive added by mistake is refused at once with its path, not
minutes later by the worker. The worker still decodes each file for real; this only catches
what is plainly not media."""
from __future__ import annotations

import os
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jfif", ".gif"})
HEAD_BYTES = 400          # enough for two MPEG transport stream packets (192-byte M2TS ones)
# (offset, bytes) signatures of the image and video containers PyAV and Pillow read
SIGNATURES = (
    (0, b"\x89PNG\r\n\x1a\n"), (0, b"\xff\xd8\xff"), (0, b"GIF87a"), (0, b"GIF89a"),
    (0, b"BM"), (0, b"II*\x00"), (0, b"MM\x00*"),
    (0, b"\x1a\x45\xdf\xa3"),                    # Matroska, WebM
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"wide"), (4, b"free"), (4, b"skip"),
    (0, b"\x00\x00\x01\xba"), (0, b"\x00\x00\x01\xb3"),   # MPEG program / elementary stream
    (0, b"FLV"), (0, b"OggS"), (0, b"YUV4MPEG2"), (0, b"DKIF"), (0, b".RMF"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),   # ASF, WMV
)
RIFF_KINDS = (b"AVI ", b"WEBP")


def media_problem(path: Path) -> str | None:
    """Why `path` cannot be media to add (one line naming it), or None when it may be."""
    if not path.exists():
        return f"no such file or folder: {path}"
    if path.is_dir():
        return None if _has_images(path) else f"no images in the folder {path}"
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    if not head:
        return f"{path} is empty"
    if not _looks_like_media(head):
        return f"not a video or image: {path} (its content is no video or image format)"
    return None


def _looks_like_media(head: bytes) -> bool:
    if any(head[offset:offset + len(magic)] == magic for offset, magic in SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] in RIFF_KINDS:
        return True
    return _transport_stream(head, 188, 0) or _transport_stream(head, 192, 4)


def _transport_stream(head: bytes, packet: int, offset: int) -> bool:
    """MPEG-TS (.ts) or M2TS (.mts): a sync byte 0x47 at the start of each packet."""
    return len(head) > packet + offset and head[offset] == head[packet + offset] == 0x47


def _has_images(folder: Path) -> bool:
    try:
        return any(not entry.name.startswith(".")
                   and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES
                   for entry in os.scandir(folder))
    except OSError:
        return False
