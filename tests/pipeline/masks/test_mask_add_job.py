"""Face-parsing masks on a real extracted project: computed by extraction (`--masks`), and
added afterwards by the `mask-add` job, which resumes after a stop without storing a mask
twice; with clear failures for an unknown kind and for missing weights. The network has
random weights saved as the published ones are (tests/pipeline/masks/bisenet_weights.py)."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.extract import weights
from pipeline.extract.masks import MASK_SIZE
from pipeline.masks import add_job
from pipeline.worker import Worker, WorkerOptions
from store import face_masks, jobs
from store.jobs import JobStatus
from store.project import Project
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract, run_worker
from tests.pipeline.masks.bisenet_weights import forbid_downloads, use_test_weights
from tests.test_cli_alignments import walking
from tests.waiting import wait_until


def mask_rows(project: Project, kind: str) -> list[tuple[int, int, bytes]]:
    with project.connection() as conn:
        return conn.execute("SELECT face_id, size, data FROM masks WHERE kind = ? ORDER BY"
                            " face_id", (kind,)).fetchall()


def kept_ids(project: Project) -> list[int]:
    with project.connection() as conn:
        return [r[0] for r in conn.execute("SELECT id FROM faces WHERE rejected IS NULL"
                                           " ORDER BY id")]


def queue_mask_add(project: Project, **params) -> int:
    with project.connection() as conn:
        return jobs.enqueue(conn, "mask-add", {"source_ids": [], **params})


def finished(project: Project, job_id: int) -> jobs.Job:
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def assert_masks_of_every_kept_face(project: Project, kind: str) -> None:
    rows = mask_rows(project, kind)
    assert [face_id for face_id, _, _ in rows] == kept_ids(project) != []
    for _, size, data in rows:
        mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert size == MASK_SIZE and mask.shape == (MASK_SIZE, MASK_SIZE)


@pytest.fixture
def walked(project: Project, tmp_path: Path) -> Project:
    """A project whose 8-frame video of a walking face is extracted (landmark masks only)."""
    source_id = add(project, write_video(tmp_path / "walk.mp4", 8, pictures=walking))
    assert extract(project, source_id, masks=("components",)).status == JobStatus.DONE
    return project


def test_extraction_stores_the_parsing_masks_asked_for(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_weights(monkeypatch, tmp_path / "torch_home")
    source_id = add(project, write_video(tmp_path / "walk.mp4", 3, pictures=walking))
    job = extract(project, source_id, masks=("components", "bisenet-face"), mask_mouth=False)
    assert job.status == JobStatus.DONE, job.error
    assert_masks_of_every_kept_face(project, "bisenet-face")
    assert len(mask_rows(project, "components")) == len(mask_rows(project, "bisenet-face"))


def test_mask_add_resumes_after_a_stop_and_never_doubles_a_mask(
        walked: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_weights(monkeypatch, tmp_path / "torch_home")
    monkeypatch.setattr(add_job, "BATCH_FACES", 1)   # a stop between every two faces
    kept = kept_ids(walked)
    job_id = queue_mask_add(walked, kind="bisenet-head")
    worker = Worker(walked, WorkerOptions(exit_when_idle=True, watch_inbox=False))
    stopper = threading.Thread(target=lambda: (
        wait_until(lambda: mask_rows(walked, "bisenet-head"), timeout=120,
                   what="the first mask"), worker.stop_event.set()))
    stopper.start()
    worker.run()
    stopper.join()
    stopped_at = len(mask_rows(walked, "bisenet-head"))
    assert 0 < stopped_at < len(kept)
    assert finished(walked, job_id).status == JobStatus.QUEUED   # back in the queue

    run_worker(walked)
    job = finished(walked, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["added"] == len(kept) - stopped_at and job.result["faces"] == len(kept)
    assert_masks_of_every_kept_face(walked, "bisenet-head")
    again = queue_mask_add(walked, kind="bisenet-head")
    run_worker(walked)
    assert "has a bisenet-head mask already" in finished(walked, again).message


def test_mask_add_draws_a_landmark_kind_without_the_network(
        walked: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_downloads(monkeypatch)
    job_id = queue_mask_add(walked, kind="extended", source_ids=[1])
    run_worker(walked)
    assert finished(walked, job_id).status == JobStatus.DONE
    assert_masks_of_every_kept_face(walked, "extended")
    with walked.connection() as conn:
        assert face_masks.kind_counts(conn) == {"components": len(kept_ids(walked)),
                                                "extended": len(kept_ids(walked))}


def test_mask_add_fails_clearly(walked: Project, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no_weights"))
    forbid_downloads(monkeypatch)
    unknown = queue_mask_add(walked, kind="xseg-ish")
    no_source = queue_mask_add(walked, kind="extended", source_ids=[7])
    no_weights = queue_mask_add(walked, kind="bisenet-face")
    run_worker(walked)
    assert "unknown mask kind 'xseg-ish'" in finished(walked, unknown).error
    assert "no source 7" in finished(walked, no_source).error
    error = finished(walked, no_weights).error
    assert "download failed" in error and f"Fetch {weights.BISENET.url} and put" in error
    assert mask_rows(walked, "bisenet-face") == []
