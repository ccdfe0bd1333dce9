"""A source that looks ingested, for screens that only list sources and queue jobs for them."""
from __future__ import annotations

from pathlib import Path

from store import sources
from store.project import Project
from store.sources import FrameRow, MediaFacts


def seed_ready_video(project: Project, path: Path, frames: int = 10) -> int:
    """A ready source as an ingest job would leave it (the file is not a real video)."""
    path.write_bytes(b"not really a video")
    stat = path.stat()
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, str(path), "", "video", stat.st_size,
                                         stat.st_mtime_ns, None)
        sources.add_frames(conn, source_id, [FrameRow(i, i * 1000, i / 25) for i in range(frames)])
        sources.complete_ingest(conn, source_id, MediaFacts(
            hash="0" * 64, width=256, height=256, fps=25.0, variable_fps=False,
            frame_count=frames, duration=frames / 25, rotation=0, video_codec="h264",
            has_audio=False, audio_codec=None))
    return source_id
