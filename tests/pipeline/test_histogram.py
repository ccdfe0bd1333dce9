"""The histogram job on a real store: faceswap's hist sort as an order of the face grid."""
from __future__ import annotations

import numpy as np
import pytest

import pipeline.context
from pipeline.curate import histogram as histogram_job
from pipeline.worker import Worker, WorkerOptions
from store import faces, histograms, jobs
from store.views import face_query
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.seeded_faces import (people, run_cluster, seed_families, seed_thumbed_faces,
                                         thumbnail)
from tui.cli.main import main as swapdeck


def run_histogram(project: Project) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "histogram", {})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def runs(values: list) -> list:
    """The values with repeats next to each other collapsed: [1, 1, 2, 1] -> [1, 2, 1]."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def ranks(project: Project) -> dict[int, int | None]:
    with project.connection() as conn:
        return dict(conn.execute("SELECT id, hist_rank FROM faces").fetchall())


def test_every_kept_face_is_ranked_and_colour_families_sit_together(project: Project) -> None:
    family = seed_families(project, rejected={5})
    rejected_id = sorted(family)[5]
    assert run_cluster(project).status == JobStatus.DONE
    job = run_histogram(project)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["faces"] == 23 and job.result["groups"] == 2
    assert job.result["computed"] == 23 and job.result["reused"] == 0
    placed = ranks(project)
    assert placed.pop(rejected_id) is None
    assert sorted(placed.values()) == list(range(23))
    with project.connection() as conn:
        assert face_query.histogram_ranked(conn)
        assert conn.execute("SELECT COUNT(*) FROM face_histograms WHERE face_id = ?",
                            (rejected_id,)).fetchone()[0] == 0
        listed = face_query.list_faces(conn, sort="histogram", filters=("kept",))
    clusters = [f.cluster_id for f in listed]
    assert len(runs(clusters)) == 2  # cluster by cluster
    for cluster_id in set(clusters):
        chain = [f.id for f in listed if f.cluster_id == cluster_id]
        assert chain[0] == min(chain)  # faceswap's chain starts at the first face
        assert sorted(runs([family[f] for f in chain])) == [0, 1, 2]  # each family contiguous


def test_a_rerun_reuses_stored_histograms_and_new_faces_come_last(project: Project) -> None:
    seed_families(project)
    run_cluster(project)
    first = run_histogram(project)
    assert first.result["computed"] == 24
    placed = ranks(project)
    again = run_histogram(project)
    assert again.status == JobStatus.DONE
    assert again.result["computed"] == 0 and again.result["reused"] == 24
    assert ranks(project) == placed and sorted(placed.values()) == list(range(24))
    new = seed_families(project, 1, 6, seed=9, path="/made/later.mp4")  # in no cluster yet
    with project.connection() as conn:
        assert not face_query.histogram_ranked(conn)
        assert [f.id for f in face_query.list_faces(conn, sort="histogram")][-6:] == sorted(new)
    third = run_histogram(project)
    assert third.result["computed"] == 6 and third.result["reused"] == 24
    assert third.result["groups"] == 3
    placed = ranks(project)
    assert sorted(placed.values()) == list(range(30))
    assert sorted(placed[f] for f in new) == list(range(24, 30))  # the unclustered group last


def test_a_cancelled_job_keeps_whole_batches_and_the_next_run_goes_on(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    family = seed_families(project)
    monkeypatch.setattr(histogram_job, "BATCH", 5)
    monkeypatch.setattr(pipeline.context, "CANCEL_POLL_INTERVAL_S", 0.0)
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "histogram", {})
    save = histograms.save_histograms

    def save_then_cancel(conn, face_ids, bins):
        stored = save(conn, face_ids, bins)
        jobs.request_cancel(conn, job_id)  # someone presses cancel during the first batch
        return stored

    monkeypatch.setattr(histograms, "save_histograms", save_then_cancel)
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        assert jobs.get(conn, job_id).status == JobStatus.CANCELLED
        stored = conn.execute("SELECT face_id, bins FROM face_histograms ORDER BY face_id").fetchall()
        assert [r[0] for r in stored] == sorted(family)[:5]
        for face_id, blob in stored:
            bins = faces.from_blob(blob, (-1,))
            assert bins.shape == (histogram_job.CHANNELS * histogram_job.BINS,)
            assert abs(float(bins.sum()) - 1) < 1e-4
        assert not face_query.histogram_ranked(conn)
    assert set(ranks(project).values()) == {None}
    monkeypatch.setattr(histograms, "save_histograms", save)
    job = run_histogram(project)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["computed"] == 19 and job.result["reused"] == 5
    assert sorted(ranks(project).values()) == list(range(24))


def test_an_unreadable_thumbnail_is_ranked_last_in_its_group(project: Project) -> None:
    rng = np.random.default_rng(3)
    vectors, _ = people(1, 5, seed=3)
    thumbs = [thumbnail(0, rng) for _ in range(4)] + [b"not a jpeg"]
    face_ids = seed_thumbed_faces(project, vectors, thumbs)
    job = run_histogram(project)
    assert job.status == JobStatus.DONE and job.result["unreadable"] == 1
    assert "1 unreadable" in job.result["message"]
    assert ranks(project)[face_ids[-1]] == 4


def test_an_empty_project_fails_clearly(project: Project) -> None:
    job = run_histogram(project)
    assert job.status == JobStatus.FAILED
    assert "no faces to sort by histogram: extract some sources first" in job.error


def test_cli_queues_the_job_and_hints_when_ranks_are_missing(project: Project, capsys) -> None:
    seed_families(project, 1, 6)
    root = str(project.root)
    assert swapdeck(["faces", root, "list", "--sort", "histogram"]) == 0
    assert f"run swapdeck faces {root} histogram" in capsys.readouterr().err
    assert swapdeck(["faces", root, "histogram", "--no-worker"]) == 0
    assert "queued histogram job" in capsys.readouterr().out
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        assert [j.status for j in jobs.list_jobs(conn)] == [JobStatus.DONE]
    capsys.readouterr()  # the worker's log
    assert swapdeck(["faces", root, "list", "--sort", "histogram"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("face ") == 6


def families_of_histograms(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random histograms in three well-apart families, mixed in order."""
    rng = np.random.default_rng(seed)
    family = rng.integers(0, 3, count)
    width = histogram_job.CHANNELS * histogram_job.BINS
    peaks = np.zeros((3, width))
    for f in range(3):
        peaks[f, f * 30:f * 30 + 10] = 1
    bins = peaks[family] * 5 + rng.random((count, width))
    return (bins / bins.sum(axis=1, keepdims=True)).astype(np.float32), family


def test_the_exact_chain_is_faceswaps_greedy_walk() -> None:
    bins, _ = families_of_histograms(40, seed=1)
    order = histogram_job.chain(bins)
    hellinger = lambda a, b: np.sqrt(max(0.0, 1 - np.sqrt(a * b).sum()))  # noqa: E731
    left, walk = list(range(1, 40)), [0]
    while left:  # faceswap's loop, written out
        nearest = min(left, key=lambda j: (hellinger(bins[walk[-1]], bins[j]), j))
        walk.append(nearest)
        left.remove(nearest)
    assert order.tolist() == walk


def test_big_groups_are_split_and_still_chain_families_together(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(histogram_job, "EXACT_LIMIT", 60)
    monkeypatch.setattr(histogram_job, "SUBGROUP", 25)
    bins, family = families_of_histograms(600)
    order = histogram_job.chain(bins, start=7)
    assert sorted(order.tolist()) == list(range(600)) and order[0] == 7
    assert len(runs(family[order].tolist())) == 3
    same = np.repeat(bins[:1], 200, axis=0)  # all alike: k-means cannot split them
    assert sorted(histogram_job.chain(same).tolist()) == list(range(200))
