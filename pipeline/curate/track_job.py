"""The `track` job: link a source's faces into tracks, flag tracks that are probably not
faces, and fill the short gaps of each track. Extraction runs it at the end of a source;
`swapdeck track` runs it again (for a project extracted before tracks existed).

Everything it writes lands in one transaction at the end (the frames' signatures before,
which are only a cache), so a killed job leaves the previous tracks as they were
and simply runs again. Faces it placed before are faces of their track like any other, so
running it again adds nothing twice.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from pipeline.context import JobContext
from pipeline.curate import gap_fill, track_flags
from pipeline.curate.face_check import cnn_face_check, stored_crops
from pipeline.curate.tracks import MAX_GAP, Sighting, cut_frames, frame_signature, link
from pipeline.errors import JobError
from pipeline.extract.extractor import FaceExtractor, cuda_available
from pipeline.extract.frames import LoadedFrame, read_frames
from pipeline.registry import job_kind
from store import faces, pixel_limit, sources, tracks
from store.faces import PendingFrame
from store.requests.extract import ExtractSettings

@job_kind("track")
def track(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    try:
        source = sources.get(ctx.conn, int(params["source_id"]))
    except sources.SourceNotFoundError as exc:
        raise JobError(str(exc)) from exc
    return track_source(ctx, source)


def track_source(ctx: JobContext, source: sources.Source) -> dict[str, Any]:
    extraction = faces.get_extraction(ctx.conn, source.id)
    if extraction is None or not extraction.finished:
        raise JobError(f"source {source.id} is not extracted yet: extract it first, then "
                       "its faces are tracked")
    settings = ExtractSettings.from_json(extraction.settings)
    found = tracks.source_faces(ctx.conn, source.id)
    frames = tracks.processed_frames(ctx.conn, source.id)
    ctx.progress(0, len(frames), f"tracking {len(found)} faces", force=True)
    images = _Frames(ctx, source, frames)
    if source.kind == "video":
        cuts = cut_frames([f.frame.idx for f in frames], images.signatures())
        members = _linked(found, cuts, settings.every_n)
    else:   # photos are not frames of one scene: each face is a track of its own
        cuts, members = set(), [[n] for n in range(len(found))]
    grouped = [[found[i] for i in track] for track in members]
    flags = track_flags.flag_all(grouped, cnn_face_check(_device()),
                                 stored_crops(ctx.conn))
    filled = _fill_gaps(ctx, images, settings,
                        [group if not flag else [] for group, flag in zip(grouped, flags)],
                        cuts)
    new_tracks = [tracks.NewTrack([f.id for f in group], group[0].frame_idx,
                                  group[-1].frame_idx, flag, filled.get(n, []))
                  for n, (group, flag) in enumerate(zip(grouped, flags))]
    added = tracks.replace_tracks(ctx.conn, source.id, new_tracks)
    flagged = sum(len(g) for g, flag in zip(grouped, flags) if flag)
    message = (f"{len(new_tracks)} tracks of {len(found)} faces, {len(cuts)} shot cuts, "
               f"{added} faces filled in gaps, {flagged} faces flagged as probably not faces")
    ctx.progress(len(frames), len(frames), message, force=True)
    return {"message": message, "source_id": source.id, "tracks": len(new_tracks),
            "filled": added, "flagged": flagged, "cuts": len(cuts)}


def _device() -> str:
    return "cuda" if cuda_available() else "cpu"


def link_so_far(ctx: JobContext, source: sources.Source, every_n: int) -> None:
    """Link the faces extraction has stored so far into provisional tracks (no decoding:
    the cuts come from the signatures extraction stored with its frames)."""
    found = tracks.source_faces(ctx.conn, source.id)
    frames = tracks.processed_frames(ctx.conn, source.id)
    cuts = cut_frames([f.frame.idx for f in frames], [f.signature for f in frames])
    members = _linked(found, cuts, every_n)
    tracks.link_provisionally(ctx.conn, source.id, [[found[i].id for i in m] for m in members])


def _linked(found: Sequence[tracks.TrackedFace], cuts: set[int],
            every_n: int) -> list[list[int]]:
    return link([Sighting(f.id, f.frame_idx, f.box, f.landmarks, f.descriptor)
                 for f in found], cuts, every_n)


class _Frames:
    """The source's processed frames, decoded only where something is missing."""

    def __init__(self, ctx: JobContext, source: sources.Source,
                 frames: Sequence[tracks.Frame]) -> None:
        self.ctx, self.source, self.frames = ctx, source, frames

    def signatures(self) -> list[np.ndarray | None]:
        """Every frame's signature, computed and stored where none was."""
        missing = [f.frame for f in self.frames if f.signature is None]
        computed = {loaded.frame.id: frame_signature(loaded.image)
                    for loaded in self.decode(missing, "reading frames for shot cuts")
                    if loaded.image is not None}
        if computed:
            tracks.save_signatures(self.ctx.conn, computed)
        return [computed.get(f.frame.id, f.signature) for f in self.frames]

    def decode(self, wanted: Sequence[PendingFrame], doing: str) -> Iterator[LoadedFrame]:
        if wanted and not self.source.changed_on_disk():
            for done, loaded in enumerate(read_frames(self.source, wanted, threading.Event(),
                                                      pixel_limit.get(self.ctx.conn))):
                self.ctx.checkpoint()
                self.ctx.progress(done, len(wanted), f"{doing}: frame {done}/{len(wanted)}")
                yield loaded
        elif wanted:
            self.ctx.log.warning("source %d changed or went away: its frames are not read "
                                 "again (no cuts found, no gaps filled)", self.source.id)


def _fill_gaps(ctx: JobContext, images: _Frames, settings: ExtractSettings,
               grouped: Sequence[Sequence[tracks.TrackedFace]],
               cuts: set[int]) -> dict[int, list[faces.NewFace]]:
    """Track index -> the faces placed in its gaps (an empty track has none)."""
    order = [f.frame.idx for f in images.frames]
    ids = {f.frame.idx: f.frame.id for f in images.frames}
    by_frame: dict[int, list[gap_fill.Gap]] = {}
    for n, group in enumerate(grouped):
        for gap in gap_fill.find_gaps(n, group, order, ids, cuts, MAX_GAP):
            by_frame.setdefault(gap.frame_id, []).append(gap)
    if not by_frame:
        return {}
    extractor = FaceExtractor(settings)
    person = {n: np.mean([f.descriptor for f in group], axis=0)
              for n, group in enumerate(grouped) if group}
    wanted = [f.frame for f in images.frames if f.frame.id in by_frame]
    placed: dict[int, list[faces.NewFace]] = {}
    for loaded in images.decode(wanted, "filling gaps"):
        if loaded.image is not None:
            for gap, face in gap_fill.fill(extractor, loaded.image, by_frame[loaded.frame.id],
                                           person):
                placed.setdefault(gap.track, []).append(face)
    return placed
