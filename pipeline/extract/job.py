"""The `extract` job: every wanted frame of a source becomes faces in the store.

Frames are processed in batches; each batch and its faces are committed in one transaction
that also marks the frames processed, so a killed job resumes at the first unprocessed frame
and never duplicates a face. A finished source is left alone unless `force` is given; a
forced re-extraction keeps the faces placed by hand (unless `drop_manual`) and drops its own
detections that double one.
A source deleted or rewritten meanwhile stops the job with that reason; the batches committed
before stay, and the job resumes from there once the file is back as it was added.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.context import JobContext
from pipeline.curate.track_job import link_so_far, track_source
from pipeline.curate.tracks import box_overlap, frame_signature
from pipeline.errors import JobError
from pipeline.extract.backends import BackendUnavailableError
from pipeline.extract.frames import read_frames
from pipeline.ingest.job import still_the_same
from pipeline.registry import job_kind
from pipeline.source_images import decode_rgb
from store import faces, pixel_limit, sources, tracks
from store.requests.extract import ExtractSettings

if TYPE_CHECKING:
    from pipeline.extract.extractor import FaceExtractor

BATCH_FRAMES = 8
# A batch also ends at this many pixels: two batches are in flight at once, and eight 50 Mpx
# photos would hold 1.2 GB each.
BATCH_PIXELS = 32_000_000
# Provisional tracks are linked again after at least this many more frames.
LINK_EVERY = 200
# A face found over a face placed by hand (box IoU above this) is the same face: dropped.
DOUBLE_IOU = 0.5


@job_kind("extract")
def extract(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    settings = ExtractSettings.from_json(params.get("settings", {}))
    if problems := settings.problems():
        raise JobError("; ".join(problems))
    source = usable_source(ctx, int(params["source_id"]))
    existing = faces.get_extraction(ctx.conn, source.id)
    manual = 0
    if existing is not None and params.get("force"):
        # the faces placed by hand stay unless the request says to drop them
        manual = faces.reset_extraction(ctx.conn, source.id,
                                        keep_manual=not params.get("drop_manual"))
        existing = None
    if existing is not None and existing.finished:
        if existing.tracked_at is None:  # the job was stopped while it tracked
            track_source(ctx, source)
            existing = faces.get_extraction(ctx.conn, source.id) or existing
        return {"message": f"already extracted: {existing.faces} faces in "
                           f"{existing.frames_done} frames (use --force to extract again)",
                "source_id": source.id, "already_extracted": True}
    if existing is not None and ExtractSettings.from_json(existing.settings) != settings:
        raise JobError(f"source {source.id} has an unfinished extraction with other settings: "
                       "run it again with the same settings, or use --force to start over")
    extract_pending(ctx, source, settings)
    tracked = track_source(ctx, source)
    done = faces.get_extraction(ctx.conn, source.id)
    assert done is not None
    summary = (_summary(done) + (f"; {tracked['message']}" if tracked["tracks"] else "")
               + (f"; kept {manual} face{'s' * (manual != 1)} placed by hand" if manual else ""))
    ctx.progress(done.frames_done, done.frames_total, summary, force=True)
    return {"message": summary, "source_id": source.id, "faces": done.faces,
            "rejected": done.rejected, "frames": done.frames_done, "tracks": tracked["tracks"],
            "filled": tracked["filled"], "flagged": tracked["flagged"], "manual_kept": manual}


def extract_pending(ctx: JobContext, source: sources.Source,
                    settings: ExtractSettings) -> faces.Extraction:
    """Extract the source's frames `settings.every_n` wants that are not yet processed."""
    extractor = filtering_extractor(settings, pixel_limit.get(ctx.conn))
    wanted = faces.pending_frames(ctx.conn, source.id, settings.every_n)
    total = (source.frame_count + settings.every_n - 1) // settings.every_n
    faces.start_extraction(ctx.conn, source.id, settings.to_json(), total, ctx.job_id)
    started = faces.get_extraction(ctx.conn, source.id)
    assert started is not None
    _run_batches(ctx, source, extractor, wanted, _Progress(ctx, started), settings.every_n)
    return faces.finish_extraction(ctx.conn, source.id)


