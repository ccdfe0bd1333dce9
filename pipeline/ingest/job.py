"""The `ingest` job: turn a path into a source with one frames row per frame or image.

Nothing half-written survives a failure: the source row (and its frames) is created in
'ingesting' state and either completed in one transaction or removed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.ingest.hashing import hash_files
from pipeline.ingest.media import folder_images, looks_like_still_image
from pipeline.ingest.probe import read_image, read_video
from pipeline.registry import job_kind
from store import sources
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
    source_id = sources.begin_ingest(ctx.conn, str(path), label, kind, stat.st_size,
                                     stat.st_mtime_ns, ctx.job_id)
    try:
        if kind == "folder":
            facts = _ingest_folder(ctx, source_id, path)
        elif kind == "image":
            facts = _ingest_image(ctx, source_id, path, stat.st_size)
        else:
            facts = _ingest_video(ctx, source_id, path, stat.st_size)
        after = _stat(path)
        if kind != "folder" and (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            raise JobError(f"file changed while it was being read: {path}; add it again once "
                           "it is complete")
        sources.complete_ingest(ctx.conn, source_id, facts)
    except BaseException:
        sources.discard(ctx.conn, source_id)
        raise
    summary = _summary(kind, facts)
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

    return hash_files(paths, on_chunk)


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


def _ingest_video(ctx: JobContext, source_id: int, path: Path, size: int) -> MediaFacts:
    digest = _hash_with_progress(ctx, [path], size)
    writer = _FrameWriter(ctx, source_id, None, "indexing frame")
    info, decoded, variable, duration = read_video(path, writer.add, ctx.checkpoint)
    writer.flush()
    fps = float(info.rate) if info.rate and not variable else (
        decoded / duration if duration else None)
    return MediaFacts(
        hash=digest, width=info.width, height=info.height, fps=fps, variable_fps=variable,
        frame_count=decoded, duration=duration, rotation=info.rotation,
        video_codec=info.video_codec, has_audio=info.has_audio, audio_codec=info.audio_codec,
    )


def _ingest_image(ctx: JobContext, source_id: int, path: Path, size: int) -> MediaFacts:
    info = read_image(path)
    digest = _hash_with_progress(ctx, [path], size)
    sources.add_frames(ctx.conn, source_id, [FrameRow(0, None, None, path.name)])
    return MediaFacts(
        hash=digest, width=info.width, height=info.height, fps=None, variable_fps=False,
        frame_count=1, duration=None, rotation=info.rotation, video_codec=None,
        has_audio=False, audio_codec=None,
    )


def _ingest_folder(ctx: JobContext, source_id: int, folder: Path) -> MediaFacts:
    candidates = folder_images(folder)
    if not candidates:
        raise JobError(f"no images in folder: {folder}")
    writer = _FrameWriter(ctx, source_id, len(candidates), "reading image")
    readable: list[Path] = []
    sizes: set[tuple[int, int]] = set()
    unreadable: list[str] = []
    for image_path in candidates:
        ctx.checkpoint()
        try:
            info = read_image(image_path)
        except JobError:
            unreadable.append(image_path.name)
            continue
        sizes.add((info.width, info.height))
        writer.add(FrameRow(len(readable), None, None, image_path.name))
        readable.append(image_path)
    writer.flush()
    if not readable:
        raise JobError(f"no readable images in folder: {folder} ({len(unreadable)} files could "
                       "not be read)")
    if unreadable:
        ctx.log.warning("skipped %d unreadable image(s) in %s: %s", len(unreadable), folder,
                        ", ".join(unreadable[:5]) + (" ..." if len(unreadable) > 5 else ""))
    digest = _hash_with_progress(ctx, readable, sum(p.stat().st_size for p in readable))
    width, height = next(iter(sizes)) if len(sizes) == 1 else (None, None)
    return MediaFacts(
        hash=digest, width=width, height=height, fps=None, variable_fps=False,
        frame_count=len(readable), duration=None, rotation=0, video_codec=None,
        has_audio=False, audio_codec=None,
    )


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
