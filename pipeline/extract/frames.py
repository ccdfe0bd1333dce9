"""Read the wanted frames of a source as upright RGB arrays, on a thread of their own.

Videos are decoded once, in order, never seeking per frame; the display rotation is applied.
Images of a folder are opened one by one; one that cannot be read is reported, not fatal.
Nothing above the project's pixel limit is decoded, and what is decoded ahead is bounded in
pixels as well as in frames, so a folder of huge photos cannot pile up gigabytes.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.errors import JobError
from pipeline.source_images import ImageTooLargeError, check_size, decode_rgb
from store.files.contained import UnsafePathError, relative_name
from store.faces import PendingFrame
from store.sources import Source

PREFETCH = 16
PREFETCH_PIXELS = 48_000_000


@dataclass(frozen=True)
class LoadedFrame:
    frame: PendingFrame
    image: np.ndarray | None   # None when the image could not be read
    error: str | None = None


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, as ffmpeg's display matrix says).

    The result is contiguous: PyAV pads the rows of odd-width frames, and dlib refuses
    strided arrays.
    """
    return np.ascontiguousarray(np.rot90(image, (rotation // 90) % 4))


def _video_frames(source: Source, wanted: Sequence[PendingFrame],
                  max_pixels: int) -> Iterator[LoadedFrame]:
    by_index = {f.idx: f for f in wanted}
    last = max(by_index)
    try:
        with av.open(source.path) as container:
            stream = _checked_stream(container, source, max_pixels)
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index in by_index:
                    image = upright(frame.to_ndarray(format="rgb24"), source.rotation)
                    yield LoadedFrame(by_index[index], image)
                if index >= last:
                    return
    except av.error.FFmpegError as exc:
        raise JobError(f"cannot decode {source.path}: {exc}") from exc


def _checked_stream(container: av.container.InputContainer, source: Source,
                    max_pixels: int) -> av.video.stream.VideoStream:
    """The video stream, refused before any frame is decoded when its frames are too large."""
    stream = container.streams.video[0]
    check_size(stream.codec_context.width, stream.codec_context.height, max_pixels,
               source.path)
    return stream


def _image_frames(source: Source, wanted: Sequence[PendingFrame],
                  max_pixels: int) -> Iterator[LoadedFrame]:
    folder = Path(source.path) if source.kind == "folder" else Path(source.path).parent
    for frame in wanted:
        try:   # frames.path is a row: it names a file of the source's folder, never another
            path = (folder / relative_name(frame.path, where=f"frames row {frame.id}")
                    if frame.path else Path(source.path))
        except UnsafePathError as exc:
            yield LoadedFrame(frame, None, str(exc))
            continue
        try:
            image = decode_rgb(path, max_pixels)
        except ImageTooLargeError as exc:
            yield LoadedFrame(frame, None, str(exc))
            continue
        except (OSError, ValueError) as exc:
            yield LoadedFrame(frame, None, f"unreadable image {path.name!r}: {exc}")
            continue
        yield LoadedFrame(frame, image)


def read_frame(source: Source, frame: PendingFrame, max_pixels: int) -> np.ndarray:
    """One frame, upright: a video seeks to the keyframe before it and decodes from there
    (from the start when the frame's pts is unknown)."""
    if source.kind != "video":
        [loaded] = list(_image_frames(source, [frame], max_pixels))
        if loaded.image is None:
            raise JobError(loaded.error or f"frame {frame.idx} of {source.path} is unreadable")
        return loaded.image
    if frame.pts is None:
        return next(_video_frames(source, [frame], max_pixels)).image
    try:
        with av.open(source.path) as container:
            stream = _checked_stream(container, source, max_pixels)
            container.seek(frame.pts, stream=stream, backward=True, any_frame=False)
            for decoded in container.decode(stream):
                if decoded.pts is not None and decoded.pts >= frame.pts:
                    return upright(decoded.to_ndarray(format="rgb24"), source.rotation)
    except av.error.FFmpegError as exc:
        raise JobError(f"cannot decode {source.path}: {exc}") from exc
    raise JobError(f"frame {frame.idx} of {source.path} could not be decoded")


def read_frames(source: Source, wanted: Sequence[PendingFrame], stop: threading.Event,
                max_pixels: int) -> Iterator[LoadedFrame]:
    """The wanted frames in order, decoded ahead on a background thread."""
    if not wanted:
        return
    produce = _video_frames if source.kind == "video" else _image_frames
    buffer = _PixelBoundedQueue(PREFETCH, PREFETCH_PIXELS)
    finished = object()

    def run() -> None:
        try:
            for loaded in produce(source, wanted, max_pixels):
                if not buffer.put(loaded, _pixels(loaded), stop):
                    return
            buffer.put(finished, 0, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer to raise
            buffer.put(exc, 0, stop)

    thread = threading.Thread(target=run, name="decode", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is finished:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _pixels(loaded: LoadedFrame) -> int:
    return 0 if loaded.image is None else loaded.image.shape[0] * loaded.image.shape[1]


class _PixelBoundedQueue:
    """A queue of at most `frames` items and `pixels` pixels (one item always fits)."""

    def __init__(self, frames: int, pixels: int) -> None:
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._frames, self._pixels = frames, pixels
        self._held = self._held_pixels = 0
        self._room = threading.Condition()

    def put(self, item: object, pixels: int, stop: threading.Event) -> bool:
        """Wait for room and add `item`; False (nothing added) once `stop` is set."""
        with self._room:
            while self._held and (self._held >= self._frames
                                  or self._held_pixels + pixels > self._pixels):
                if stop.is_set():
                    return False
                self._room.wait(timeout=0.1)
            if stop.is_set():
                return False
            self._held += 1
            self._held_pixels += pixels
        self._items.put((item, pixels))
        return True

    def get(self) -> object:
        item, pixels = self._items.get()
        with self._room:
            self._held -= 1
            self._held_pixels -= pixels
            self._room.notify()
        return item
