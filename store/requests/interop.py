"""Requests for the jobs that bring faces in from faceswap and DeepFaceLab files and write
them out again, checked before they are queued (the jobs check again when they run)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from store import sources
from store.errors import RequestError

EXPORT_FORMATS = ("png", "faceswap", "dfl")
ALIGNMENTS_SUFFIX = ".fsa"


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def import_params(conn: sqlite3.Connection, paths: list[str], person: str | None,
                  source: str | None) -> list[dict[str, Any]]:
    """One import job per path: a face image, a folder of them, an alignments file or a
    frames folder holding one; `person` names every face imported, `source` (an id or a
    path, added if new) is where their frames are."""
    if person is not None and not person.strip():
        raise RequestError("--as needs a person's name")
    named = None
    if source is not None:
        if source.isdigit():
            try:
                named = str(sources.get(conn, int(source)).id)
            except sources.SourceNotFoundError as exc:
                raise RequestError(str(exc)) from None
        elif not _absolute(source).exists():
            raise RequestError(f"no such file or folder: {_absolute(source)} (--source)")
        else:
            named = str(_absolute(source))
    params = []
    for raw in paths:
        path = _absolute(raw)
        if not path.exists():
            raise RequestError(f"no such file or folder: {path}")
        params.append({"path": str(path), "person": person.strip() if person else None,
                       "source": named})
    return params


def export_alignments_params(conn: sqlite3.Connection, reference: str,
                             out: str) -> dict[str, Any]:
    """A job writing source `reference`'s faces as a faceswap alignments file `out`."""
    try:
        source = sources.resolve(conn, reference)
    except sources.SourceNotFoundError as exc:
        raise RequestError(str(exc)) from None
    path = _absolute(out)
    if path.suffix.lower() != ALIGNMENTS_SUFFIX:
        raise RequestError(f"{path.name}: an alignments file's name ends in "
                           f"{ALIGNMENTS_SUFFIX} (faceswap names it <video>_alignments.fsa)")
    if path.is_dir():
        raise RequestError(f"{path} is a folder: name the file to write")
    return {"source_id": source.id, "file": str(path)}
