"""The `convert` and `convert_preview` jobs.

`convert` makes sure every frame of the source has been searched for faces (extracting the
frames an every-n extraction skipped, keeping what exists), then swaps the chosen person's
face in each frame and writes the output under a temporary name, renamed only when whole.
A provenance record is made first (its id goes into the output's metadata) and dropped if
the job fails; a job run again after a crash takes over its record and starts the file over.

The output is the one the job's request names (a job queued elsewhere is held until the user
releases it), never one a row names: a conversions row only lets a job run again over the
output its own request names. An output inside the project must still be inside it when the
job runs (the file, or a folder on its way, replaced by a symlink that leads out is refused).
"""
from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipeline.atomic_files import atomic_path, remove_stale_temps
from pipeline.context import JobContext
from pipeline.convert import marking
from pipeline.convert.alignments import Target, targets
from pipeline.convert.compose import Composer
from pipeline.convert.flow import Counts, SourceFrame, convert, swap_one
from pipeline.convert.masks import FALLBACK_MASK, smoothing_window
from pipeline.convert.settings import (ConvertSettings, ConvertSettingsError, frame_ranges,
                                       in_ranges)
from pipeline.convert.swapper import Swapper, load_swapper
from pipeline.convert.track_masks import chosen_masks, track_masks
from pipeline.convert.writers import (Timing, WriterError, WriterSettings, open_writer,
                                      source_timing)
from pipeline.errors import JobError
from pipeline.extract.frames import read_frame, read_frames
from pipeline.extract.job import (extract_pending, filtering_extractor, usable_source,
                                  without_doubles)
from pipeline.registry import job_kind
from store import conversions, convert_previews, faces, pixel_limit, sessions
from store.views.convert_faces import all_frames, frame_faces, unprocessed_frames
from store.files.contained import requested
from store.requests.convert import (ConvertRequestError, check_masks, check_person_faces,
                                    convert_person, side_from)
from store.requests.extract import ExtractSettings
from store.faces import DESCRIPTOR_MODEL, PendingFrame
from store.identities import identity_centres
from store.sources import Source
from store.training_faces import Person


@job_kind("convert")
def convert_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    final = _requested_output(ctx, params["output"], "output")
    settings = _settings(params)
    session, source = _session(ctx, params), usable_source(ctx, int(params["source_id"]))
    _check_person_faces(ctx, _person(ctx, session, settings), source)
    _check_masks(ctx, source, params)
    if final.exists() and not params.get("overwrite") and (
            conversions.unfinished_output(ctx.conn, ctx.job_id) != str(final)):
        raise JobError(f"{final} exists: choose another name, or convert with --overwrite")
    _check_size(source)
    _fill_in_frames(ctx, source)
    swapper = load_swapper(ctx.conn, ctx.project.models, session,
                           _decoder_side(settings), ctx.log)
    chosen = _targets(ctx, source, session, settings)
    composer = _composer(ctx, swapper, settings, chosen)
    ranges = frame_ranges(settings.frames.frames) if settings.frames.frames else None
    record = _start_record(ctx, session, source, swapper, settings, final)
    try:
        counts = _write(ctx, source, composer, chosen, ranges, final, record)
    except BaseException:
        conversions.drop(ctx.conn, record.conversion_id)
        raise
    conversions.finish(ctx.conn, record.conversion_id, counts.frames, counts.swapped)
    message = (f"wrote {final}: {counts.frames} frames, {counts.faces} faces of "
               f"{params.get('person', 'the person')} swapped in {counts.swapped}"
               f"{_missing_masks(composer)}")
    ctx.progress(counts.frames, counts.frames, message, force=True)
    return {"message": message, "output": str(final), "conversion_id": record.conversion_id,
            "frames": counts.frames, "swapped": counts.swapped, "faces": counts.faces}


