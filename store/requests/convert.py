"""The parameters of convert and preview jobs, checked as far as can be without the pipeline.

The CLI and the Convert screen build their jobs here: the session, the source, the person,
the settings' names, types and choices and the output's name are checked now; the convert job
checks ranges, the model file and the frames when it starts.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from store import faces, sessions, sources
from store.requests.catalogue import load
from store.requests.options import OptionValueError
from store.training_faces import PersonError, choose_person
from store.errors import RequestError

EXTENSIONS = {"video": ".mp4", "gif": ".gif", "png": ""}


class ConvertRequestError(RequestError):
    """A conversion that cannot be queued; the message is one line."""


def side_from(direction: str) -> str:
    """The side whose person is replaced ("A" for a-to-b)."""
    return "A" if direction == "a-to-b" else "B"


def check_settings(values: Mapping[str, object]) -> dict[str, object]:
    """The settings with their names, choices and bounds checked."""
    try:
        return load().convert.check(values)
    except OptionValueError as exc:
        raise ConvertRequestError(str(exc), field=exc.field) from None


def default_output(outputs: Path, source: sources.Source, session: sessions.Session,
                   output_format: str) -> Path:
    """outputs/<source>_<session>[_N].<ext>, numbered so nothing is overwritten."""
    stem = re.sub(r"[^\w.-]+", "_", f"{Path(source.path).stem}_{session.name}")
    extension = EXTENSIONS[output_format]
    path, number = outputs / f"{stem}{extension}", 1
    while path.exists():
        number += 1
        path = outputs / f"{stem}_{number}{extension}"
    return path


def _usable(conn: sqlite3.Connection, session: sessions.Session,
            source: sources.Source, person: str | None, direction: str) -> str:
    """The person swapped; raises ConvertRequestError for what can be refused now."""
    if source.kind != "video":
        raise ConvertRequestError(f"source {source.id} ({source.name}) is not a video: "
                                  "conversion takes a video source")
    if source.status != "ready":
        raise ConvertRequestError(f"source {source.id} is still being added: convert it once "
                                  "its ingest job is done")
    if faces.get_extraction(conn, source.id) is None:
        raise ConvertRequestError(f"source {source.id} ({source.name}) was never extracted: "
                                  f"extract it first (swapdeck extract PROJECT {source.id})")
    if not sessions.checkpoints(conn, session.id):
        raise ConvertRequestError(f"session {session.name} has no checkpoint yet: train it until "
                                  "it saves, then convert")
    side = side_from(direction)
    try:
        return choose_person(conn, side, name=person, identity_id=None if person else (
            session.identity_a if side == "A" else session.identity_b)).name
    except PersonError as exc:
        raise ConvertRequestError(str(exc)) from None


def convert_params(conn: sqlite3.Connection, outputs: Path,
                   session: sessions.Session, source: sources.Source,
                   settings: Mapping[str, object], output: Path | None = None,
                   overwrite: bool = False) -> dict[str, Any]:
    """A job that converts `source` with `session`'s model into `output` (default: a new
    name under the project's outputs folder)."""
    checked = check_settings(settings)
    direction = str(checked.get("direction") or load().convert.option("direction").default)
    person = _usable(conn, session, source, checked.get("person"), direction)
    output_format = str(checked.get("format") or load().convert.option("format").default)
    if output is None:
        output = default_output(outputs, source, session, output_format)
    else:
        output = output.expanduser().resolve()
        if output.exists() and not overwrite:
            raise ConvertRequestError(f"{output} exists: choose another name, or add --overwrite")
        if not output.parent.is_dir():
            raise ConvertRequestError(f"no folder {output.parent} to write {output.name} into")
    return {"session_id": session.id, "source_id": source.id, "settings": checked,
            "output": str(output), "overwrite": overwrite, "person": person}


def preview_params(conn: sqlite3.Connection, session: sessions.Session,
                   source: sources.Source, settings: Mapping[str, object], frame: int,
                   out: Path | None = None) -> dict[str, Any]:
    """A job that swaps one frame and keeps it before and after (and writes them side by side
    to `out`, when given)."""
    checked = check_settings(settings)
    direction = str(checked.get("direction") or load().convert.option("direction").default)
    person = _usable(conn, session, source, checked.get("person"), direction)
    if not 0 <= frame < source.frame_count:
        raise ConvertRequestError(f"frame {frame} is not in {source.name}: it has frames 0 to "
                                  f"{source.frame_count - 1}")
    params: dict[str, Any] = {"session_id": session.id, "source_id": source.id,
                              "settings": checked, "frame": frame, "person": person}
    if out is not None:
        params["out"] = str(out.expanduser().resolve())
    return params

