"""A session's model files as they are on disk: there, whole, or damaged.

The quick check reads a safetensors file's header and compares the length the header
promises with the file's size, which finds a missing or cut-short file without reading
the gigabyte behind it. `verify` reads it all and compares its sha256 with the one the
store recorded when it was written. A checkpoint's path comes from its row, so it is
resolved through `store.files.contained`: one that leads out of the project is REFUSED, never read.
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from store.files.contained import UnsafePathError, contained
from store.sessions import Checkpoint

CHUNK = 8 << 20
MAX_HEADER = 100 << 20   # safetensors' own limit on its JSON header


class FileState(StrEnum):
    OK = "ok"                # header and length agree (quick) or the hash matches (verified)
    MISSING = "missing"
    DAMAGED = "damaged"      # cut short, not a safetensors file, or a different hash
    REFUSED = "refused"      # its row names a path outside the project: never opened


def session_folder(models: Path, session_id: int) -> Path:
    return models / str(session_id)


def checkpoint_path(models: Path, checkpoint: Checkpoint) -> Path:
    """The real path of the checkpoint's file, inside the project (`models`' parent);
    raises UnsafePathError, naming the row and its path, for one that would leave it."""
    return contained(models.parent, checkpoint.path, where=f"checkpoints row {checkpoint.id}",
                     base=f"{models.name}/{checkpoint.session_id}")


def checkpoint_state(models: Path, checkpoint: Checkpoint) -> FileState:
    """The quick check of the checkpoint's file (REFUSED, unopened, when its path leads out)."""
    try:
        path = checkpoint_path(models, checkpoint)
    except UnsafePathError:
        return FileState.REFUSED
    return quick_state(path)


def quick_state(path: Path) -> FileState:
    """Whether the file is there and as long as its safetensors header says."""
    try:
        with open(path, "rb") as handle:
            size = path.stat().st_size
            head = handle.read(8)
            if len(head) < 8:
                return FileState.DAMAGED
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER, size - 8):
                return FileState.DAMAGED
            header = json.loads(handle.read(length))
    except FileNotFoundError:
        return FileState.MISSING
    except (OSError, ValueError):
        return FileState.DAMAGED
    if not isinstance(header, dict):
        return FileState.DAMAGED
    ends = [entry.get("data_offsets", [0, 0])[1] for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict)]
    return FileState.OK if size == 8 + length + max(ends, default=0) else FileState.DAMAGED


def file_sha256(path: Path, on_chunk: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return digest.hexdigest()


def verify(models: Path, checkpoint: Checkpoint,
           on_chunk: Callable[[int], None] | None = None) -> FileState:
    """Read the whole file and compare its hash with the recorded one."""
    state = checkpoint_state(models, checkpoint)
    if state is not FileState.OK:
        return state
    path = checkpoint_path(models, checkpoint)
    try:
        same = file_sha256(path, on_chunk) == checkpoint.sha256
    except FileNotFoundError:
        return FileState.MISSING
    except OSError:
        return FileState.DAMAGED
    return FileState.OK if same else FileState.DAMAGED


def describe(state: FileState, checkpoint: Checkpoint) -> str:
    """One line a person can act on."""
    if state is FileState.MISSING:
        return f"the file of the {checkpoint.label} is missing ({checkpoint.path})"
    if state is FileState.DAMAGED:
        return f"the file of the {checkpoint.label} is damaged ({checkpoint.path})"
    if state is FileState.REFUSED:
        return (f"the file of the {checkpoint.label} is refused: checkpoints row "
                f"{checkpoint.id} names {checkpoint.path!r}, which leads out of the project "
                "folder")
    return f"the {checkpoint.label} is whole"
