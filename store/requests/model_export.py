"""The request of an `export-model` job, checked before it is queued: the session and its
checkpoint, the format, the direction and the output's name (the job checks again when it
runs, and reads and verifies the checkpoint's file)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from store import sessions
from store.errors import RequestError

SUFFIXES = {"onnx": ".onnx", "dfm": ".dfm"}
DIRECTIONS = ("a2b", "b2a")


def export_model_params(conn: sqlite3.Connection, session: str, fmt: str, direction: str,
                        iteration: int | None, out: str) -> dict[str, Any]:
    """A job writing session `session`'s (id or name) model as `fmt` ("onnx" or "dfm"),
    swapping `direction`, at the checkpoint of `iteration` (None: the newest), to `out`."""
    if fmt not in SUFFIXES:
        raise RequestError(f"unknown format {fmt!r} (formats: {', '.join(SUFFIXES)})", "format")
    if direction not in DIRECTIONS:
        raise RequestError(f"unknown direction {direction!r} (directions: "
                           f"{', '.join(DIRECTIONS)})", "direction")
    try:
        found = sessions.resolve(conn, session)
    except sessions.SessionError as exc:
        raise RequestError(str(exc), "session") from None
    _check_checkpoint(conn, found, iteration)
    path = Path(os.path.abspath(Path(out).expanduser()))
    if path.suffix.lower() != SUFFIXES[fmt]:
        raise RequestError(f"{path.name}: a {fmt} file's name ends in {SUFFIXES[fmt]}", "out")
    if path.is_dir():
        raise RequestError(f"{path} is a folder: name the file to write", "out")
    return {"session_id": found.id, "format": fmt, "direction": direction,
            "checkpoint": iteration, "out": str(path)}


def _check_checkpoint(conn: sqlite3.Connection, session: sessions.Session,
                      iteration: int | None) -> None:
    """The session has a checkpoint (at `iteration`, when one is named)."""
    held = sorted({row.iteration for row in sessions.checkpoints(conn, session.id)})
    if not held:
        raise RequestError(f"session {session.name} has no checkpoint yet: train it until it "
                           "saves (every save_every iterations), then export", "session")
    if iteration is not None and iteration not in held:
        raise RequestError(f"session {session.name} has no checkpoint at iteration "
                           f"{iteration} (it has: {', '.join(map(str, held))})", "checkpoint")