def usable_source(ctx: JobContext, source_id: int) -> sources.Source:
    try:
        source = sources.get(ctx.conn, source_id)
    except sources.SourceNotFoundError as exc:
        raise JobError(str(exc)) from exc
    if source.status != "ready":
        raise JobError(f"source {source.id} is still being added; extract it once its ingest "
                       "job is done")
    if not Path(source.path).exists():
        raise JobError(f"source {source.id} is missing: {source.path} was deleted or moved "
                       "since it was added")
    if not still_the_same(ctx, source):
        raise JobError(f"file changed since it was added: {source.path} (source {source.id})")
    return source


def check_still_there(source: sources.Source) -> None:
    """JobError when the source was deleted or rewritten since it was added (a cheap stat)."""
    if not source.changed_on_disk():
        return
    if not os.path.lexists(source.path):
        raise JobError(f"source {source.id} was deleted while being extracted: {source.path}; "
                       "the faces found so far are kept, and extraction resumes from there "
                       "once the file is back")
    raise JobError(f"source {source.id} changed since it was added (while being extracted): "
                   f"{source.path}; the faces found so far are kept; add it again as a new "
                   "source, or put the original back to resume")


def filtering_extractor(settings: ExtractSettings, max_pixels: int) -> FaceExtractor:
    """The extractor for `settings`, its identity filter made from the --filter and --nfilter
    photos, each refused above `max_pixels` before it is decoded (the identity-filter job
    judges faces already extracted with it too)."""
    # Loaded here, not at import: the worker starts fast, and torch only when needed.
    from pipeline.extract.extractor import FaceExtractor

    try:
        extractor = FaceExtractor(settings)
        extractor.set_identity_references(
            [_reference(extractor, p, max_pixels) for p in settings.filter],
            [_reference(extractor, p, max_pixels) for p in settings.nfilter])
    except BackendUnavailableError as exc:
        raise JobError(str(exc)) from exc
    return extractor


def _reference(extractor: FaceExtractor, path: str, max_pixels: int) -> np.ndarray:
    try:
        image = decode_rgb(path, max_pixels)
    except JobError as exc:
        raise JobError(f"reference photo refused: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise JobError(f"cannot read the reference photo {path}: {exc}") from exc
    return extractor.reference_descriptor(image, Path(path).name)


@dataclass
class _Batch:
    frame_ids: list[int] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    unreadable_ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame_ids) + len(self.unreadable_ids)

    @property
    def full(self) -> bool:
        pixels = sum(image.shape[0] * image.shape[1] for image in self.images)
        return len(self) >= BATCH_FRAMES or pixels >= BATCH_PIXELS


def _batches(ctx: JobContext, source: sources.Source,
             wanted: list[faces.PendingFrame]) -> Iterator[_Batch]:
    """Batches of decoded frames, each handed on only while the source is still the file
    that was added (a frame unreadable because the file went away is not marked done)."""
    batch = _Batch()
    try:
        for loaded in read_frames(source, wanted, threading.Event(),
                                  pixel_limit.get(ctx.conn)):
            ctx.checkpoint()
            if loaded.image is None:
                check_still_there(source)
                ctx.log.warning("source %d: %s", source.id, loaded.error)
                batch.unreadable_ids.append(loaded.frame.id)
            else:
                batch.frame_ids.append(loaded.frame.id)
                batch.images.append(loaded.image)
            if batch.full:
                check_still_there(source)
                yield batch
                batch = _Batch()
    except JobError:
        check_still_there(source)  # a decode error from a file rewritten mid-read says so
        raise
    if len(batch):
        check_still_there(source)
        yield batch