@job_kind("convert_preview")
def preview_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    out = _requested_output(ctx, params["out"], "out") if "out" in params else None
    settings = _settings(params)
    session, source = _session(ctx, params), usable_source(ctx, int(params["source_id"]))
    _check_masks(ctx, source, params)
    index = int(params["frame"])
    frame = next(iter(all_frames(ctx.conn, source.id, index, index)), None)
    if frame is None:
        raise JobError(f"frame {index} is not in {source.name}")
    if not _processed(ctx, frame):
        _extract_one(ctx, source, frame)
    swapper = load_swapper(ctx.conn, ctx.project.models, session,
                           _decoder_side(settings), ctx.log)
    # only the frames its landmarks and masks are smoothed over
    half = max(settings.frames.smoothing, *(
        smoothing_window(kind, settings.mask.mask_smoothing)
        for kind in chosen_masks(settings.mask, swapper.learns_mask))) // 2
    near = _targets(ctx, source, session, settings, index - half, index + half)
    found = near.get(index, [])
    before = read_frame(source, frame, pixel_limit.get(ctx.conn))
    after = swap_one(_composer(ctx, swapper, settings, near), before, found)
    mark = marking.Mark(_tag(ctx), session.id)
    before_png, after_png = _png(before), _png(marking.embed(after, mark))
    convert_previews.save(ctx.conn, ctx.job_id, index, len(found), before_png, after_png)
    message = (f"frame {index}: {len(found)} face{'s' * (len(found) != 1)} swapped"
               if found else f"frame {index}: no face of {params.get('person')} to swap")
    if out is not None:
        _write_side_by_side(ctx, out, before, after, session, source, swapper, settings,
                            len(found))
        message += f"; wrote {out}"
    return {"message": message, "frame": index, "swapped": len(found)}


def _requested_output(ctx: JobContext, text: str, name: str) -> Path:
    """The output the request names; one in the project folder is checked to be inside it
    still (UnsafePathError fails the job, naming the job and the path)."""
    final = Path(text)
    return requested(ctx.project.root, final, where=f"jobs row {ctx.job_id} ({name} {final})")


def _settings(params: dict[str, Any]) -> ConvertSettings:
    try:
        return ConvertSettings.from_flat(dict(params.get("settings", {})))
    except (ConvertSettingsError, TypeError) as exc:
        raise JobError(str(exc)) from exc


def _session(ctx: JobContext, params: dict[str, Any]) -> sessions.Session:
    try:
        return sessions.get(ctx.conn, int(params["session_id"]))
    except sessions.SessionError as exc:
        raise JobError(str(exc)) from exc


def _decoder_side(settings: ConvertSettings) -> str:
    """The decoder that makes the other person's face: b for a-to-b."""
    return "b" if side_from(settings.swap.direction) == "A" else "a"


def _check_size(source: Source) -> None:
    if not marking.can_mark(source.width or 0, source.height or 0):
        raise JobError(f"{source.name} is {source.width}x{source.height}: the invisible "
                       f"watermark every output carries needs frames of at least "
                       f"{marking.MIN_PIXELS:,} pixels")


def _extraction(ctx: JobContext, source: Source) -> faces.Extraction:
    extraction = faces.get_extraction(ctx.conn, source.id)
    if extraction is None:
        raise JobError(f"source {source.id} ({source.name}) was never extracted: extract it "
                       f"first (swapdeck extract PROJECT {source.id})")
    return extraction


def _fill_in_frames(ctx: JobContext, source: Source) -> None:
    """Extract the frames no extraction looked at (every-n above 1), with the same settings."""
    settings = ExtractSettings.from_json(_extraction(ctx, source).settings)
    missing = unprocessed_frames(ctx.conn, source.id)
    if missing == 0:
        return
    ctx.log.info("source %d: extracting the %d frames the extraction skipped", source.id,
                 missing)
    extract_pending(ctx, source, replace(settings, every_n=1))


def _processed(ctx: JobContext, frame: PendingFrame) -> bool:
    return bool(ctx.conn.execute("SELECT processed FROM frames WHERE id = ?",
                                 (frame.id,)).fetchone()[0])


