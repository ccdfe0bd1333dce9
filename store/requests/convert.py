"""The parameters of convert and preview jobs, checked as far as can be without the pipeline.

The CLI and the Convert screen build their jobs here: the session, the source, the person
(who must have a face in the source), the settings' names, types and choices, the masks (a
stored mask kind must be stored for some face of the source) and the output's name are
checked now; the convert job checks ranges, the model file and the frames when it
starts (and refuses a source without the person's face again, should such a job arrive).
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store import faces, sessions, sources
from store.requests.catalogue import load
from store.requests.extract import MASKS as LANDMARK_MASKS
from store.requests.options import OptionValueError
from store.training_faces import Person, PersonError
from store.views.convert_faces import stored_mask_kinds
from store.views.convert_plan import chosen_person, conversion_rate, person_face_counts
from store.errors import RequestError

EXTENSIONS = {"video": ".mp4", "gif": ".gif", "png": ""}
# The masks a conversion makes itself for any face (from its landmarks, the model's own,
# none); any other kind is read from the masks table.
MADE_MASKS = (*LANDMARK_MASKS, "learned", "none")
MASK_SETTINGS = ("mask", "mask_and")


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


def convert_person(conn: sqlite3.Connection, session: sessions.Session, person: str | None,
                   direction: str) -> Person:
    """The person whose face is replaced: the one named, else the session's person of the
    side `direction` replaces."""
    try:
        return chosen_person(conn, session, side_from(direction), person)
    except PersonError as exc:
        raise ConvertRequestError(str(exc)) from None


def no_face(person: Person, source: sources.Source) -> str:
    """The refusal of a source without a face of the person (the CLI, the screen and the
    worker say the same)."""
    return (f"{source.name} (source {source.id}) has no face of {person.name}: convert a "
            f"source where {person.name} appears, or name {person.name}'s faces in this one "
            "on the Faces screen")


def check_person_faces(conn: sqlite3.Connection, person: Person,
                       source: sources.Source) -> int:
    """How many faces of the person the source has; raises ConvertRequestError for none."""
    found = person_face_counts(conn, person.id, source.id).get(source.id, 0)
    if found == 0:
        raise ConvertRequestError(no_face(person, source))
    return found


def check_masks(conn: sqlite3.Connection, source: sources.Source,
                settings: Mapping[str, object]) -> None:
    """Refuse a mask kind (mask, mask_and) that no face of the source has stored, naming
    the kinds it can use; the masks convert makes itself are always there."""
    stored: dict[str, int] | None = None
    for name in MASK_SETTINGS:
        kind = settings.get(name)
        if kind is None or kind in MADE_MASKS or (kind, name) == ("auto", "mask"):
            continue
        stored = stored_mask_kinds(conn, source.id) if stored is None else stored
        if kind in stored:
            continue
        others = [f"{k} ({n:,} face{'s' * (n != 1)})" for k, n in stored.items()
                  if k not in MADE_MASKS]
        usable = ", ".join([*MADE_MASKS, *others])
        how = (f"swapdeck masks apply PROJECT --model {str(kind)[5:]}"
               if str(kind).startswith("xseg-") else f"swapdeck masks add PROJECT {kind}")
        raise ConvertRequestError(
            f"no face of {source.name} (source {source.id}) has a {kind} mask: choose one it "
            f"has ({usable}), or store {kind} masks for it first ({how})", field=name)


def _usable(conn: sqlite3.Connection, session: sessions.Session,
            source: sources.Source, person: str | None, direction: str) -> Person:
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
    return convert_person(conn, session, person, direction)


def convert_params(conn: sqlite3.Connection, outputs: Path,
                   session: sessions.Session, source: sources.Source,
                   settings: Mapping[str, object], output: Path | None = None,
                   overwrite: bool = False) -> dict[str, Any]:
    """A job that converts `source` with `session`'s model into `output` (default: a new
    name under the project's outputs folder)."""
    return _checked_conversion(conn, outputs, session, source, settings, output, overwrite)[0]


