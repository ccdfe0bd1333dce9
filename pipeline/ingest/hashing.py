"""Streamed content hashing: never reads a file whole."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

CHUNK_BYTES = 1 << 20


def hash_files(paths: Iterable[Path], on_chunk: Callable[[int], None] | None = None) -> str:
    """sha256 over the files' bytes in order (names included for folders), as hex.

    `on_chunk(bytes_read)` runs after each chunk, so a caller can report progress and check
    for cancellation while a large file is read.
    """
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\x00")
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
    return digest.hexdigest()
