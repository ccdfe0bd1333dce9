"""The `import` job: faceswap face PNGs and alignments files, DeepFaceLab aligned faces,
brought in as faces of the project (see `linking` for where each lands, `placing` for how).

One job per path: a face image, a folder of them, an alignments file (`.fsa`, `.json`, a
pickle), or a frames folder holding one. Files with no face data are passed over and counted; a
file whose data is damaged or refused is reported, and the others go on.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.job import usable_source
from pipeline.ingest.media import scan_folder
from pipeline.interop import dfl, faceswap
from pipeline.interop.foreign import ForeignFace, ForeignFormatError
from pipeline.interop.linking import ALIGNMENTS_SUFFIXES, SourceMatcher, added_source, \
    alignments_source, named_source
from pipeline.interop.placing import Placement, Placer, placement
from pipeline.registry import job_kind
from store.faces import PendingFrame
from store.sources import Source

MAX_FILE_BYTES = 1024 * 1024 * 1024


@job_kind("import")
def import_files(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Import `path`'s faces (into `source` when given) and give them `person`."""
    placer, problems = Placer(ctx), Counter[str]()
    named = named_source(ctx, str(params["source"])) if params.get("source") else None
    path = Path(params["path"])
    tables = _alignments_in(path)
    for table in tables:
        _import_alignments(ctx, placer, table, named, problems)
    if not tables:
        _import_faceset(ctx, placer, path, named, problems)
    placer.name_people(params.get("person"))
    message = _summary(placer, problems)
    ctx.progress(1, 1, message, force=True)
    return {"message": message, "faces": len(placer.added), "present": len(placer.present),
            "rejected": placer.rejected}


def _alignments_in(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix.lower() in ALIGNMENTS_SUFFIXES else []
    if not path.is_dir():
        raise JobError(f"no such file or folder: {path}")
    return sorted(p for p in path.iterdir() if p.suffix.lower() == ".fsa" and p.is_file())


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise JobError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise JobError(f"cannot read {path}: {exc.strerror or exc}") from None


def _import_alignments(ctx: JobContext, placer: Placer, path: Path, named: Source | None,
                       problems: Counter[str]) -> None:
    """An alignments file's faces, into the frames of the source it describes."""
    try:
        _, frames = faceswap.read_alignments(path, _read(path))
    except ForeignFormatError as exc:
        raise JobError(f"{path}: {exc}") from None
    source = named or alignments_source(ctx, path, list(frames))
    lookup = SourceMatcher(ctx).frames_of(source)
    placements, listed = [], []
    for name, found in frames.items():
        frame = lookup.find(name)
        if frame is None:
            problems[f"frames of {path.name} not in {source.name}"] += 1
            continue
        listed.append(frame.id)
        placements.extend(placement(face, frame, still=False) for face in found)
    placer.place(source, placements, mark_frames=listed)


def _faces_of(ctx: JobContext, path: Path, problems: Counter[str]) -> list[ForeignFace]:
    """The faces of a face image or of a folder's images; the others counted."""
    files = [path] if path.is_file() else scan_folder(path).images
    found = []
    for number, file in enumerate(files, 1):
        ctx.checkpoint()
        ctx.progress(number, len(files), f"reading {file.name} ({number}/{len(files)})")
        try:
            data = _read(file)
            face = _read_face(file, data)
        except (ValueError, JobError, cv2.error, np.linalg.LinAlgError) as exc:
            ctx.log.warning("%s: %s", file, exc)
            problems["files refused or damaged (see the log)"] += 1
            continue
        if face is None:
            problems["files without face data"] += 1
        else:
            found.append(face)
    return found


def _read_face(file: Path, data: bytes) -> ForeignFace | None:
    """A faceswap face PNG's face, else a DeepFaceLab aligned image's, else None."""
    if data.startswith(b"\x89PNG"):
        return faceswap.read_png_face(file, data) or dfl.read_face(file, data)
    return dfl.read_face(file, data) if data.startswith(b"\xff\xd8") else None


def _import_faceset(ctx: JobContext, placer: Placer, path: Path, named: Source | None,
                    problems: Counter[str]) -> None:
    """Face images' faces: into their frames where found, else as stills."""
    matcher = SourceMatcher(ctx)
    linked: dict[int, tuple[Source, list[Placement]]] = {}
    stills: list[ForeignFace] = []
    for face in _faces_of(ctx, path, problems):
        target = _target(matcher, named, face)
        if target is None and named is not None:
            problems[f"faces whose frame is not in {named.name}"] += 1
        elif target is None:
            stills.append(face)
        else:
            source, frame = target
            linked.setdefault(source.id, (source, []))[1].append(
                placement(face, frame, still=False))
    for source, placements in linked.values():
        placer.place(usable_source(ctx, source.id), placements)
    if stills:
        _place_stills(ctx, placer, path, stills, problems)


def _target(matcher: SourceMatcher, named: Source | None,
            face: ForeignFace) -> tuple[Source, PendingFrame] | None:
    """The source and frame `face` belongs in; None: a still (or nowhere, when named)."""
    if face.landmarks is None:
        return None
    if named is None:
        return matcher.match(face)
    frame = matcher.frames_of(named).find(face.frame_name)
    return None if frame is None else (named, frame)


def _place_stills(ctx: JobContext, placer: Placer, path: Path, stills: list[ForeignFace],
                  problems: Counter[str]) -> None:
    """Faces whose frames are not here: the face images themselves become the source."""
    source = added_source(ctx, path)
    frames = SourceMatcher(ctx).frames_of(source)
    placements = []
    for face in stills:
        frame = frames.find(face.image.name) if face.image is not None else None
        if frame is None or face.image_landmarks is None:
            problems["face images that could not be read as stills"] += 1
            continue
        placements.append(placement(face, frame, still=True))
    placer.place(source, placements, mark_frames=[p.frame.id for p in placements])


def _summary(placer: Placer, problems: Counter[str]) -> str:
    """One line: what was imported, what was there already, what was passed over."""
    parts = [f"imported {len(placer.added)} face{'s' * (len(placer.added) != 1)}"]
    if placer.rejected:
        parts.append(f"{placer.rejected} of them rejected (their points look wrong)")
    if placer.present:
        parts.append(f"{len(placer.present)} already in the project")
    if placer.unreadable:
        parts.append(f"{placer.unreadable} in frames that could not be read")
    parts += [f"{count} {what}" for what, count in problems.items()]
    return "; ".join(parts)