def _checked_conversion(conn: sqlite3.Connection, outputs: Path, session: sessions.Session,
                        source: sources.Source, settings: Mapping[str, object],
                        output: Path | None, overwrite: bool) -> tuple[dict[str, Any], int]:
    """The convert job's parameters and how many faces of the person the source has."""
    checked = check_settings(settings)
    direction = str(checked.get("direction") or load().convert.option("direction").default)
    person = _usable(conn, session, source, checked.get("person"), direction)
    found = check_person_faces(conn, person, source)
    check_masks(conn, source, checked)
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
            "output": str(output), "overwrite": overwrite, "person": person.name}, found


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class FrameRangesError(ValueError):
    """A `frames` setting that cannot be read; the message says why."""


def frame_ranges(text: str) -> list[tuple[int, int]]:
    """'0-99,150,200-210' as inclusive (first, last) pairs, in order."""
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise FrameRangesError(f"frames takes ranges like 0-99,150-200, not {text!r}")
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first:
            raise FrameRangesError(f"the frame range {part.strip()} ends before it starts")
        ranges.append((first, last))
    return sorted(ranges)


def frames_chosen(ranges: str | None, frame_count: int) -> int | None:
    """How many of the source's frames the `frames` setting (ranges like 0-99,150) picks:
    all when blank; None when it cannot be read (the convert job refuses it, saying why)."""
    if not ranges:
        return frame_count
    try:
        spans = frame_ranges(ranges)
    except FrameRangesError:
        return None
    picked, reached = 0, -1     # frames counted, the last frame counted
    for first, last in spans:
        first, last = max(first, reached + 1), min(last, frame_count - 1)
        if last >= first:
            picked, reached = picked + last - first + 1, last
    return picked


@dataclass(frozen=True)
class ConvertPlan:
    """A checked conversion and what it will do, for a person to confirm before it is
    queued."""
    params: dict[str, Any]      # the convert job's
    source: sources.Source
    frames: int | None          # the frames of the chosen ranges (None: ranges unreadable)
    faces: int                  # the person's faces found in the source
    rate: float | None          # frames per second of earlier conversions; None: none yet
    replaces: bool              # the output exists and is replaced

    @property
    def seconds(self) -> float | None:
        """The estimated time: every frame is read and written while the unchanged are
        kept, only the chosen ones otherwise."""
        keep = self.params["settings"].get("keep_unchanged",
                                           load().convert.option("keep_unchanged").default)
        written = self.source.frame_count if keep or self.frames is None else self.frames
        return written / self.rate if self.rate else None


def plan_conversion(conn: sqlite3.Connection, outputs: Path, session: sessions.Session,
                    source: sources.Source, settings: Mapping[str, object],
                    output: Path | None = None, overwrite: bool = False) -> ConvertPlan:
    """convert_params, with what a confirmation says about it."""
    params, found = _checked_conversion(conn, outputs, session, source, settings, output,
                                        overwrite)
    return ConvertPlan(params, source,
                       frames_chosen(params["settings"].get("frames"), source.frame_count),
                       found, conversion_rate(conn), Path(params["output"]).exists())


def preview_params(conn: sqlite3.Connection, session: sessions.Session,
                   source: sources.Source, settings: Mapping[str, object], frame: int,
                   out: Path | None = None) -> dict[str, Any]:
    """A job that swaps one frame and keeps it before and after (and writes them side by side
    to `out`, when given)."""
    checked = check_settings(settings)
    direction = str(checked.get("direction") or load().convert.option("direction").default)
    person = _usable(conn, session, source, checked.get("person"), direction)
    check_masks(conn, source, checked)
    if not 0 <= frame < source.frame_count:
        raise ConvertRequestError(f"frame {frame} is not in {source.name}: it has frames 0 to "
                                  f"{source.frame_count - 1}")
    params: dict[str, Any] = {"session_id": session.id, "source_id": source.id,
                              "settings": checked, "frame": frame, "person": person.name}
    if out is not None:
        params["out"] = str(out.expanduser().resolve())
    return params

