"""Which face of each frame is swapped, and where it sits.

A face is the chosen person's when it was named so on the Faces screen; a face nobody named
(say, one extracted by the convert job itself) is theirs when its descriptor is nearer to
their faces' centre than to anyone else's, within the usual dlib distance. Rejected faces
(bad landmarks, too small, filtered out as someone else) are never swapped.

Smoothing averages each face's landmarks with those of the same face in the neighbouring
frames (the nearest face of the person in each, when it is close), so the swapped face does
not jitter with the landmark detector's noise.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from pipeline.extract.alignment import align_to_mean_face
from store.identities import nearest_people
from store.views.convert_faces import FrameFace

TRACK_JUMP = 0.5             # a face moved further than this share of its size is another one


@dataclass(frozen=True)
class Target:
    face_id: int
    landmarks: np.ndarray   # 68 x 2, frame pixels (smoothed)
    matrix: np.ndarray      # 2 x 3, frame pixels -> template units
    face: FrameFace         # the face as stored (its own landmarks, matrix, track)


def is_person(face: FrameFace, person_id: int, centres: dict[int, np.ndarray]) -> bool:
    if face.rejected is not None:
        return False
    if face.identity_id is not None:
        return face.identity_id == person_id
    if face.descriptor is None:
        return False
    return nearest_people(face.descriptor[None, :], centres)[0] == person_id


def targets(faces: list[FrameFace], person_id: int, centres: dict[int, np.ndarray],
            smoothing: int) -> dict[int, list[Target]]:
    """The faces to swap, by frame index."""
    chosen: dict[int, list[FrameFace]] = defaultdict(list)
    for face in faces:
        if is_person(face, person_id, centres):
            chosen[face.frame_idx].append(face)
    half = smoothing // 2
    found: dict[int, list[Target]] = {}
    for index, frame_faces in chosen.items():
        found[index] = []
        for face in frame_faces:
            points = (_smoothed(face, chosen, half) if half > 0
                      else face.landmarks.astype(np.float64))
            found[index].append(Target(face.face_id, points, align_to_mean_face(points), face))
    return found


def _smoothed(face: FrameFace, chosen: dict[int, list[FrameFace]], half: int) -> np.ndarray:
    centre = face.landmarks.mean(axis=0)
    size = np.ptp(face.landmarks, axis=0).max()
    window = []
    for index in range(face.frame_idx - half, face.frame_idx + half + 1):
        candidates = chosen.get(index, [])
        if not candidates:
            continue
        nearest = min(candidates,
                      key=lambda other: np.linalg.norm(other.landmarks.mean(axis=0) - centre))
        if np.linalg.norm(nearest.landmarks.mean(axis=0) - centre) <= TRACK_JUMP * size:
            window.append(nearest.landmarks)
    return np.mean(window, axis=0)
