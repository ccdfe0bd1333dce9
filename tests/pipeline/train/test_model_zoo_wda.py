"""The registry-wide acceptance run: every model of the zoo trains 50 iterations on the faces
of the two WDA clips, on the CPU, with its default options, without a NaN, and writes a
preview. Slow (minutes per model on a CPU): `pytest -m slow -k zoo`.

The batch is 2 faces a side (a run setting, not a model option) so the zoo fits in an hour
of a 2-core CPU; benchmarks/model_zoo.py runs the same check and prints each model's
parameters, examples/s and swap metrics.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.train.job import new_session
from pipeline.train.models import config_class, model_names
from pipeline.worker import Worker, WorkerOptions
from store import identities, jobs, sessions
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import Project, create_project
from tests.paths import real_media

# the largest models take about 10 minutes each here, more than the default 300 s limit
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ITERATIONS = 50
CLIPS = (("videos/WDA_AlexandriaOcasioCortez_000.mp4", "Alexandria", "A"),
         ("videos/WDA_KatieHill_000.mp4", "Katie", "B"))
ZOO = [name for name in model_names()
       if config_class(name).__module__.startswith("pipeline.")]


def drain(project: Project, kind: str, params: list[dict]) -> list[jobs.Job]:
    with project.connection() as conn:
        job_ids = jobs.enqueue_many(conn, kind, params)
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        done = [jobs.get(conn, job_id) for job_id in job_ids]
    assert all(job.status == JobStatus.DONE for job in done), [job.error for job in done]
    return done


@pytest.fixture(scope="module")
def wda(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Both WDA clips, every second frame extracted with dlib, clustered, named, sided."""
    clips = [real_media(path) for path, _, _ in CLIPS]
    project = create_project(tmp_path_factory.mktemp("zoo") / "wda")
    added = drain(project, "ingest", [{"path": str(clip), "label": ""} for clip in clips])
    source_ids = [job.result["source_id"] for job in added]
    settings = ExtractSettings(detector="dlib-hog", aligner="dlib", every_n=2)
    drain(project, "extract", [{"source_id": source_id, "settings": settings.to_json()}
                               for source_id in source_ids])
    drain(project, "cluster", [{"source_ids": [], "method": "average",
                                "threshold": identities.DEFAULT_THRESHOLD}])
    with project.connection() as conn:
        for source_id, (_, name, side) in zip(source_ids, CLIPS):
            cluster_id = identities.largest_cluster_of_source(conn, source_id)
            identities.name_cluster(conn, cluster_id, name)
            identities.set_side(conn, name, side)
    return project


def test_the_zoo_is_every_model_the_issue_names() -> None:
    assert set(ZOO) == {"original", "lightweight", "iae", "dfaker", "dfl-h128", "dfl-sae",
                        "villain", "realface", "unbalanced", "dlight", "phaze-a"}


@pytest.mark.parametrize("model", ZOO)
def test_each_model_trains_on_the_wda_faces_without_nan_and_writes_a_preview(
        wda: Project, model: str, tmp_path: Path) -> None:
    with wda.connection() as conn:
        session = new_session(conn, f"zoo-{model}", model, {}, seed=3, settings={
            "batch_size": 2, "iterations": ITERATIONS, "save_every": ITERATIONS,
            "backups": 0})
    [job] = drain(wda, "train", [{"session_id": session.id}])
    assert job.result["iteration"] == ITERATIONS and job.result["rollbacks"] == 0
    with wda.connection() as conn:
        losses = sessions.losses(conn, session.id)
        assert sessions.preview_iterations(conn, session.id) == [ITERATIONS]
        [save] = sessions.checkpoints(conn, session.id, "save")
    assert [i for i, _, _ in losses] == list(range(1, ITERATIONS + 1))
    assert all(math.isfinite(a) and math.isfinite(b) for _, a, b in losses)
    assert (wda.models / str(session.id) / save.path).stat().st_size > 0
