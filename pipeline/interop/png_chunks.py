"""Text chunks of PNG files: faceswap keeps a face's alignment data in an iTXt chunk with
the keyword `faceswap` (a Python literal of a dict, read here with `ast.literal_eval`, which
evaluates literals only); old DeepFaceLab wrote a pickle in a `fcWp` chunk. swapdeck adds its
own iTXt chunk, `swapdeck` (JSON), after faceswap's, which faceswap's readers skip."""
from __future__ import annotations

import ast
import struct
import zlib
from typing import Any

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FACESWAP = "faceswap"
SWAPDECK = "swapdeck"
DFL_CHUNK = b"fcWp"
MAX_TEXT_BYTES = 16 * 1024 * 1024


class PngMetaError(ValueError):
    """A PNG whose chunks or metadata cannot be read."""


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk up to IEND; PngMetaError for a damaged file."""
    if not data.startswith(SIGNATURE):
        raise PngMetaError("not a PNG file")
    found, at = [], len(SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        end = at + 8 + length + 4
        if end > len(data):
            raise PngMetaError(f"chunk {kind!r} runs past the end of the file")
        found.append((kind, data[at + 8:at + 8 + length]))
        if kind == b"IEND":
            break
        at = end
    return found


def itxt_texts(data: bytes) -> dict[str, bytes]:
    """Keyword -> text (UTF-8 bytes, inflated if compressed) of the PNG's iTXt chunks."""
    texts: dict[str, bytes] = {}
    for kind, payload in chunks(data):
        if kind != b"iTXt" or b"\0" not in payload:
            continue
        keyword, rest = payload.split(b"\0", 1)
        if len(rest) < 2:
            continue
        compressed, text = rest[0], rest[2:].split(b"\0", 2)[-1]
        if compressed:
            text = _inflate(text)
        texts.setdefault(keyword.decode("latin-1"), text)
    return texts


def _inflate(text: bytes) -> bytes:
    """A compressed text, refused past MAX_TEXT_BYTES (a small bomb stops there)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(text, MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise PngMetaError(f"a compressed text chunk is damaged: {exc}") from None
    if inflater.unconsumed_tail:
        raise PngMetaError(f"a text chunk inflates past {MAX_TEXT_BYTES:,} bytes")
    return out


def literal(text: bytes) -> Any:
    """A Python literal (faceswap's header), evaluated as literals only."""
    if len(text) > MAX_TEXT_BYTES:
        raise PngMetaError(f"a header of {len(text):,} bytes")
    try:
        return ast.literal_eval(text.decode("utf-8"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            UnicodeDecodeError) as exc:
        raise PngMetaError(f"the faceswap header is not a plain literal ({type(exc).__name__})"
                           ) from None


def itxt_chunk(keyword: str, text: bytes) -> bytes:
    """An uncompressed iTXt chunk (length, type, data, CRC), as faceswap writes its own."""
    body = b"iTXt" + keyword.encode("latin-1") + b"\0\0\0\0\0" + text
    return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))


def with_texts(png: bytes, texts: list[tuple[str, bytes]]) -> bytes:
    """`png` with these iTXt chunks, in order, before its first IDAT (and without any
    earlier chunk of the same keywords)."""
    keywords = {keyword.encode("latin-1") for keyword, _ in texts}
    out, at, placed = [png[:len(SIGNATURE)]], len(SIGNATURE), False
    for kind, payload in chunks(png):
        end = at + 12 + len(payload)
        if kind == b"IDAT" and not placed:
            out.extend(itxt_chunk(keyword, text) for keyword, text in texts)
            placed = True
        if not (kind == b"iTXt" and payload.split(b"\0", 1)[0] in keywords):
            out.append(png[at:end])
        at = end
    if not placed:
        raise PngMetaError("a PNG without image data")
    return b"".join(out)
