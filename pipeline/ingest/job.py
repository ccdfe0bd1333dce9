"""The `ingest` job: turn a path into a source with one frames row per frame or image.

Nothing half-written survives a failure: the source row (and its frames) is created in
'ingesting' state and either completed in one transaction or removed.
"""
from __future__ import annotations

import os
import stat as stat_mode
from pathlib import Path
from typing import Any

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.ingest.hashing import hash_files
from pipeline.ingest.media import looks_like_still_image, scan_folder
from pipeline.ingest.probe import read_image, read_video
from pipeline.registry import job_kind
from pipeline.source_images import ImageTooLargeError
from store import pixel_limit, sources
from store.sources import FRAME_BATCH, FrameRow, MediaFacts


@job_kind("ingest")
def ingest(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    path = Path(params["path"])
    label = params.get("label") or ""
    stat = _stat(path)
    _check_unchanged_since_added(path, stat, params)
    existing = sources.find_by_path(ctx.conn, str(path))
    if existing is not None and existing.status == "ready":
        if not still_the_same(ctx, existing):
            raise JobError(f"file changed since it was added as source {existing.id}: {path}")
        return {"message": f"already added as source {existing.id}", "source_id": existing.id,
                "already_added": True}
    kind = _kind_of(path, stat)
    max_pixels = pixel_limit.get(ctx.conn)
    source_id = sources.begin_ingest(ctx.conn, str(path), label, kind, stat.st_size,
                                     stat.st_mtime_ns, ctx.job_id)
    try:
        if kind == "folder":
            facts, skipped = _ingest_folder(ctx, source_id, path, max_pixels)
        elif kind == "image":
            facts, skipped = _ingest_image(ctx, source_id, path, stat.st_size, max_pixels), ""
        else:
            facts, skipped = _ingest_video(ctx, source_id, path, stat.st_size, max_pixels), ""
        after = _stat(path)
        if kind != "folder" and (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            raise JobError(f"file changed while it was being read: {path}; add it again once "
                           "it is complete")
        sources.complete_ingest(ctx.conn, source_id, facts)
    except BaseException:
        sources.discard(ctx.conn, source_id)
        raise
    summary = _summary(kind, facts) + (f"; {skipped}" if skipped else "")
    ctx.progress(facts.frame_count, facts.frame_count, summary, force=True)
    return {"message": summary, "source_id": source_id, "frames": facts.frame_count}


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise JobError(f"no such file or folder: {path}") from None
    except OSError as exc:
        raise JobError(f"cannot read {path}: {exc.strerror}") from None


def _check_unchanged_since_added(path: Path, stat: os.stat_result, params: dict[str, Any]) -> None:
    """`swapdeck add` records size and mtime; a file that differs now is not what was added."""
    if path.is_dir() or "size" not in params:
        return
    if (stat.st_size, stat.st_mtime_ns) != (params["size"], params.get("mtime_ns")):
        raise JobError(
            f"file changed since it was added: {path} ({params['size']} bytes then, "
            f"{stat.st_size} now); add it again once it is complete"
        )


def _kind_of(path: Path, stat: os.stat_result) -> str:
    if path.is_dir():
        return "folder"
    if not stat_mode.S_ISREG(stat.st_mode):
        raise JobError(f"not a regular file: {path} (a pipe, socket or device)")
    if stat.st_size == 0:
        raise JobError(f"empty file: {path} (0 bytes)")
    return "image" if looks_like_still_image(path) else "video"


class _FrameWriter:
    """Buffers frame rows and writes them a batch per transaction."""

    def __init__(self, ctx: JobContext, source_id: int, total: int | None, verb: str) -> None:
        self.ctx, self.source_id, self.total, self.verb = ctx, source_id, total, verb
        self.buffer: list[FrameRow] = []
        self.count = 0

    def add(self, frame: FrameRow) -> None:
        self.buffer.append(frame)
        self.count += 1
        if len(self.buffer) >= FRAME_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            sources.add_frames(self.ctx.conn, self.source_id, self.buffer)
            self.buffer = []
        total = f"/{self.total}" if self.total else ""
        self.ctx.progress(self.count, self.total, f"{self.verb} {self.count}{total}")


def _hash_with_progress(ctx: JobContext, paths: list[Path], total_bytes: int) -> str:
    read = 0

    def on_chunk(size: int) -> None:
        nonlocal read
        read += size
        ctx.progress(read, total_bytes, f"hashing {read * 100 // max(total_bytes, 1)}%")
        ctx.checkpoint()

    try:
        return hash_files(paths, on_chunk)
    except OSError as exc:
        raise JobError(f"cannot read {exc.filename or 'a file'} while hashing it: "
                       f"{exc.strerror or exc} (deleted or replaced meanwhile?)") from exc


def still_the_same(ctx: JobContext, source: sources.Source) -> bool:
    """Whether the source's file still holds what was added. A file whose modification time
    moved while its size and bytes did not (touched, copied, synced again) is re-dated in
    the store rather than refused; a folder's time moves when its files do, so it is not."""
    if not source.changed_on_disk():
        return True
    if source.kind == "folder" or source.hash is None:
        return False
    path = Path(source.path)
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != source.size or _hash_with_progress(ctx, [path], stat.st_size) != source.hash:
        return False
    sources.redate(ctx.conn, source.id, stat.st_mtime_ns)
    ctx.log.info("source %d: %s was touched but its content is unchanged", source.id, path)
    return True


def _ingest_video(ctx: JobContext, source_id: int, path: Path, size: int,
                  max_pixels: int) -> MediaFacts:
    digest = _hash_with_progress(ctx, [path], size)
    writer = _FrameWriter(ctx, source_id, None, "indexing frame")
    info, decoded, variable, duration = read_video(path, writer.add, ctx.checkpoint, max_pixels)
    writer.flush()
    fps = float(info.rate) if info.rate and not variable else (
        decoded / duration if duration else None)
    return MediaFacts(
        hash=digest, width=info.width, height=info.height, fps=fps, variable_fps=variable,
        frame_count=decoded, duration=duration, rotation=info.rotation,
        video_codec=info.video_codec, has_audio=info.has_audio, audio_codec=info.audio_codec,
    )


def _ingest_image(ctx: JobContext, source_id: int, path: Path, size: int,
                  max_pixels: int) -> MediaFacts:
    info = read_image(path, max_pixels)
    digest = _hash_with_progress(ctx, [path], size)
    sources.add_frames(ctx.conn, source_id, [FrameRow(0, None, None, path.name)])
    return MediaFacts(
        hash=digest, width=info.width, height=info.height, fps=None, variable_fps=False,
        frame_count=1, duration=None, rotation=info.rotation, video_codec=None,
        has_audio=False, audio_codec=None,
    )


def _ingest_folder(ctx: JobContext, source_id: int, folder: Path,
                   max_pixels: int) -> tuple[MediaFacts, str]:
    """The folder's readable images as frames, and what was skipped and why (also logged)."""
    try:
        scan = scan_folder(folder)
    except OSError as exc:
        raise JobError(f"cannot list folder {folder}: {exc.strerror or exc}") from exc
    if not scan.images and not scan.skipped:
        raise JobError(f"no images in folder: {folder}")
    writer = _FrameWriter(ctx, source_id, len(scan.images), "reading image")
    readable: list[Path] = []
    sizes: set[tuple[int, int]] = set()
    total_bytes = 0
    for image_path in scan.images:
        ctx.checkpoint()
        try:
            info = read_image(image_path, max_pixels)
            total_bytes += image_path.stat().st_size
        except ImageTooLargeError:
            scan.skipped.append((image_path.name, f"above the {pixel_limit.mpx(max_pixels)} "
                                                  "pixel limit"))
            continue
        except (JobError, OSError):
            scan.skipped.append((image_path.name, "unreadable image"))
            continue
        sizes.add((info.width, info.height))
        writer.add(FrameRow(len(readable), None, None, image_path.name))
        readable.append(image_path)
    writer.flush()
    skipped = scan.skipped_summary()
    if not readable:
        raise JobError(f"no readable images in folder: {folder} ({skipped})")
    if skipped:
        names = [name for name, _ in scan.skipped]
        ctx.log.warning("%s in %s: %s", skipped, folder,
                        ", ".join(map(repr, names[:5])) + (" ..." if len(names) > 5 else ""))
    digest = _hash_with_progress(ctx, readable, total_bytes)
    width, height = next(iter(sizes)) if len(sizes) == 1 else (None, None)
    return MediaFacts(
        hash=digest, width=width, height=height, fps=None, variable_fps=False,
        frame_count=len(readable), duration=None, rotation=0, video_codec=None,
        has_audio=False, audio_codec=None,
    ), skipped


def _summary(kind: str, facts: MediaFacts) -> str:
    if kind == "video":
        rate = f"{facts.fps:.4g} fps" if facts.fps else "unknown fps"
        if facts.variable_fps:
            rate = "variable rate, ~" + rate
        audio = f"audio {facts.audio_codec}" if facts.has_audio else "no audio"
        return f"{facts.frame_count} frames, {facts.width}x{facts.height}, {rate}, {audio}"
    if kind == "image":
        return f"1 image, {facts.width}x{facts.height}"
    size = f", {facts.width}x{facts.height}" if facts.width else ", mixed sizes"
    return f"{facts.frame_count} images{size}"