def _extract_one(ctx: JobContext, source: Source, frame: PendingFrame) -> None:
    """Find the faces of one frame the extraction skipped (for a preview)."""
    limit = pixel_limit.get(ctx.conn)
    extractor = filtering_extractor(
        ExtractSettings.from_json(_extraction(ctx, source).settings), limit)
    image = read_frame(source, frame, limit)
    found = without_doubles(extractor.extract([frame.id], [image]),
                            faces.manual_boxes(ctx.conn, [frame.id]))
    faces.save_frames(ctx.conn, source.id, [frame.id], found)


def _targets(ctx: JobContext, source: Source, session: sessions.Session,
             settings: ConvertSettings, first: int = 0,
             last: int | None = None) -> dict[int, list[Target]]:
    """The faces to swap in frames `first` to `last` (default: all)."""
    person = _person(ctx, session, settings)
    return targets(frame_faces(ctx.conn, source.id, max(0, first), last), person.id,
                   identity_centres(ctx.conn, DESCRIPTOR_MODEL), settings.frames.smoothing)


def _composer(ctx: JobContext, swapper: Swapper, settings: ConvertSettings,
              chosen: dict[int, list[Target]]) -> Composer:
    """The settings applied to each face, with the masks read per face of `chosen`."""
    faces = [target.face for found in chosen.values() for target in found]
    return Composer(swapper, settings,
                    track_masks(ctx.conn, settings.mask, swapper.learns_mask, faces))


def _missing_masks(composer: Composer) -> str:
    """What the result says of faces without the stored mask chosen (none: nothing)."""
    return "".join(f"; {count} face{'s' * (count != 1)} had no {kind} mask: {FALLBACK_MASK} "
                   "stood in" for kind, count in composer.missing().items())


def _check_masks(ctx: JobContext, source: Source, params: dict[str, Any]) -> None:
    """Refuse a stored mask the source's faces lack, as the request check does."""
    try:
        check_masks(ctx.conn, source, dict(params.get("settings", {})))
    except ConvertRequestError as exc:
        raise JobError(str(exc)) from exc


def _person(ctx: JobContext, session: sessions.Session, settings: ConvertSettings) -> Person:
    """The person swapped, as the request chose them."""
    try:
        return convert_person(ctx.conn, session, settings.swap.person, settings.swap.direction)
    except ConvertRequestError as exc:
        raise JobError(str(exc)) from exc


def _check_person_faces(ctx: JobContext, person: Person, source: Source) -> None:
    """Refuse a source without a face of the person, as the request check does (a job
    queued around it would write the source unchanged)."""
    try:
        check_person_faces(ctx.conn, person, source)
    except ConvertRequestError as exc:
        raise JobError(str(exc)) from exc


def _provenance(ctx: JobContext, session: sessions.Session, source: Source, swapper: Swapper,
                conversion_id: int) -> marking.Provenance:
    return marking.Provenance(
        project=ctx.project.root.name, project_tag=_tag(ctx), session=session.name,
        session_id=session.id, conversion_id=conversion_id,
        model_sha256=swapper.checkpoint.sha256, source_sha256=source.hash or "",
        created_at=conversions.get(ctx.conn, conversion_id).started_at)


def _tag(ctx: JobContext) -> int:
    return marking.project_tag(conversions.project_uuid(ctx.conn))


def _start_record(ctx: JobContext, session: sessions.Session, source: Source,
                  swapper: Swapper, settings: ConvertSettings,
                  final: Path) -> marking.Provenance:
    mark = marking.Mark(_tag(ctx), session.id)
    record_id = conversions.start(
        ctx.conn, job_id=ctx.job_id, session_id=session.id, session_name=session.name,
        source_id=source.id, source_path=source.path, source_sha256=source.hash or "",
        checkpoint_iteration=swapper.checkpoint.iteration,
        model_sha256=swapper.checkpoint.sha256, settings_used=settings.flat(),
        output=str(final), mark=mark.text)
    return _provenance(ctx, session, source, swapper, record_id)


