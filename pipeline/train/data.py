"""The training data of a session: the usable faces of the people on sides A and B, cut and
cached, a sampler for each side, fixed preview faces for the timelapse, and held-out A faces
for the swap metrics that training never sees.

Everything is chosen in a stable way from the face ids, so the same store gives the same
data: previews are spread evenly over a side's faces in id order; the held-out faces are
those whose id hashes lowest (so adding faces rarely changes them).
"""
from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pipeline.train.data_settings import DataSettings, TrainingDataError
from pipeline.train.face_cache import FaceCache, Progress, build_cache, find_cache
from pipeline.train.sampler import Sampler, batch_tensors
from store.project import Project
from store.training_faces import (Person, PersonError, TrainingFace, choose_person,
                                  training_faces)

SIDES = ("A", "B")
HELD_OUT_SHARE = 0.05
HELD_OUT_MIN = 8
PREVIEW_FACES = 8


@dataclass(frozen=True, eq=False)
class SideData:
    side: str
    person: Person
    cache: FaceCache
    sampler: Sampler
    preview_ids: tuple[int, ...]
    held_out_ids: tuple[int, ...]

    def faces(self, face_ids: Sequence[int],
              device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Images and masks of chosen faces (previews, held-out faces), as `sample` gives."""
        return batch_tensors(self.cache, self.cache.rows(face_ids), device)


@dataclass(frozen=True, eq=False)
class TrainingData:
    a: SideData
    b: SideData

    def sampler_state(self) -> dict[str, Any]:
        return {"A": self.a.sampler.state(), "B": self.b.sampler.state()}

    def load_sampler_state(self, state: dict[str, Any]) -> bool:
        """Continue both samplers; False if either side's faces changed (it starts afresh)."""
        restored = [self.a.sampler.load_state(state.get("A", {})),
                    self.b.sampler.load_state(state.get("B", {}))]
        return all(restored)


def pick_person(conn: sqlite3.Connection, project: Project, side: str,
                identity_id: int | None = None) -> Person:
    """The person of a side: the given one (a session's), or the one marked for the side."""
    try:
        return choose_person(conn, side, identity_id=identity_id,
                             project_root=str(project.root))
    except PersonError as exc:
        raise TrainingDataError(str(exc)) from None


def usable_faces(conn: sqlite3.Connection, person: Person, side: str,
                 batch_size: int) -> list[TrainingFace]:
    faces = training_faces(conn, person.id)
    if len(faces) < batch_size:
        raise TrainingDataError(
            f"side {side} ({person.name}) has {len(faces)} usable face"
            f"{'' if len(faces) == 1 else 's'}, fewer than the batch size {batch_size}: extract "
            "more of them, take excluded ones back, or lower the batch size")
    return faces


def held_out_ids(face_ids: Sequence[int], batch_size: int) -> tuple[int, ...]:
    """A fixed few percent of the faces (at least HELD_OUT_MIN where that leaves a batch to
    train on), by id."""
    wanted = max(HELD_OUT_MIN, math.ceil(len(face_ids) * HELD_OUT_SHARE))
    count = max(0, min(wanted, len(face_ids) - batch_size))
    ranked = sorted(face_ids, key=lambda face_id: hashlib.sha256(str(face_id).encode()).digest())
    return tuple(sorted(ranked[:count]))


def preview_ids(face_ids: Sequence[int], count: int) -> tuple[int, ...]:
    """`count` faces spread evenly over the faces in id order."""
    ordered = sorted(face_ids)
    spots = np.linspace(0, len(ordered) - 1, min(count, len(ordered))).round().astype(int)
    return tuple(ordered[spot] for spot in spots)


def open_training_data(project: Project, conn: sqlite3.Connection, settings: DataSettings,
                       batch_size: int, *, identity_a: int | None = None,
                       identity_b: int | None = None, previews: int = PREVIEW_FACES,
                       on_progress: Progress | None = None,
                       checkpoint: Callable[[], None] | None = None) -> TrainingData:
    """Pick both sides' faces, open their caches (building what is missing, with
    `on_progress(done, total)` over all faces to decode and `checkpoint()` between batches),
    and set up the samplers. TrainingDataError says what stands in the way."""
    people = {"A": pick_person(conn, project, "A", identity_a),
              "B": pick_person(conn, project, "B", identity_b)}
    if people["A"].id == people["B"].id:
        raise TrainingDataError(f"sides A and B are both {people['A'].name}: a swap needs two "
                                "different people")
    faces = {side: usable_faces(conn, people[side], side, batch_size) for side in SIDES}
    found = {side: find_cache(project.cache, side, faces[side], settings) for side in SIDES}
    total = sum(len(faces[side]) for side in SIDES if found[side] is None)
    caches: dict[str, FaceCache] = {}
    done = 0
    for side in SIDES:
        cache = found[side]
        if cache is None:
            cache = build_cache(project.cache, side, faces[side], settings, conn,
                                on_progress=_offset(on_progress, done, total),
                                checkpoint=checkpoint)
            done += len(faces[side])
        caches[side] = cache
    a, b = (_side(side, people[side], caches[side], batch_size, previews) for side in SIDES)
    return TrainingData(a, b)


def _offset(on_progress: Progress | None, before: int, total: int) -> Progress | None:
    """One side's progress as a part of both sides' progress."""
    if on_progress is None:
        return None
    return lambda done, _: on_progress(before + done, total)


def _side(side: str, person: Person, cache: FaceCache, batch_size: int,
          previews: int) -> SideData:
    held_out = held_out_ids(cache.face_ids, batch_size) if side == "A" else ()
    kept_out = set(held_out)
    training = [face_id for face_id in cache.face_ids if face_id not in kept_out]
    return SideData(side, person, cache, Sampler(cache, cache.rows(training)),
                    preview_ids(training, previews), held_out)
