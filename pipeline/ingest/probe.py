"""Probe media with PyAV (videos) and Pillow (images): size, timing, rotation, audio, frames."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import UnidentifiedImageError

from pipeline.errors import JobError
from pipeline.source_images import check_size, open_checked
from store.sources import FrameRow

# Frame intervals that differ by more than this share of the typical one mean variable rate.
VFR_TOLERANCE = 0.05


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    declared_frames: int
    rate: Fraction | None
    rotation: int
    video_codec: str
    has_audio: bool
    audio_codec: str | None


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    rotation: int


def _open_container(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise JobError(f"not a video or image: {path} ({_ffmpeg_reason(exc)})") from exc


def _ffmpeg_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def read_video(path: Path, on_frame: Callable[[FrameRow], None], checkpoint: Callable[[], None],
               max_pixels: int) -> tuple[VideoInfo, int, bool, float | None]:
    """Decode every frame once, in order, handing each (index, pts, time) to `on_frame`.

    Returns (stream facts, frames decoded, whether the rate is variable, duration in s).
    Raises JobError for a file PyAV cannot read, frames above `max_pixels` (before any is
    decoded) or a video that stops short of what its header declares (a truncated download).
    """
    with _open_container(path) as container:
        if not container.streams.video:
            raise JobError(f"no video stream in {path} (audio only?)")
        stream = container.streams.video[0]
        check_size(stream.codec_context.width, stream.codec_context.height, max_pixels, path)
        stream.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        rotation = 0
        intervals = _IntervalTracker()
        decoded = 0
        last_time: float | None = None
        try:
            for frame in container.decode(stream):
                if decoded == 0:
                    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
                on_frame(FrameRow(decoded, frame.pts, frame.time))
                intervals.add(frame.pts)
                last_time = frame.time
                decoded += 1
                checkpoint()
        except av.error.FFmpegError as exc:
            raise JobError(
                f"damaged video: {path} could not be decoded past frame {decoded} "
                f"({_ffmpeg_reason(exc)})"
            ) from exc
        info = VideoInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            declared_frames=stream.frames,
            rate=stream.average_rate or stream.guessed_rate,
            rotation=rotation,
            video_codec=stream.codec_context.name,
            has_audio=audio is not None,
            audio_codec=audio.codec_context.name if audio is not None else None,
        )
        duration = _duration(container, stream, last_time, info.rate)
    if decoded == 0:
        raise JobError(f"no frames could be decoded from {path} (empty or damaged video)")
    if info.declared_frames and decoded < info.declared_frames:
        raise JobError(
            f"truncated video: {path} holds only {decoded} of the {info.declared_frames} frames "
            "its header declares"
        )
    return info, decoded, intervals.variable(), duration


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
              last_time: float | None, rate: Fraction | None) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    if last_time is not None and rate:
        return last_time + 1 / float(rate)
    return None


class _IntervalTracker:
    """Watches the gaps between presentation times to tell constant from variable rate."""

    def __init__(self) -> None:
        self._previous: int | None = None
        self._gaps: list[int] = []

    def add(self, pts: int | None) -> None:
        if pts is None:
            return
        if self._previous is not None and pts > self._previous:
            self._gaps.append(pts - self._previous)
        self._previous = pts

    def variable(self) -> bool:
        if len(self._gaps) < 2:
            return False
        gaps = sorted(self._gaps)
        typical = gaps[len(gaps) // 2]
        # One tick of slack absorbs the rounding of a rate that the time base cannot hold.
        return gaps[-1] - gaps[0] > max(1, typical * VFR_TOLERANCE)


EXIF_ORIENTATION_ROTATION = {3: 180, 6: 270, 8: 90}


def read_image(path: Path, max_pixels: int) -> ImageInfo:
    """Size and EXIF rotation of an image; JobError if Pillow cannot read it whole, or
    ImageTooLargeError (before decoding) when it declares more than `max_pixels`."""
    try:
        with open_checked(path, max_pixels) as image:
            image.load()
            orientation = image.getexif().get(0x0112, 1)
            return ImageInfo(image.width, image.height,
                             EXIF_ORIENTATION_ROTATION.get(orientation, 0))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise JobError(f"unreadable image: {path} ({' '.join(str(exc).split())})") from exc


