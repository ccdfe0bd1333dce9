"""Each swapped face's mask over its aligned crop, averaged with the same face's masks in the
neighbouring frames of its track, so that the mask's edge holds still.

The masks are compared where the faces' landmarks put them: a stored mask lies over its face's
aligned crop, cut through that face's alignment matrix, so taking a neighbour's mask into this
face's crop through the two faces' matrices (its crop -> template units -> this crop) maps
template units onto themselves: the masks are averaged pixel for pixel in crop coordinates,
resized where their sizes differ. The average follows the head's motion rather than blurring
it: a mask that only moves with the face comes back as it was, and one that jumps in a single
frame is pulled back towards its neighbours.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np

from pipeline.convert.masks import (FACE_MASK_KINDS, LANDMARK_MASKS, decode_mask,
                                    smoothing_window)
from pipeline.convert.settings import MaskSettings
from pipeline.extract.masks import MASK_SIZE, landmark_mask
from store.views.convert_faces import FrameFace, face_masks

# Each face's mask over its aligned crop (float32 in [0, 1]), by face id, for the faces
# that have one.
Reader = Callable[[list[FrameFace]], dict[int, np.ndarray]]


def smooth_mask(mask: np.ndarray, neighbours: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of `mask` and its neighbours' masks (each over its own face's aligned crop,
    so already where the landmarks put the face); float32 in [0, 1], `mask`'s size."""
    size = mask.shape[0]
    total = np.array(mask, np.float32)
    for other in neighbours:
        if other.shape != mask.shape:
            other = cv2.resize(other, (size, size), interpolation=cv2.INTER_LINEAR)
        total += other
    return np.clip(total / (1 + len(neighbours)), 0, 1)


class TrackMasks:
    """One kind of mask for the faces of a conversion, each averaged over the `half` frames
    either side of it in its track (an untracked face keeps its own). Masks are read as the
    frames come, in order, and forgotten once behind the window."""

    def __init__(self, half: int, faces: Iterable[FrameFace], read: Reader) -> None:
        self.half, self.read = half, read
        self.tracks: dict[int, dict[int, FrameFace]] = defaultdict(dict)
        for face in faces:
            if face.track_id is not None:
                self.tracks[face.track_id].setdefault(face.frame_idx, face)
        self.cache: dict[int, tuple[int, np.ndarray | None]] = {}
        self.missing: set[int] = set()     # faces without this mask

    def crop_mask(self, face: FrameFace) -> np.ndarray | None:
        """The face's mask over its crop, averaged over its window; None when it has none."""
        window = self._window(face)
        unread = [other for other in window if other.face_id not in self.cache]
        if unread:
            found = self.read(unread)
            self.cache.update({other.face_id: (other.frame_idx, found.get(other.face_id))
                               for other in unread})
        own = self.cache[face.face_id][1]
        neighbours = [mask for other in window[1:]
                      if (mask := self.cache[other.face_id][1]) is not None]
        self._forget(face.frame_idx - self.half)
        if own is None:
            self.missing.add(face.face_id)
            return None
        return smooth_mask(own, neighbours) if neighbours else own

    def _window(self, face: FrameFace) -> list[FrameFace]:
        """The face, then its track's faces within `half` frames of it."""
        track = self.tracks.get(face.track_id) if face.track_id is not None else None
        if not self.half or not track:
            return [face]
        return [face] + [track[index] for index in range(face.frame_idx - self.half,
                                                         face.frame_idx + self.half + 1)
                         if index != face.frame_idx and index in track]

    def _forget(self, before: int) -> None:
        for face_id in [key for key, (frame, _) in self.cache.items() if frame < before]:
            del self.cache[face_id]


def chosen_masks(settings: MaskSettings, learns_mask: bool) -> tuple[str, ...]:
    """The mask kinds intersected: the mask (auto: learned when the model learned one, else
    extended), then mask_and when it is another."""
    first = (settings.mask if settings.mask != "auto" else
             "learned" if learns_mask else "extended")
    second = settings.mask_and
    return (first,) if second in (None, first) else (first, second)


def mask_reader(conn: sqlite3.Connection, kind: str) -> Reader:
    """Stored masks of `kind` from the store; a landmark mask drawn from each face's points."""
    if kind in LANDMARK_MASKS:
        return lambda faces: {face.face_id: landmark_mask(face.landmarks, face.matrix, kind,
                                                          MASK_SIZE).astype(np.float32) / 255
                              for face in faces}
    return lambda faces: {face_id: decode_mask(data) for face_id, data in
                          face_masks(conn, [face.face_id for face in faces], kind).items()}


def track_masks(conn: sqlite3.Connection, settings: MaskSettings, learns_mask: bool,
                faces: Sequence[FrameFace]) -> dict[str, TrackMasks]:
    """The masks a conversion reads per face, by kind: the stored ones, and the landmark
    ones when they are averaged over frames (otherwise they are drawn in the model's face
    from the smoothed landmarks)."""
    found = {}
    for kind in chosen_masks(settings, learns_mask):
        half = smoothing_window(kind, settings.mask_smoothing) // 2
        if kind not in FACE_MASK_KINDS or half:
            found[kind] = TrackMasks(half, faces, mask_reader(conn, kind))
    return found
