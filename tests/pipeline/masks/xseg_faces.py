"""Labelled faces for the occlusion mask's tests: the astronaut person of the training tests
(tests/pipeline/train/people.py), some faces labelled as a user would label a hand over the
lower right of the face: the components mask with an exclude polygon over it."""
from __future__ import annotations

from typing import Any

from pipeline.worker import Worker, WorkerOptions
from store import faces, jobs, mask_labels, mask_models
from store.mask_labels import Polygon
from store.requests.mask_train import MaskNetwork, MaskTrainSettings, train_request
from store.project import Project
from tests.pipeline.train.people import seed_person

LABEL_SIZE = 256
HAND = Polygon("exclude", ((128.0, 150.0), (250.0, 140.5), (256.0, 256.0), (120.0, 256.0)))
TINY = MaskNetwork(resolution=64, channels=8)
TINY_SHAPE = {"resolution": 64, "channels": 8}


def seed_labelled(project: Project, count: int = 8, labelled: int = 4,
                  rejected: frozenset[int] = frozenset()) -> tuple[list[int], list[int]]:
    """`count` faces of one person, the first `labelled` labelled; (face ids, labelled ids)."""
    face_ids = seed_person(project, "Ann", count, rejected=set(rejected))
    chosen = face_ids[:labelled]
    with project.connection() as conn:
        for face_id in chosen:
            base = faces.face_mask(conn, face_id, "components").data
            mask_labels.save_label(conn, face_id, LABEL_SIZE, [HAND], base)
    return face_ids, chosen


def train_params(project: Project, name: str = "occlusion", network: MaskNetwork = TINY,
                 **settings: Any) -> dict[str, Any]:
    """A checked train request of a tiny model (2 faces a batch unless told)."""
    with project.connection() as conn:
        return train_request(
            conn, project.root, name, MaskTrainSettings(**{"batch_size": 2, **settings}),
            network if mask_models.by_name(conn, name) is None else None)


def drain(project: Project, kind: str, params: dict[str, Any]) -> jobs.Job:
    """Queue one job and run an in-process worker until the queue is empty."""
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, kind, params)
    return run_queued(project, job_id)


def run_queued(project: Project, job_id: int) -> jobs.Job:
    """Run an in-process worker until the queue is empty; job `job_id` then."""
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)
