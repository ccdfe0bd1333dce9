"""Read the wanted frames of a source as upright RGB arrays, on a thread of their own.

Videos are decoded once, in order, never seeking per frame; the display rotation is applied.
Images of a folder are opened one by one; one that cannot be read is reported, not fatal.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from pipeline.errors import JobError
from store.faces import PendingFrame
from store.sources import Source

PREFETCH = 16


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


def _video_frames(source: Source, wanted: Sequence[PendingFrame]) -> Iterator[LoadedFrame]:
    by_index = {f.idx: f for f in wanted}
    last = max(by_index)
    try:
        with av.open(source.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index in by_index:
                    image = upright(frame.to_ndarray(format="rgb24"), source.rotation)
                    yield LoadedFrame(by_index[index], image)
                if index >= last:
                    return
    except av.error.FFmpegError as exc:
        raise JobError(f"cannot decode {source.path}: {exc}") from exc


def _image_frames(source: Source, wanted: Sequence[PendingFrame]) -> Iterator[LoadedFrame]:
    folder = Path(source.path) if source.kind == "folder" else Path(source.path).parent
    for frame in wanted:
        path = folder / frame.path if frame.path else Path(source.path)
        try:
            with Image.open(path) as opened:
                image = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
        except (OSError, ValueError) as exc:
            yield LoadedFrame(frame, None, f"unreadable image {path.name}: {exc}")
            continue
        yield LoadedFrame(frame, image)


def read_frame(source: Source, frame: PendingFrame) -> np.ndarray:
    """One frame, upright: a video seeks to the keyframe before it and decodes from there
    (from the start when the frame's pts is unknown)."""
    if source.kind != "video":
        [loaded] = list(_image_frames(source, [frame]))
        if loaded.image is None:
            raise JobError(loaded.error or f"frame {frame.idx} of {source.path} is unreadable")
        return loaded.image
    if frame.pts is None:
        return next(_video_frames(source, [frame])).image
    try:
        with av.open(source.path) as container:
            stream = container.streams.video[0]
            container.seek(frame.pts, stream=stream, backward=True, any_frame=False)
            for decoded in container.decode(stream):
                if decoded.pts is not None and decoded.pts >= frame.pts:
                    return upright(decoded.to_ndarray(format="rgb24"), source.rotation)
    except av.error.FFmpegError as exc:
        raise JobError(f"cannot decode {source.path}: {exc}") from exc
    raise JobError(f"frame {frame.idx} of {source.path} could not be decoded")


def read_frames(source: Source, wanted: Sequence[PendingFrame],
                stop: threading.Event) -> Iterator[LoadedFrame]:
    """The wanted frames in order, decoded ahead on a background thread."""
    if not wanted:
        return
    produce = _video_frames if source.kind == "video" else _image_frames
    buffer: queue.Queue = queue.Queue(maxsize=PREFETCH)
    finished = object()

    def run() -> None:
        try:
            for loaded in produce(source, wanted):
                while not stop.is_set():
                    try:
                        buffer.put(loaded, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(finished)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer to raise
            buffer.put(exc)

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
