"""Which source and frame an imported face belongs to.

A face lands in a frame of a source of the project: the one named with `--source`, else the
one its file names (faceswap: a video's `<stem>_<frame number>` or an image's file name,
with the frame's size; DeepFaceLab: the frame's file name, also looked for in the folder
above its `aligned` folder, as DeepFaceLab lays out a workspace). Sources are added as
needed. A face whose frame is nowhere to be found is kept as a still: its own image becomes
the frame.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.job import usable_source
from pipeline.ingest.job import ingest
from pipeline.ingest.media import IMAGE_EXTENSIONS
from pipeline.interop.foreign import ForeignFace, frame_number
from store import sources
from store.errors import RequestError
from store.faces import PendingFrame
from store.interop import frames_of
from store.requests.ingest import ingest_params

ALIGNMENTS_SUFFIXES = frozenset({".fsa", ".json", ".p", ".pickle"})


class SourceFrames:
    """A source's frames, found by the names other tools give them."""

    def __init__(self, ctx: JobContext, source: sources.Source) -> None:
        self.source = source
        self.frames = frames_of(ctx.conn, source.id)
        self.by_idx = {f.idx: f for f in self.frames}
        self.by_name = {f.path: f for f in self.frames if f.path}

    def find(self, name: str) -> PendingFrame | None:
        """The frame a file name names: a video's by the number it ends with (1-based, as
        faceswap and DeepFaceLab count), an image's or a folder's by its file name."""
        if self.source.kind == "video":
            number = frame_number(name)
            return self.by_idx.get(number - 1) if number else None
        if self.source.kind == "image":
            return self.by_idx.get(0) if name == Path(self.source.path).name else None
        return self.by_name.get(name)


def added_source(ctx: JobContext, path: Path) -> sources.Source:
    """The source of `path`, added to the project first if it is not in it yet."""
    found = sources.find_by_path(ctx.conn, str(path))
    if found is None or found.status != "ready":
        try:
            params = ingest_params(path, "")
        except RequestError as exc:
            raise JobError(str(exc)) from None
        found = sources.get(ctx.conn, ingest(ctx, params)["source_id"])
    return usable_source(ctx, found.id)


def named_source(ctx: JobContext, reference: str) -> sources.Source:
    """The source `--source` names: an id, or a path (added when new)."""
    if reference.isdigit():
        return usable_source(ctx, int(reference))
    return added_source(ctx, Path(reference))


class SourceMatcher:
    """Finds the project's source a foreign face's own file names, if exactly one fits."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.frames: dict[int, SourceFrames] = {}

    def frames_of(self, source: sources.Source) -> SourceFrames:
        if source.id not in self.frames:
            self.frames[source.id] = SourceFrames(self.ctx, source)
        return self.frames[source.id]

    def match(self, face: ForeignFace) -> tuple[sources.Source, PendingFrame] | None:
        """The one source and frame the face's file names, else its DFL workspace's."""
        found = []
        for source in sources.list_sources(self.ctx.conn, ready_only=True):
            if face.is_video and (source.kind != "video" or Path(source.path).stem !=
                                  Path(face.frame_name).stem.rsplit("_", 1)[0]):
                continue
            if face.frame_dims and source.width and face.frame_dims != (source.height,
                                                                        source.width):
                continue
            frame = self.frames_of(source).find(face.frame_name)
            if frame is not None and (face.is_video or source.kind != "video"):
                found.append((source, frame))
        if len(found) == 1:
            return found[0]
        return self._workspace(face) if not found else None

    def _workspace(self, face: ForeignFace) -> tuple[sources.Source, PendingFrame] | None:
        """DeepFaceLab's workspace: `data_src/aligned/x_0.jpg` came from `data_src/x.png`."""
        if face.image is None or face.is_video is not None or not face.frame_name or \
                Path(face.frame_name).name != face.frame_name:
            return None
        folder = face.image.parent.parent
        if not (folder / face.frame_name).is_file():
            return None
        source = added_source(self.ctx, folder)
        frame = self.frames_of(source).find(face.frame_name)
        return (source, frame) if frame is not None else None


def alignments_source(ctx: JobContext, path: Path, names: list[str]) -> sources.Source:
    """The video or frames folder an alignments file describes, found beside it as faceswap
    leaves them: frames named by its keys in its folder, or `<stem>.<ext>` for keys
    `<stem>_000001.<ext>` (`.png` in files before version 2.4)."""
    # keys are frame file names: one that names another folder ("../x", "/x") is never
    # looked up, so a hostile file cannot make the import probe outside its own folder
    names = [name for name in names if name and Path(name).name == name]
    folder, sample = path.parent, names[:5]
    if sample and all((folder / name).is_file() for name in sample):
        return added_source(ctx, folder)
    stems = {Path(name).stem.rsplit("_", 1)[0] for name in names}
    suffixes = {Path(name).suffix.lower() for name in names}
    if len(stems) == 1 and len(suffixes) == 1:
        stem, suffix = stems.pop(), suffixes.pop()
        videos = [folder / f"{stem}{suffix}"] if suffix not in IMAGE_EXTENSIONS else sorted(
            p for p in folder.iterdir() if p.stem == stem and p.is_file()
            and p.suffix.lower() not in IMAGE_EXTENSIONS | ALIGNMENTS_SUFFIXES)
        videos = [video for video in videos if video.is_file()]
        if len(videos) == 1:
            return added_source(ctx, videos[0])
    raise JobError(f"cannot find the video or the frames {path.name} describes beside it in "
                   f"{folder}: name them with --source")
