"""Fill a track's short gaps: where the detector missed a face between two of the track's
faces, the aligner places landmarks in the box the track predicts there.

A placed face is kept only when it passes what a detected one must (landmark layout, size)
and its descriptor is still the track's person: a hand or a turn-away frame is left empty.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.curate.tracks import SAME_PERSON
from pipeline.extract.backends import Detection
from pipeline.extract.extractor import FaceExtractor
from store.faces import DESCRIPTOR_MODEL, NewFace
from store.tracks import TrackedFace

# Placed landmarks may lie this far (mean, as a share of the box side) from the points
# interpolated between the two neighbouring faces.
MAX_LANDMARK_DRIFT = 0.25


@dataclass(frozen=True)
class Gap:
    """A frame of a track without a face, and what the track predicts there."""
    track: int                     # index of the track
    frame_id: int
    frame_idx: int
    box: np.ndarray
    landmarks: np.ndarray
    score: float


def find_gaps(track: int, faces: Sequence[TrackedFace], frames: Sequence[int],
              frame_ids: dict[int, int], cuts: set[int], max_gap: int) -> list[Gap]:
    """The processed frames (`frames`, sorted indices) between consecutive faces of a track
    that have none of its faces, when no cut lies between and at most `max_gap` are missing
    in a row; each with the box and landmarks interpolated from its neighbours."""
    position = {idx: n for n, idx in enumerate(frames)}
    gaps = []
    for before, after in zip(faces, faces[1:]):
        missing = frames[position[before.frame_idx] + 1:position[after.frame_idx]]
        if not missing or len(missing) > max_gap or any(
                before.frame_idx < cut <= after.frame_idx for cut in cuts):
            continue
        span = after.frame_idx - before.frame_idx
        for idx in missing:
            t = (idx - before.frame_idx) / span
            gaps.append(Gap(track, frame_ids[idx], idx, (1 - t) * before.box + t * after.box,
                            (1 - t) * before.landmarks + t * after.landmarks,
                            min(before.score, after.score)))
    return gaps


def fill(extractor: FaceExtractor, image: np.ndarray, gaps: Sequence[Gap],
         person: dict[int, np.ndarray]) -> list[tuple[Gap, NewFace]]:
    """Place a face for each gap of one frame; only those that pass come back. `person`:
    each track's mean descriptor."""
    detections = [Detection(tuple(float(v) for v in gap.box), gap.score) for gap in gaps]
    placed = extractor.place(gaps[0].frame_id, image, detections)
    return [(gap, face) for gap, face in zip(gaps, placed)
            if face.rejected is None and _near(gap, face.landmarks)
            and np.linalg.norm(face.descriptors[DESCRIPTOR_MODEL]
                               - person[gap.track]) < SAME_PERSON]


def _near(gap: Gap, points: np.ndarray) -> bool:
    side = max(gap.box[2] - gap.box[0], gap.box[3] - gap.box[1], 1.0)
    drift = np.linalg.norm(points - gap.landmarks, axis=1).mean() / side
    return bool(drift <= MAX_LANDMARK_DRIFT)
