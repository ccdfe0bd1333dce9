"""A source's frames for the Alignments viewer, decoded around the frame shown so that
stepping through them does not wait for the decoder.

A video is decoded forward from the keyframe before a wanted frame, and every frame decoded
on the way is kept (up to `capacity`; the one farthest from the frame shown goes first).
After each frame is shown, `prefetch` decodes the next few in the background; stepping back
finds the frames that were passed, and stepping on backwards decodes the frames before it.
Frames are kept scaled down to at most `max_side` pixels on their long side: no terminal
shows more, and a 1080p frame then costs a third of the memory and of the drawing time. Folders of images are read one file at a time. PyAV
and Pillow are imported when a frame is first read, so that the app starts light.
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from store.files.contained import UnsafePathError, relative_name
from store.pixel_limit import too_large
from store.sources import FrameRow, Source

if TYPE_CHECKING:
    import av

CAPACITY = 40
AHEAD = 10
MAX_SIDE = 1280
# Decoding on from the frame decoded last beats seeking when the wanted frame is this close.
DECODE_ON_WITHIN = 60


@dataclass(frozen=True)
class ShownFrame:
    image: np.ndarray     # H x W x 3 uint8, upright, scaled by `scale`
    scale: float          # shown pixels per frame pixel
    size: tuple[int, int] # the frame's own (width, height), upright


class FrameUnreadable(Exception):
    """A frame that cannot be shown: the file is gone, changed or too large."""


class FrameCache:
    def __init__(self, source: Source, frames: list[FrameRow], max_pixels: int, *,
                 capacity: int = CAPACITY, max_side: int = MAX_SIDE) -> None:
        self.source = source
        self.frames = {f.idx: f for f in frames}
        self.max_pixels = max_pixels
        self.capacity = capacity
        self.max_side = max_side
        self._by_pts = {f.pts: f.idx for f in frames if f.pts is not None}
        self._kept: dict[int, ShownFrame] = {}
        self._centre = 0
        self._lock = threading.Lock()
        self._container: av.container.InputContainer | None = None
        self._decoded: Iterator[tuple[int, Any]] | None = None
        self._position = -1   # the index of the frame the decoder gave last

    def get(self, idx: int) -> ShownFrame:
        """The frame, from the cache or decoded now; it becomes the centre of what is kept."""
        self._centre = idx
        kept = self._kept.get(idx)   # no lock: a prefetch may be mid-decode, and dict reads
        if kept is not None:         # are atomic
            return kept
        with self._lock:
            if idx not in self._kept:
                self._load(idx)
            return self._kept[idx]

    def cached(self, idx: int) -> bool:
        return idx in self._kept

    def prefetch(self, around: int, order: list[int], stop: Callable[[], bool],
                 direction: int = 1) -> None:
        """Decode the AHEAD frames of `order` (the indices stepped through) after `around`
        (`direction` 1) or before it (-1), one at a time so that `get` is never kept waiting
        long; stops when `stop()`. Backwards, the farthest frame comes first: one seek, and
        the rest are decoded on from it."""
        if around not in order:
            return
        start = order.index(around)
        ahead = min(AHEAD, self.capacity // 2)   # no further than what is kept
        wanted = order[start + 1:start + 1 + ahead] if direction >= 0 else \
            order[max(0, start - ahead):start]
        for idx in wanted:
            if stop():
                return
            with self._lock:
                if idx not in self._kept:
                    self._load(idx)

    def close(self) -> None:
        with self._lock:
            self._close_decoder()
            self._kept.clear()

    def _load(self, idx: int) -> None:
        import av

        if idx not in self.frames:
            raise FrameUnreadable(f"source {self.source.id} has no frame {idx}")
        if self.source.kind != "video":
            self._keep(idx, self._read_image(self.frames[idx]))
            return
        try:
            self._decode_to(idx)
        except av.error.FFmpegError as exc:
            self._close_decoder()
            raise FrameUnreadable(f"cannot decode {self.source.path}: {exc}") from exc
        if idx not in self._kept:
            self._close_decoder()
            raise FrameUnreadable(f"frame {idx} of {self.source.path} could not be decoded")

    def _decode_to(self, idx: int) -> None:
        if self._decoded is None or not self._position < idx <= self._position + \
                DECODE_ON_WITHIN:
            self._open_at(self.frames[idx])
        assert self._decoded is not None
        for position, frame in self._decoded:
            self._position = position
            if abs(position - self._centre) <= self.capacity // 2 or position == idx:
                self._keep(position, self._shown(frame))
            if position >= idx:
                return

    def _open_at(self, wanted: FrameRow) -> None:
        """Position the decoder on the keyframe at or before `wanted` (the start when its
        pts is unknown)."""
        import av

        self._close_decoder()
        container = av.open(self.source.path)
        self._container = container
        stream = container.streams.video[0]
        if reason := too_large(stream.codec_context.width, stream.codec_context.height,
                               self.max_pixels):
            raise FrameUnreadable(f"{reason}: {self.source.path}")
        stream.thread_type = "AUTO"
        if wanted.pts is not None and self._by_pts:
            container.seek(wanted.pts, stream=stream, backward=True, any_frame=False)
            self._decoded = ((self._by_pts[f.pts], f) for f in container.decode(stream)
                             if f.pts in self._by_pts)
        else:
            self._decoded = enumerate(container.decode(stream))

    def _close_decoder(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._decoded, self._position = None, None, -1

    def _shown(self, frame: av.VideoFrame) -> ShownFrame:
        """The decoded frame scaled (by libswscale, with the colour conversion) and upright."""
        width, height = frame.width, frame.height
        scale = min(1.0, self.max_side / max(width, height))
        image = frame.to_ndarray(format="rgb24", width=max(1, round(width * scale)),
                                 height=max(1, round(height * scale)))
        turns = (self.source.rotation // 90) % 4
        size = (height, width) if turns % 2 else (width, height)
        return ShownFrame(np.ascontiguousarray(np.rot90(image, turns)), scale, size)

    def _read_image(self, ref: FrameRow) -> ShownFrame:
        from PIL import Image, ImageOps

        folder = Path(self.source.path) if self.source.kind == "folder" else \
            Path(self.source.path).parent
        try:
            path = folder / relative_name(ref.path, where=f"frame {ref.idx}") if ref.path \
                else Path(self.source.path)
            with warnings.catch_warnings():   # the project's own limit is checked instead
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    if reason := too_large(image.width, image.height, self.max_pixels):
                        raise FrameUnreadable(f"{reason}: {path}")
                    upright = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, UnsafePathError, Image.DecompressionBombError) as exc:
            raise FrameUnreadable(f"cannot read frame {ref.idx}: {exc}") from exc
        size = upright.size
        scale = min(1.0, self.max_side / max(size))
        if scale < 1.0:
            upright = upright.resize((max(1, round(size[0] * scale)),
                                      max(1, round(size[1] * scale))), Image.BILINEAR)
        return ShownFrame(np.asarray(upright), scale, size)

    def _keep(self, idx: int, shown: ShownFrame) -> None:
        """Keep the frame; the others farthest from the frame shown make room for it."""
        self._kept[idx] = shown
        while len(self._kept) > self.capacity:
            farthest = max((i for i in self._kept if i != idx),
                           key=lambda i: abs(i - self._centre))
            del self._kept[farthest]
