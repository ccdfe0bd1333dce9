"""The identity filter on faces already extracted, with real photos of two people."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from store import jobs, review
from store.jobs import JobStatus
from store.project import Project
from tests.cli_subprocess import swapdeck
from tests.paths import real_media
from tests.pipeline.extract_jobs import add, extract, run_worker

KEEP, OTHER = "leonard", "penny"


def photo(who: str, number: int) -> Path:
    return real_media(f"identities/bbt/{who}/{who}{number}.png")


def extract_two_people(project: Project, folder: Path) -> dict[str, int]:
    """A folder source of three photos of each person, extracted."""
    stills = folder / "stills"
    stills.mkdir()
    for who in (KEEP, OTHER):
        for number in (1, 2, 3):
            shutil.copy(photo(who, number), stills)
    source_id = add(project, stills)
    job = extract(project, source_id, size=256)
    assert job.status == JobStatus.DONE and job.result["faces"] == 6, job.error
    return {"source_id": source_id}


@pytest.fixture
def two_people(prebuilt) -> int:
    """The project holds `extract_two_people`'s source (extracted once per run); its id."""
    return prebuilt("two_people", extract_two_people)["source_id"]


def faces_by_photo(project: Project) -> dict[str, tuple]:
    """photo file name -> (rejected, filter_distance) of its one face."""
    with project.connection() as conn:
        rows = conn.execute("SELECT fr.path, f.rejected, f.filter_distance FROM faces f"
                            " JOIN frames fr ON fr.id = f.frame_id").fetchall()
    return {Path(r["path"]).name: (r["rejected"], r["filter_distance"]) for r in rows}


def face_rows(project: Project) -> list[tuple]:
    with project.connection() as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM faces ORDER BY id")]


def run_filter(project: Project, **params) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "identity-filter", params)
    run_worker(project)
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def test_filter_rejects_the_other_person_and_undo_brings_them_back(
    project: Project, two_people: int, tmp_path: Path
) -> None:
    before = face_rows(project)
    blank = tmp_path / "wall.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    with project.connection() as conn:  # three bad requests, then a good one: one worker run
        bad = [jobs.enqueue(conn, "identity-filter", params) for params in (
            {"filter": [str(tmp_path / "nobody.png")]},
            {"filter": [str(blank)]},
            {"filter": [str(photo(KEEP, 4))], "source_ids": [two_people + 1]})]
        good = jobs.enqueue(conn, "identity-filter", {"filter": [str(photo(KEEP, 4))],
                                                      "source_ids": [two_people]})
    run_worker(project)
    with project.connection() as conn:
        errors = [jobs.get(conn, job_id).error for job_id in bad]
        job = jobs.get(conn, good)
    assert errors == [f"no such reference photo: {tmp_path / 'nobody.png'}",
                      "no face found in the reference photo wall.png",
                      f"no kept faces to judge in sources {two_people + 1}: extract first "
                      "(swapdeck extract)"]
    assert job.status == JobStatus.DONE, job.error
    assert job.result["message"] == "identity filter dropped 3 of 6 faces"
    judged = faces_by_photo(project)
    for name, (rejected, distance) in judged.items():
        if name.startswith(KEEP):
            assert rejected is None and distance < 0.6
        else:
            assert rejected == f"unlike the --filter faces (distance {distance:.2f})"
    assert face_rows(project) != before

    with project.connection() as conn:
        assert review.undo_last(conn) == "identity filter dropped 3 of 6 faces"
    assert face_rows(project) == before


def test_the_same_verdicts_as_at_extraction_and_nfilter(project: Project,
                                                        two_people: int) -> None:
    after = run_filter(project, filter=[str(photo(KEEP, 4))], nfilter=[str(photo(OTHER, 5))])
    assert after.status == JobStatus.DONE, after.error
    afterwards = faces_by_photo(project)
    again = extract(project, two_people, force=True, size=256,
                    filter=(str(photo(KEEP, 4)),), nfilter=(str(photo(OTHER, 5)),))
    assert again.status == JobStatus.DONE, again.error
    at_extraction = faces_by_photo(project)
    assert {name for name, (rejected, _) in at_extraction.items() if rejected} == {
        f"{OTHER}{n}.png" for n in (1, 2, 3)}
    assert all(r.startswith("looks like an --nfilter face") for r, _ in
               (v for k, v in at_extraction.items() if k.startswith(OTHER)))
    assert afterwards.keys() == at_extraction.keys()
    for name, (rejected, distance) in afterwards.items():
        assert rejected == at_extraction[name][0]
        assert distance == pytest.approx(at_extraction[name][1], abs=1e-5)


def test_the_cli_queues_the_job_and_refuses_a_missing_photo(project: Project,
                                                            tmp_path: Path) -> None:
    missing = swapdeck("faces", project.root, "filter", "--filter", tmp_path / "nobody.png",
                       check=False)
    assert missing.returncode == 2 and "no such reference photo" in missing.stderr
    queued = swapdeck("faces", project.root, "filter", "--filter", photo(KEEP, 4),
                      "--nfilter", photo(OTHER, 5), "--threshold", "0.5", "--no-worker")
    assert "queued identity-filter job 1: all sources" in queued.stdout
    with project.connection() as conn:
        job = jobs.get(conn, 1)
    assert job.kind == "identity-filter" and job.status == JobStatus.QUEUED
    assert job.params == {"filter": [str(photo(KEEP, 4).resolve())],
                          "nfilter": [str(photo(OTHER, 5).resolve())],
                          "threshold": 0.5, "source_ids": []}
