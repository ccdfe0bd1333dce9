"""Made-up faces of known people and colour families on a real store, and the cluster job run."""
from __future__ import annotations

import cv2
import numpy as np
from skimage.data import astronaut

from pipeline.worker import Worker, WorkerOptions
from store import faces, jobs, sources
from store.faces import DESCRIPTOR_MODEL, EncodedImage, NewFace
from store.project import Project
from store.sources import FrameRow, MediaFacts

def people(count: int, faces_each: int, spread: float = 0.008, seed: int = 0):
    """Descriptors of `count` people about 0.85 apart (dlib's different-person distance)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, 128))
    centres *= 0.6 / np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(count), faces_each)
    vectors = centres[truth] + rng.normal(scale=spread, size=(len(truth), 128))
    return vectors.astype(np.float32), truth


def seed_faces(project: Project, vectors: np.ndarray) -> list[int]:
    """One face per frame of a made-up source, with these descriptors."""
    blank = EncodedImage("jpeg", b"\xff\xd8\xff\xd9")
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, "/made/up.mp4", "", "video", 1, 1, None)
        sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in range(len(vectors))])
        sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 8, 8, 25.0, False,
                                                            len(vectors), 1.0, 0, "h264",
                                                            False, None))
        faces.start_extraction(conn, source_id, {}, len(vectors), 0)
        frame_ids = [r[0] for r in conn.execute("SELECT id FROM frames ORDER BY idx")]
        new = [NewFace(frame_id, 0, (0, 0, 8, 8), 1.0, np.zeros((68, 2)), np.zeros((2, 3)), 1.0,
                       0, 0, 0, 0.5, None, None, blank, 8, blank, {}, 8,
                       {DESCRIPTOR_MODEL: vector})
               for frame_id, vector in zip(frame_ids, vectors)]
        faces.save_frames(conn, source_id, frame_ids, new)
        return [f.id for f in faces.list_faces(conn)]


def run_cluster(project: Project, **params) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "cluster", params)
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)


# Colour casts (B, G, R gains): faces of one family look alike in colour, unlike the others.
FAMILIES = ((0.45, 0.55, 1.35), (0.55, 1.3, 0.5), (1.4, 0.75, 0.45))


def thumbnail(family: int, rng: np.random.Generator) -> bytes:
    """A 96 px JPEG: a jittered crop around the astronaut's face, in a family's colour cast."""
    image = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)
    side = int(rng.integers(170, 230))
    top, left = int(rng.integers(10, 50)), int(rng.integers(140, 200))
    crop = cv2.resize(image[top:top + side, left:left + side], (96, 96),
                      interpolation=cv2.INTER_AREA)
    tinted = np.clip(crop * np.array(FAMILIES[family]), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", tinted, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return jpeg.tobytes()


def seed_thumbed_faces(project: Project, vectors: np.ndarray, thumbs: list[bytes], *,
                       path: str = "/made/up.mp4", rejected: set[int] = frozenset()) -> list[int]:
    """One face per frame of a made-up source, with these descriptors and thumbnails;
    faces at the `rejected` positions were rejected at extraction."""
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, path, "", "video", 1, 1, None)
        sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in range(len(vectors))])
        sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 8, 8, 25.0, False,
                                                            len(vectors), 1.0, 0, "h264",
                                                            False, None))
        faces.start_extraction(conn, source_id, {}, len(vectors), 0)
        frame_ids = [r[0] for r in conn.execute(
            "SELECT id FROM frames WHERE source_id = ? ORDER BY idx", (source_id,))]
        new = [NewFace(frame_id, 0, (0, 0, 8, 8), 1.0, np.zeros((68, 2)), np.zeros((2, 3)), 1.0,
                       0, 0, 0, 0.5, "too small" if i in rejected else None, None,
                       EncodedImage("jpeg", thumb), 8, EncodedImage("jpeg", thumb), {}, 8,
                       {DESCRIPTOR_MODEL: vector})
               for i, (frame_id, vector, thumb) in enumerate(zip(frame_ids, vectors, thumbs))]
        faces.save_frames(conn, source_id, frame_ids, new)
        return [f.id for f in faces.list_faces(conn, source_id)]


def seed_families(project: Project, people_count: int = 2, faces_each: int = 12, *,
                  seed: int = 0, path: str = "/made/up.mp4",
                  rejected: set[int] = frozenset()) -> dict[int, int]:
    """Faces of a few people, each person's faces in three colour families taken in turn
    (so id order mixes the families); returns face id -> family."""
    vectors, _ = people(people_count, faces_each, seed=seed)
    rng = np.random.default_rng(seed)
    family = [i % len(FAMILIES) for i in range(len(vectors))]
    face_ids = seed_thumbed_faces(project, vectors, [thumbnail(f, rng) for f in family],
                                  path=path, rejected=rejected)
    return dict(zip(face_ids, family))
