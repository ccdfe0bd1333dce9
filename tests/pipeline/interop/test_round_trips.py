"""Round trips on real faces (../shared/testdata): a faceset exported as faceswap PNGs or
DeepFaceLab JPGs and imported again has the same landmarks (within 0.01 px) and the same
people, into a project that has the source (the faces land in its frames) or not (stills);
importing again adds nothing. A video's faces come back the same way through a faceswap
alignments file, and through faceswap face PNGs (which name the video's frames). The
commands are the user's: `swapdeck faces P export --format`, `swapdeck import`,
`swapdeck export-alignments`."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.extract.alignment import transform_points
from pipeline.interop.faceswap_geometry import aligned_matrix
from store import faces, identities
from store.faces import crop_matrix
from store.project import Project, create_project, open_project
from tests.paths import real_media
from tests.pipeline.extract_jobs import add, extract, run_worker
from tui.cli.main import main

NEAR = 0.01   # px
PEOPLE = {"lin.png": "Lin-Manuel Miranda", "alex.png": "Alex Lacamoire"}


def swapdeck(*args: object) -> None:
    """A command as the user types it; its jobs run here, by a worker of this process."""
    assert main([*map(str, args), "--no-worker"]) == 0
    run_worker(open_project(Path(str(args[1]))))


def people_by_file(project: Project) -> dict[str, tuple[str, np.ndarray, int]]:
    """Frame file name -> (person, landmarks, face id) of the project's kept faces."""
    with project.connection() as conn:
        names = dict(conn.execute("SELECT id, name FROM identities"))
        paths = dict(conn.execute("SELECT id, path FROM frames"))
        return {paths[f.frame_id]: (names.get(f.identity_id), f.landmarks, f.id)
                for f in faces.list_faces(conn, include_rejected=False)}


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    """Two photos of two people, extracted and named."""
    folder = tmp_path_factory.mktemp("media") / "photos"
    folder.mkdir()
    shutil.copy(real_media("stills/lin_manuel_miranda/lin-manuel-miranda.png"),
                folder / "lin.png")
    shutil.copy(real_media("stills/alex_lacamoire/alex-lacamoire.png"), folder / "alex.png")
    project = create_project(tmp_path_factory.mktemp("named") / "project")
    extract(project, add(project, folder))
    with project.connection() as conn:
        paths = dict(conn.execute("SELECT id, path FROM frames"))
        for face in faces.list_faces(conn, include_rejected=False):
            identities.move_faces(conn, [face.id], PEOPLE[paths[face.frame_id]])
    assert sorted(p for p, _, _ in people_by_file(project).values()) == sorted(PEOPLE.values())
    return project, folder


@pytest.mark.parametrize("fmt", ["faceswap", "dfl"])
def test_a_faceset_comes_back_with_its_landmarks_and_people(
        named: tuple[Project, Path], tmp_path: Path, fmt: str) -> None:
    original, photos = named
    out = tmp_path / "faceset"
    swapdeck("faces", original.root, "export", out, "--format", fmt)
    assert len(list(out.iterdir())) == 2
    before = people_by_file(original)

    linked = create_project(tmp_path / "linked")
    add(linked, photos)
    swapdeck("import", linked.root, out)
    after = people_by_file(linked)
    assert after.keys() == before.keys()
    for name, (person, landmarks, _) in after.items():
        assert person == before[name][0]
        np.testing.assert_allclose(landmarks, before[name][1], atol=NEAR)
    swapdeck("import", linked.root, out)
    assert len(people_by_file(linked)) == 2

    stills = create_project(tmp_path / "stills")
    swapdeck("import", stills.root, out)
    for person, landmarks, face_id in people_by_file(stills).values():
        [(want, frame_landmarks, source_face)] = [v for v in before.values() if v[0] == person]
        with original.connection() as conn:
            face = faces.get_face(conn, source_face)
            size = conn.execute("SELECT size FROM face_images WHERE face_id = ?",
                                (source_face,)).fetchone()[0]
        to_image = (aligned_matrix(frame_landmarks, size, "head") if fmt == "faceswap"
                    else crop_matrix(face.matrix, size))
        np.testing.assert_allclose(landmarks, transform_points(to_image, frame_landmarks),
                                   atol=NEAR)


def test_a_video_comes_back_through_its_alignments_file_and_its_faceset(
        tmp_path: Path) -> None:
    video = real_media("videos/dpe_s.mp4")
    original = create_project(tmp_path / "original")
    source_id = add(original, video)
    extract(original, source_id, every_n=38)
    with original.connection() as conn:
        before = {f.frame_idx: f.landmarks for f in faces.list_faces(
            conn, include_rejected=False)}
    assert before
    beside = tmp_path / "handed_over"
    beside.mkdir()
    os.symlink(video, beside / video.name)
    table = beside / f"{video.stem}_alignments.fsa"
    swapdeck("export-alignments", original.root, source_id, "--out", table)

    received = create_project(tmp_path / "received")
    swapdeck("import", received.root, table, "--as", "Speaker")
    with received.connection() as conn:
        after = {f.frame_idx: f for f in faces.list_faces(conn, include_rejected=False)}
        extraction = faces.get_extraction(conn, next(iter(after.values())).source_id)
    assert after.keys() == before.keys()
    for idx, face in after.items():
        np.testing.assert_allclose(face.landmarks, before[idx], atol=NEAR)
    assert extraction.finished and extraction.frames_done == (228 + 37) // 38

    faceset = tmp_path / "faceset"
    swapdeck("faces", original.root, "export", faceset, "--format", "faceswap", "--source",
             source_id)
    again = create_project(tmp_path / "again")
    add(again, video)
    swapdeck("import", again.root, faceset)
    with again.connection() as conn:
        found = {f.frame_idx: f.landmarks for f in faces.list_faces(conn)}
    assert found.keys() == before.keys()
    for idx, landmarks in found.items():
        np.testing.assert_allclose(landmarks, before[idx], atol=NEAR)
