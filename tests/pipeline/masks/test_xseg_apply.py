"""The mask-apply job: a trained occlusion mask masks every kept face as `xseg-<name>`, in
committed batches that a stopped job resumes after, and again after the model is retrained."""
from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
import pytest

from pipeline.context import JobContext
from pipeline.errors import WorkerStopping
from pipeline.masks import apply_job
from store import faces, jobs
from store.jobs import JobStatus
from store.mask_models import APPLY_KIND, TRAIN_KIND, MaskRequestError
from store.requests.mask_train import apply_request
from store.project import Project
from tests.pipeline.masks.xseg_faces import drain, run_queued, seed_labelled, train_params

pytestmark = pytest.mark.usefixtures("one_thread")
REJECTED = frozenset({2})


@pytest.fixture
def trained(project: Project) -> list[int]:
    """Ten faces (the third rejected at extraction) and a tiny model trained on four: the
    kept faces' ids."""
    face_ids, _ = seed_labelled(project, count=10, labelled=4, rejected=REJECTED)
    assert drain(project, TRAIN_KIND, train_params(project, iterations=2)).status \
        == JobStatus.DONE
    return [face_id for i, face_id in enumerate(face_ids) if i not in REJECTED]


def stored_masks(project: Project, kind: str) -> dict[int, bytes]:
    with project.connection() as conn:
        return {r[0]: r[1] for r in conn.execute(
            "SELECT face_id, data FROM masks WHERE kind = ? ORDER BY face_id", (kind,))}


def test_every_kept_face_gets_a_mask_of_the_models_kind(project: Project,
                                                        trained: list[int]) -> None:
    with project.connection() as conn:
        params = apply_request(conn, None)
    job = drain(project, APPLY_KIND, params)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["message"] == "9 faces masked as xseg-occlusion (9 now)"
    masks = stored_masks(project, "xseg-occlusion")
    assert sorted(masks) == trained
    for data in masks.values():
        mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (256, 256) and mask.dtype == np.uint8
    with project.connection() as conn:
        assert "xseg-occlusion" in faces.mask_kinds(conn, trained[0])
    again = drain(project, APPLY_KIND, params)
    assert again.result["masked_now"] == 0 and stored_masks(project, "xseg-occlusion") == masks


def test_a_stopped_apply_resumes_after_its_committed_batches(
        project: Project, trained: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_job, "BATCH", 4)
    with project.connection() as conn:
        params = apply_request(conn, "occlusion")
        job_id = jobs.enqueue(conn, APPLY_KIND, params)
        stop = threading.Event()
        ctx = JobContext(project, conn, job_id, stop, logging.LoggerAdapter(
            logging.getLogger("test"), {}))
        # the worker is asked to stop as the first batch is committed
        monkeypatch.setattr(ctx, "progress", lambda *args, **kwargs: stop.set())
        with pytest.raises(WorkerStopping):
            apply_job.mask_apply(ctx, params)
    first = stored_masks(project, "xseg-occlusion")
    assert sorted(first) == trained[:4]
    resumed = run_queued(project, job_id)
    assert resumed.result["masked_now"] == 5
    masks = stored_masks(project, "xseg-occlusion")
    assert sorted(masks) == trained and all(masks[i] == first[i] for i in first)


def test_a_retrained_model_masks_every_face_again_and_sources_can_be_chosen(
        project: Project, trained: list[int]) -> None:
    with project.connection() as conn:
        params = apply_request(conn, None, [1])
        with pytest.raises(MaskRequestError, match="no source 7 in this project"):
            apply_request(conn, None, [7])
    assert drain(project, APPLY_KIND, params).result["masked_now"] == 9
    assert drain(project, TRAIN_KIND, train_params(project, iterations=3)).status \
        == JobStatus.DONE
    assert drain(project, APPLY_KIND, params).result["masked_now"] == 9
