"""The conversion's three stages, overlapped: frames are decoded on one thread, swapped in
batches on this one, and marked and encoded on another.

The model runs on batches of faces gathered from consecutive frames; frames leave in their
order. Queues between the stages are bounded, so memory stays flat however long the video.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pipeline.convert.alignments import Target
from pipeline.convert.compose import Composer

ENCODE_QUEUE = 32
_DONE = object()


@dataclass
class SourceFrame:
    index: int
    pts: int | None
    image: np.ndarray


@dataclass
class Counts:
    frames: int = 0     # written
    swapped: int = 0    # frames with at least one face swapped
    faces: int = 0


Sink = Callable[[np.ndarray, int | None], None]


class _Encoder:
    """Runs `sink` on its own thread, in order; its first error is raised on this one."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.queue: queue.Queue = queue.Queue(maxsize=ENCODE_QUEUE)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not _DONE:
            if self.error is None:
                try:
                    self.sink(*item)
                except BaseException as exc:  # noqa: BLE001 - raised on the job's thread
                    self.error = exc

    def put(self, image: np.ndarray, pts: int | None) -> None:
        self._raise()
        self.queue.put((image, pts))

    def close(self) -> None:
        self.queue.put(_DONE)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def convert(frames: Iterable[SourceFrame], chosen: Callable[[int], list[Target]],
            composer: Composer, batch_size: int, keep_unchanged: bool, sink: Sink,
            on_frame: Callable[[Counts], None]) -> Counts:
    """Swap the `chosen` faces of each frame and hand the frames, in order, to `sink`.

    Frames without a face to swap go through as they are (or are dropped unless
    `keep_unchanged`). `on_frame` runs after each frame (progress, cancel checks).
    """
    counts = Counts()
    encoder = _Encoder(sink)
    waiting: list[tuple[SourceFrame, list[Target]]] = []
    faces = 0

    def flush() -> None:
        nonlocal faces
        _swap_batch(composer, waiting)
        for frame, found in waiting:
            _emit(encoder, frame, counts, len(found))
            on_frame(counts)
        waiting.clear()
        faces = 0

    try:
        for frame in frames:
            found = chosen(frame.index)
            if not found and not waiting:
                if keep_unchanged:
                    _emit(encoder, frame, counts, 0)
                on_frame(counts)
                continue
            if found or keep_unchanged:
                waiting.append((frame, found))
            faces += len(found)
            if faces >= batch_size:
                flush()
        flush()
    finally:
        encoder.close()
    return counts


def _emit(encoder: _Encoder, frame: SourceFrame, counts: Counts, swapped: int) -> None:
    encoder.put(frame.image, frame.pts)
    counts.frames += 1
    counts.swapped += swapped > 0
    counts.faces += swapped


def _swap_batch(composer: Composer, waiting: list[tuple[SourceFrame, list[Target]]]) -> None:
    jobs = [(frame, target) for frame, found in waiting for target in found]
    if not jobs:
        return
    swapped = composer.swapper.swap([composer.input_face(frame.image, target)
                                     for frame, target in jobs])
    for number, (frame, target) in enumerate(jobs):
        learned = swapped.masks[number] if swapped.masks is not None else None
        composer.apply(frame.image, target, swapped.faces[number], learned)


def swap_one(composer: Composer, image: np.ndarray, found: list[Target]) -> np.ndarray:
    """A copy of `image` with its `found` faces swapped (the preview's frame)."""
    frame = SourceFrame(0, None, image.copy())
    _swap_batch(composer, [(frame, found)])
    return frame.image