def _run_batches(ctx: JobContext, source: sources.Source, extractor: FaceExtractor,
                 wanted: list[faces.PendingFrame], progress: _Progress, every_n: int) -> None:
    """Detect and align batch k+1 on a thread while batch k is described and stored; link a
    video's faces into tracks as they come (after LINK_EVERY frames, then after half as
    many again as are linked), so they show while it runs."""
    linked = unlinked = 0
    with ThreadPoolExecutor(1, thread_name_prefix="locate") as locator:
        pending: tuple[_Batch, Future] | None = None
        for batch in _batches(ctx, source, wanted):
            located = locator.submit(extractor.locate, batch.images)
            if pending is not None:
                progress.add(*_store(ctx, source, extractor, *pending))
                unlinked += len(pending[0])
            # linking reads every face stored so far: wait longer as they grow
            if unlinked >= max(LINK_EVERY, linked // 2) and source.kind == "video":
                link_so_far(ctx, source, every_n)
                linked, unlinked = linked + unlinked, 0
            pending = (batch, located)
        if pending is not None:
            progress.add(*_store(ctx, source, extractor, *pending))


def _store(ctx: JobContext, source: sources.Source, extractor: FaceExtractor, batch: _Batch,
           located: Future) -> tuple[int, int, int]:
    """Store a batch: (frames, faces kept, faces rejected), as the extraction counts them."""
    found = without_doubles(extractor.complete(batch.frame_ids, batch.images, located.result()),
                            faces.manual_boxes(ctx.conn, batch.frame_ids))
    faces.save_frames(ctx.conn, source.id, batch.frame_ids + batch.unreadable_ids, found)
    if source.kind == "video":   # what tracking finds shot cuts by, without decoding again
        tracks.save_signatures(ctx.conn, {frame_id: frame_signature(image) for frame_id, image
                                          in zip(batch.frame_ids, batch.images)})
    kept = sum(face.rejected is None for face in found)
    return len(batch), kept, len(found) - kept


def without_doubles(found: list[faces.NewFace],
                    manual: dict[int, list[faces.Box]]) -> list[faces.NewFace]:
    """The faces found, less those that double a face placed by hand in their frame (one
    kept through a forced re-extraction): box IoU above DOUBLE_IOU."""
    return [face for face in found
            if not any(box_overlap(np.asarray(face.box), np.asarray(box)) > DOUBLE_IOU
                       for box in manual.get(face.frame_id, ()))]


class _Progress:
    """Frames and faces so far (of the whole extraction, earlier runs' included, kept and
    rejected apart as its final summary counts them), the rate and the time left, as the
    job's progress line."""

    def __init__(self, ctx: JobContext, started: faces.Extraction) -> None:
        self.ctx, self.total = ctx, started.frames_total
        self.already, self.kept, self.rejected = (started.frames_done, started.faces,
                                                  started.rejected)
        self.started = time.monotonic()
        self.frames = 0

    def add(self, frames: int, kept: int, rejected: int) -> None:
        self.frames += frames
        self.kept += kept
        self.rejected += rejected
        elapsed = time.monotonic() - self.started
        rate = self.frames / elapsed if elapsed > 0 else 0.0
        done = self.already + self.frames
        left = self.total - done
        eta = f", ETA {_duration(left / rate)}" if rate > 0 and left > 0 else ""
        self.ctx.progress(done, self.total, f"frame {done}/{self.total}, "
                                            f"{_faces(self.kept, self.rejected)}, "
                                            f"{rate:.1f} frames/s{eta}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _faces(kept: int, rejected: int) -> str:
    """Faces counted as the running line and the final summary both count them."""
    return f"{kept} faces" + (f" ({rejected} more rejected)" if rejected else "")


def _summary(done: faces.Extraction) -> str:
    return f"{_faces(done.faces, done.rejected)} in {done.frames_done} frames"
