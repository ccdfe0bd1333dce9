"""Made-up people of astronaut faces on a real store, and the seeded pair fixtures (Ann, Bob)."""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from pipeline.extract.alignment import align_to_mean_face, aligned_crop, transform_points
from pipeline.extract.dlib_backend import DlibAligner, DlibHogDetector
from pipeline.extract.masks import MASK_KINDS, MASK_SIZE, landmark_mask
from store import faces, identities, sources
from store.faces import EncodedImage, NewFace
from store.project import Project, create_project
from store.sources import FrameRow, MediaFacts

CROP = 256          # the stored crop's side (extraction's smallest)


@functools.cache
def picture() -> np.ndarray:
    return astronaut()


@functools.cache
def astronaut_landmarks() -> np.ndarray:
    """Her 68 landmarks, found by dlib once per test session."""
    image = picture()
    [found] = DlibHogDetector().detect([image])
    face = max(found, key=lambda d: d.score)
    [[points]] = DlibAligner().landmarks([image], [[face]])
    return np.asarray(points, np.float64)


def _encoded(image: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def new_face(frame_id: int, rng: np.random.Generator, rejected: str | None = None) -> NewFace:
    """The astronaut in a frame turned, scaled and moved a little, extracted as extraction
    would: aligned crop, thumbnail and both landmark masks."""
    transform = cv2.getRotationMatrix2D((256, 256), rng.uniform(-8, 8), rng.uniform(0.9, 1.1))
    transform[:, 2] += rng.uniform(-12, 12, 2)
    frame = cv2.warpAffine(picture(), transform, (512, 512))
    landmarks = transform_points(transform, astronaut_landmarks())
    matrix = align_to_mean_face(landmarks)
    crop = _encoded(cv2.cvtColor(aligned_crop(frame, matrix, CROP), cv2.COLOR_RGB2BGR), ".jpg")
    return NewFace(
        frame_id, 0, (0, 0, 8, 8), 1.0, landmarks, matrix, 1.0, 0, 0, 0, 0.2, rejected, None,
        EncodedImage("jpeg", crop), CROP, EncodedImage("jpeg", crop),
        {kind: EncodedImage("png", _encoded(landmark_mask(landmarks, matrix, kind), ".png"))
         for kind in MASK_KINDS}, MASK_SIZE, {})


def seed_person(project: Project, name: str, count: int, side: str | None = None, *,
                rejected: set[int] = frozenset(), seed: int = 0) -> list[int]:
    """`count` faces of a person (one per frame of a made-up video), their ids in order; the
    faces at the `rejected` positions were rejected at extraction."""
    rng = np.random.default_rng(seed)
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, f"/made/{name}.mp4", "", "video", 1, 1, None)
        sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in range(count)])
        sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 8, 8, 25.0, False, count,
                                                            1.0, 0, "h264", False, None))
        faces.start_extraction(conn, source_id, {}, count, 0)
        frame_ids = [r[0] for r in conn.execute(
            "SELECT id FROM frames WHERE source_id = ? ORDER BY idx", (source_id,))]
        faces.save_frames(conn, source_id, frame_ids,
                          [new_face(frame_id, rng, "too small" if i in rejected else None)
                           for i, frame_id in enumerate(frame_ids)])
        face_ids = [f.id for f in faces.list_faces(conn, source_id)]
        identities.move_faces(conn, face_ids, name)
        if side:
            identities.set_side(conn, name, side)
    return face_ids


@pytest.fixture(scope="module")
def seeded_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[int]]]:
    """A store with Ann (side A, 24 faces) and Bob (side B, 10 faces), seeded once."""
    project = create_project(tmp_path_factory.mktemp("pair") / "project")
    ids = {"A": seed_person(project, "Ann", 24, "A"), "B": seed_person(project, "Bob", 10, "B",
                                                                        seed=1)}
    return project.db_path, ids


@pytest.fixture
def pair(project: Project, seeded_pair: tuple[Path, dict[str, list[int]]]
         ) -> dict[str, list[int]]:
    """The project holds a copy of the seeded pair; the face ids of each side."""
    return copy_pair(seeded_pair, project)


def copy_pair(seeded_pair: tuple[Path, dict[str, list[int]]], project: Project
              ) -> dict[str, list[int]]:
    """`project`'s store becomes a copy of the seeded pair's; the face ids of each side."""
    db_path, ids = seeded_pair
    shutil.copyfile(db_path, project.db_path)  # no connection is open: the WAL is merged
    return ids