def _write(ctx: JobContext, source: Source, composer: Composer,
           chosen: dict[int, list[Target]], ranges: list[tuple[int, int]] | None, final: Path,
           provenance: marking.Provenance) -> Counts:
    settings = composer.settings
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final.parent)
    output = settings.output
    mark = provenance.mark
    timing = _timing(source)
    frames = all_frames(ctx.conn, source.id)
    total = len(frames)

    def on_frame(counts: Counts) -> None:
        ctx.checkpoint()
        ctx.progress(counts.frames, total, f"frame {counts.frames}/{total}, "
                                           f"{counts.faces} faces swapped")

    writer_settings = WriterSettings(
        output.format, output.codec, output.crf, output.preset,
        output.audio and _audio_kept(settings, ranges, chosen, total),
        container_options=marking.mp4_options(),
        source_times=settings.frames.keep_unchanged)
    try:
        width, height = _upright_size(source)
        with open_writer(final, writer_settings, width=width, height=height,
                         timing=timing, source=Path(source.path),
                         metadata=marking.video_metadata(provenance),
                         png_text=marking.png_text(provenance)) as writer:
            counts = convert(
                _decoded(source, frames, pixel_limit.get(ctx.conn)),
                lambda index: _chosen(chosen, ranges, index),
                composer, settings.swap.batch_size,
                settings.frames.keep_unchanged,
                lambda image, pts: writer.write(marking.embed(image, mark), pts), on_frame)
            if counts.frames == 0:
                raise JobError("no frame to write: no face of the person in the chosen "
                               "frames, and keep_unchanged is off")
            writer.finish(_audio_range(settings, ranges, frames, timing))
    except WriterError as exc:
        raise JobError(str(exc)) from exc
    return counts


def _timing(source: Source) -> Timing:
    try:
        timing = source_timing(Path(source.path))
    except WriterError as exc:
        raise JobError(str(exc)) from exc
    # frames are decoded upright, so the output needs no display rotation
    return replace(timing, rotation=0)


def _upright_size(source: Source) -> tuple[int, int]:
    """The frames' size once decoded upright (a quarter turn swaps the stored size)."""
    width, height = source.width or 0, source.height or 0
    return (height, width) if source.rotation % 180 == 90 else (width, height)


def _chosen(chosen: dict[int, list[Target]], ranges: list[tuple[int, int]] | None,
            index: int) -> list[Target]:
    return chosen.get(index, []) if in_ranges(index, ranges) else []


def _audio_kept(settings: ConvertSettings, ranges: list[tuple[int, int]] | None,
                chosen: dict[int, list[Target]], total: int) -> bool:
    """The audio fits the output when no frame is left out, or when one whole range is."""
    if settings.frames.keep_unchanged:
        return True
    if ranges is None or len(ranges) != 1:
        return False
    first, last = ranges[0]
    return all(chosen.get(index) for index in range(first, min(last, total - 1) + 1))


def _audio_range(settings: ConvertSettings, ranges: list[tuple[int, int]] | None,
                 frames: list[PendingFrame], timing: Timing) -> tuple[float, float] | None:
    if settings.frames.keep_unchanged or ranges is None:
        return None
    first, last = ranges[0]
    times = [float(f.pts * timing.time_base) for f in frames
             if f.pts is not None and first <= f.idx <= last + 1]
    return (times[0], times[-1]) if times else None


def _decoded(source: Source, frames: list[PendingFrame], max_pixels: int):
    for loaded in read_frames(source, frames, threading.Event(), max_pixels):
        if loaded.image is not None:
            yield SourceFrame(loaded.frame.idx, loaded.frame.pts, loaded.image)


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _write_side_by_side(ctx: JobContext, out: Path, before: np.ndarray, after: np.ndarray,
                        session: sessions.Session, source: Source, swapper: Swapper,
                        settings: ConvertSettings, swapped: int) -> None:
    """before | after in one PNG, marked and recorded like every output, written whole or
    not at all."""
    provenance = _start_record(ctx, session, source, swapper, settings, out)
    mark = provenance.mark
    try:
        with atomic_path(out) as temp:
            marking.save_png(temp, marking.embed(np.concatenate([before, after], axis=1), mark),
                             marking.png_text(provenance))
    except BaseException:
        conversions.drop(ctx.conn, provenance.conversion_id)
        raise
    conversions.finish(ctx.conn, provenance.conversion_id, 1, int(swapped > 0))
