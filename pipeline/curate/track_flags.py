"""Which tracks are probably not faces.

The frontal HOG detector fires on shirt crests, fur, knees, lens flares and textured walls.
Two signs give such a track away:

- **the face check**: a CNN face detector (dlib's MMOD) looks at the track's aligned crops,
  where a real face fills the middle at a known size. On the test clips it found every
  long real track (confidence about 1) and none of the false ones; it misses some short,
  half-hidden real faces, which are then flagged for review, not deleted;
- **no life**: a long track whose box does not move and whose landmarks do not change shape
  (after removing position, scale and rotation) is a picture or a pattern, not a person.
  Real faces on the test clips, held still, changed shape by 0.006 template units or more.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from pipeline.extract.alignment import transform_points
from store.tracks import TrackedFace

NO_FACE = "probably not a face: the face check saw none in its crops"
NO_LIFE = "probably not a face: it neither moves nor changes shape"
# The face check looks at this many crops per track (first, middle, last ...) ...
CHECKED_PER_TRACK = 3
# ... each scaled to this side (the face spans about half of it, above the CNN's 80 px
# window); a crop passes at this detector confidence.
CHECK_SIDE = 256
FACE_CONFIDENCE = 0.0
STILL_MIN_FACES = 10
STILL_MOTION = 0.003      # box centre shift per face, as a share of the box side
STILL_SHAPE = 0.003       # landmark spread over the track, in mean-face template units

# Crops (RGB, CHECK_SIDE square) -> the best face confidence in each (-inf: none).
FaceCheck = Callable[[Sequence[np.ndarray]], list[float]]
# Face id -> its aligned crop (RGB).
CropReader = Callable[[int], np.ndarray]


def flag_all(tracks: Sequence[Sequence[TrackedFace]], check: FaceCheck,
             crop_of: CropReader) -> list[str | None]:
    """Each track's flag (None: looks like a face)."""
    sampled = [_sample(track) for track in tracks]
    crops = [_check_size(crop_of(face.id)) for faces in sampled for face in faces]
    confidences = iter(check(crops) if crops else [])
    flags = []
    for track, faces in zip(tracks, sampled):
        passed = sum(next(confidences) >= FACE_CONFIDENCE for _ in faces)
        if 2 * passed < len(faces):
            flags.append(NO_FACE)
        elif _lifeless(track):
            flags.append(NO_LIFE)
        else:
            flags.append(None)
    return flags


def _sample(track: Sequence[TrackedFace]) -> list[TrackedFace]:
    if len(track) <= CHECKED_PER_TRACK:
        return list(track)
    picks = np.linspace(0, len(track) - 1, CHECKED_PER_TRACK).round().astype(int)
    return [track[i] for i in picks]


def _check_size(crop: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.resize(crop, (CHECK_SIDE, CHECK_SIDE),
                                           interpolation=cv2.INTER_AREA))


def _lifeless(track: Sequence[TrackedFace]) -> bool:
    if len(track) < STILL_MIN_FACES:
        return False
    boxes = np.array([face.box for face in track], np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    side = float(np.mean(boxes[:, 2] - boxes[:, 0])) or 1.0
    motion = np.linalg.norm(np.diff(centres, axis=0), axis=1).mean() / side
    shapes = np.array([transform_points(face.matrix, face.landmarks) for face in track])
    return bool(motion < STILL_MOTION and shapes.std(axis=0).mean() < STILL_SHAPE)
