"""Say whether a file carries swapdeck's synthetic-media mark: its metadata, and the
watermark in the pixels of up to `max_frames` frames spread over it.

    python -m pipeline.convert.verify FILE [--json] [--max-frames N]

exits 0 when the file is marked (by metadata or watermark), 1 when not, 2 when it cannot be
read. A file counts as watermarked when at least two checked frames (one, if only one was
checked) carry the same valid mark, or when the votes of all checked frames added together
read as a valid mark (this finds marks in videos re-encoded so hard that single frames no
longer read). Each frame is read as stored and, until one reads, in the other three
quarter turns (a re-encode may have applied a display rotation); after TURN_SEARCH frames
without a mark, only as stored.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from pipeline.convert import marking
from pipeline.convert.marking import Mark
from pipeline.ingest.media import IMAGE_EXTENSIONS, folder_images

SCHEMA = "swapdeck.verify/1"
SEEK_FACTOR = 10   # a video of more frames than this x max_frames is sampled by seeking
TURN_SEARCH = 10   # frames read in all four quarter turns while none has read


class VerifyError(Exception):
    """The file cannot be checked; the message is one line."""


@dataclass(frozen=True)
class Report:
    path: str
    kind: str                   # "video" | "png" | "gif" | "image" | "png-folder"
    metadata: dict[str, str]    # keys in lower case
    marked_by_metadata: bool
    frames_checked: int
    frames_read: int            # frames where a valid mark was read on its own
    mark: Mark | None           # the most common mark read, else the one read pooled
    mark_frames: int            # frames that carry `mark` on their own
    pooled: bool                # the checked frames' votes added together read as `mark`
    too_small: bool             # the frames are too small to carry the watermark

    @property
    def marked_by_watermark(self) -> bool:
        return self.mark is not None and (self.mark_frames >= min(2, self.frames_checked)
                                          or self.pooled)

    @property
    def marked(self) -> bool:
        return self.marked_by_metadata or self.marked_by_watermark

    @property
    def verdict(self) -> str:
        plural = "s" * (self.frames_checked != 1)
        seen = "" if self.mark is None else (
            f"watermark {self.mark.text} in {self.mark_frames} of {self.frames_checked} "
            f"frame{plural}" if self.mark_frames >= min(2, self.frames_checked) else
            f"watermark {self.mark.text} in the {self.frames_checked} frames read together "
            f"({self.mark_frames} alone)")
        looked = ("its frames are too small to carry the watermark" if self.too_small else
                  f"no watermark in {self.frames_checked} frame{plural}")
        if self.marked_by_metadata and self.marked_by_watermark:
            return f"marked as synthetic: swapdeck metadata and {seen}"
        if self.marked_by_watermark:
            return f"marked as synthetic: {seen}; no swapdeck metadata (stripped?)"
        if self.marked_by_metadata:
            return (f"marked as synthetic by its metadata; {looked} (re-encoded, scaled or "
                    "cropped?)")
        return f"no swapdeck mark found: no swapdeck metadata, {looked}"

    def as_json(self) -> dict[str, object]:
        return {
            "schema": SCHEMA, "path": self.path, "kind": self.kind, "marked": self.marked,
            "marked_by_metadata": self.marked_by_metadata,
            "marked_by_watermark": self.marked_by_watermark,
            "frames_checked": self.frames_checked, "frames_read": self.frames_read,
            "mark": None if self.mark is None else {
                "text": self.mark.text, "project_tag": self.mark.project_tag,
                "session_id": self.mark.session_id, "frames": self.mark_frames,
                "pooled": self.pooled},
            "too_small": self.too_small, "metadata": self.metadata, "verdict": self.verdict,
        }


def says_synthetic(metadata: dict[str, str]) -> bool:
    """Whether metadata (keys in lower case) carries swapdeck's mark: `synthetic=yes` from
    swapdeck, or its note in the comment (all MP4 keeps without `marking.mp4_options()`)."""
    return ((metadata.get("synthetic", "").strip().lower() == "yes"
             and metadata.get("software", "").startswith("swapdeck"))
            or marking.SYNTHETIC_NOTE in metadata.get("comment", ""))


def verify(path: Path, *, max_frames: int = 200) -> Report:
    """Check `path`: a video, a PNG, a GIF, another still image, or a folder of PNGs."""
    path = Path(path)
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    if not path.exists():
        raise VerifyError(f"{path} does not exist")
    if path.is_dir():
        kind, metadata, frames = _png_folder(path, max_frames)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        kind, metadata, frames = _image(path, max_frames)
    else:
        kind, metadata, frames = _video(path, max_frames)
    return _check(path, kind, metadata, frames)


def _check(path: Path, kind: str, metadata: dict[str, str],
           frames: Iterator[np.ndarray]) -> Report:
    counts: Counter[Mark] = Counter()
    pools: dict[int, np.ndarray] = {}   # by quarter turn: the votes added up
    checked = read = 0
    too_small = False
    turns = [0, 1, 2, 3]   # the quarter turn that read last goes first
    for frame in frames:
        if not marking.can_mark(frame.shape[1], frame.shape[0]):
            too_small = True
            break
        checked += 1
        for turn in (turns[:1] if counts or checked > TURN_SEARCH else turns):
            votes = marking.votes(frame, turns=turn)
            pools[turn] = pools.get(turn, 0) + votes
            mark = marking.from_bits(votes > 0)
            if mark is not None:
                read += 1
                counts[mark] += 1
                turns.remove(turn)
                turns.insert(0, turn)
                break
    if checked == 0 and not too_small:
        raise VerifyError(f"{path} holds no frame that could be decoded")
    pooled = next((m for m in (marking.from_bits(pools[t] > 0) for t in turns if t in pools)
                   if m is not None), None)
    mark, count = counts.most_common(1)[0] if counts else (None, 0)
    if count < min(2, checked) and pooled is not None:
        mark, count = pooled, counts[pooled]
    return Report(str(path), kind, metadata, says_synthetic(metadata), checked, read, mark,
                  count, mark is not None and pooled == mark, too_small)


def _spread(count: int, wanted: int) -> list[int]:
    """Up to `wanted` indices spread evenly over range(count), first and last included."""
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [0]
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def _video(path: Path, max_frames: int) -> tuple[str, dict[str, str], Iterator[np.ndarray]]:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise VerifyError(f"cannot read {path}: not a video or image ({_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise VerifyError(f"cannot check {path}: it has no video stream")
    metadata = {key.lower(): value for key, value in container.metadata.items()}
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    count = stream.frames or round(_seconds(container, stream) * (stream.average_rate or 0))
    if 0 < count <= SEEK_FACTOR * max_frames:
        frames = _decoded(container, stream, path, set(_spread(count, max_frames)))
    else:
        frames = _sought(container, stream, path, max_frames)
    return "video", metadata, frames


def _seconds(container: av.container.InputContainer,
             stream: av.video.stream.VideoStream) -> float:
    if stream.duration:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def _decoded(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             path: Path, wanted: set[int]) -> Iterator[np.ndarray]:
    """The wanted frames of one pass over the video, as stored (no display rotation)."""
    last = max(wanted)
    with container:
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    yield frame.to_ndarray(format="rgb24")
                if index >= last:
                    return
        except av.error.FFmpegError as exc:
            raise VerifyError(f"cannot decode {path}: {_reason(exc)}") from exc


def _sought(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            path: Path, max_frames: int) -> Iterator[np.ndarray]:
    """The frame each of `max_frames` seeks spread over a long video lands on (a keyframe:
    cheap to decode, and the best-kept frame of its group); one that two seeks land on is
    checked once, so videos with few keyframes get fewer checks."""
    start = stream.start_time or 0
    seen: set[int | None] = set()
    with container:
        try:
            for ms in _spread(max(1, int(_seconds(container, stream) * 1000)), max_frames):
                container.seek(start + int(ms / 1000 / stream.time_base), stream=stream)
                for frame in container.decode(stream):
                    if frame.pts not in seen:
                        seen.add(frame.pts)
                        yield frame.to_ndarray(format="rgb24")
                    break
        except av.error.FFmpegError as exc:
            raise VerifyError(f"cannot decode {path}: {_reason(exc)}") from exc


def _image(path: Path, max_frames: int) -> tuple[str, dict[str, str], Iterator[np.ndarray]]:
    image = _open_image(path)
    kind = {"PNG": "png", "GIF": "gif"}.get(image.format or "", "image")
    try:
        metadata = marking.read_image_metadata(image)
    except OSError as exc:
        image.close()
        raise VerifyError(f"cannot read {path}: {_reason(exc)}") from exc
    return kind, metadata, _image_frames(image, path, max_frames)


def _image_frames(image: Image.Image, path: Path, max_frames: int) -> Iterator[np.ndarray]:
    with image:
        wanted = set(_spread(getattr(image, "n_frames", 1), max_frames))
        try:
            for index, frame in enumerate(ImageSequence.Iterator(image)):
                if index in wanted:
                    yield np.asarray(frame.convert("RGB"))
        except OSError as exc:
            raise VerifyError(f"cannot read {path}: {_reason(exc)}") from exc


def _png_folder(folder: Path,
                max_frames: int) -> tuple[str, dict[str, str], Iterator[np.ndarray]]:
    pngs = [p for p in folder_images(folder) if p.suffix.lower() == ".png"]
    if not pngs:
        raise VerifyError(f"{folder} is a folder without PNG files; give a video, an image "
                          "or a folder of PNGs")
    picked = [pngs[i] for i in _spread(len(pngs), max_frames)]
    with _open_image(picked[0]) as first:
        metadata = marking.read_image_metadata(first)

    def frames() -> Iterator[np.ndarray]:
        for png in picked:
            with _open_image(png) as image:
                try:
                    yield np.asarray(image.convert("RGB"))
                except OSError as exc:
                    raise VerifyError(f"cannot read {png}: {_reason(exc)}") from exc

    return "png-folder", metadata, frames()


def _open_image(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as exc:
        raise VerifyError(f"cannot read {path}: not an image ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _summary(report: Report) -> str:
    meta = report.metadata
    lines = [f"{report.path}: {report.verdict}",
             f"  kind: {report.kind}, {report.frames_checked} frame"
             f"{'s' * (report.frames_checked != 1)} checked, a valid mark read in "
             f"{report.frames_read}"]
    if report.mark is not None:
        lines.append(f"  watermark: project tag {report.mark.project_tag:06x}, session id "
                     f"{report.mark.session_id}")
    shown = [(label, meta[key]) for label, key in (
        ("software", "software"), ("project", "swapdeck_project"),
        ("session", "swapdeck_session"), ("conversion", "swapdeck_conversion"),
        ("mark", "swapdeck_mark"), ("model sha256", "swapdeck_model_sha256"),
        ("source sha256", "swapdeck_source_sha256"), ("created", "swapdeck_created"))
        if key in meta]
    if report.marked_by_metadata:
        lines.append("  metadata: synthetic media" + "".join(
            f"\n    {label}: {value}" for label, value in shown))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="swapdeck verify",
        description="Say whether a file carries swapdeck's synthetic-media mark (metadata and "
                    "an invisible watermark) and what it says. Exit status: 0 marked, 1 not "
                    "marked, 2 the file cannot be read.")
    parser.add_argument("file", type=Path, metavar="FILE",
                        help="a video, a PNG or GIF (or another image), or a folder of PNGs")
    parser.add_argument("--json", action="store_true",
                        help=f"print one JSON object (schema {SCHEMA!r}) instead of a summary")
    parser.add_argument("--max-frames", type=int, default=200, metavar="N",
                        help="check the watermark in at most N frames spread over the file "
                             "(default: 200)")
    args = parser.parse_args(argv)
    if args.max_frames < 1:
        parser.error("--max-frames must be at least 1")
    try:
        report = verify(args.file, max_frames=args.max_frames)
    except VerifyError as exc:
        if args.json:
            print(json.dumps({"schema": SCHEMA, "path": str(args.file), "error": str(exc)}))
        else:
            print(f"swapdeck verify: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(), indent=2) if args.json else _summary(report))
    return 0 if report.marked else 1


if __name__ == "__main__":
    sys.exit(main())
