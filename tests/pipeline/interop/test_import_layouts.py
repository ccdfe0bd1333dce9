"""Files laid out as faceswap and DeepFaceLab write them import correctly: faces land in
their frames with their points, hand-made masks become mask labels, faces whose frames are
missing become stills, importing again adds nothing, and hostile pickles fail plainly."""
from __future__ import annotations

import pickle
import shutil
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.extract.alignment import transform_points
from pipeline.interop.faceswap_geometry import aligned_matrix
from pipeline.masks.labels import label_truth
from store import faces, interop, jobs, mask_labels, sources
from store.faces import crop_matrix
from store.project import Project, create_project
from tests.media import write_video
from tests.pipeline.extract_jobs import add
from tests.pipeline.interop.foreign_files import dfl_aligned_jpg, dfl_matrix, \
    faceswap_face_png, faceswap_fsa
from tests.pipeline.interop.running import run
from tests.pipeline.train.people import astronaut_landmarks, picture

NEAR = 0.01   # px


def kept_faces(project: Project) -> list[faces.Face]:
    with project.connection() as conn:
        return faces.list_faces(conn, include_rejected=False)


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    """A folder holding the astronaut (the frame) and a grey picture with no face."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "astronaut.png"), cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "grey.png"), np.full((64, 64, 3), 128, np.uint8))
    return folder


def painted() -> np.ndarray:
    """A hand-painted mask: the centre of faceswap's face-centred 128 px square."""
    mask = np.zeros((128, 128), np.uint8)
    mask[32:96, 32:96] = 255
    return mask


def test_faceswap_face_pngs_land_in_their_frames(tmp_path: Path, frames: Path) -> None:
    landmarks = astronaut_landmarks()
    faceset = tmp_path / "faces"
    faceset.mkdir()
    frame = cv2.imread(str(frames / "astronaut.png"))
    (faceset / "astronaut_0.png").write_bytes(
        faceswap_face_png(frame, landmarks, "astronaut.png", custom=painted()))
    shutil.copy(frames / "grey.png", faceset / "not_a_face.png")
    project = create_project(tmp_path / "project")
    source_id = add(project, frames)
    job = run(project, "import", path=str(faceset), person="Eileen")
    assert job.status == jobs.JobStatus.DONE, job.error
    assert "imported 1 face" in job.message and "1 files without face data" in job.message
    [face] = kept_faces(project)
    assert face.source_id == source_id and face.frame_idx == 0
    np.testing.assert_allclose(face.landmarks, landmarks, atol=NEAR)
    with project.connection() as conn:
        label = mask_labels.get_label(conn, face.id)
        assert conn.execute("SELECT manual FROM faces WHERE id = ?", (face.id,)).fetchone()[0]
        assert conn.execute("SELECT name FROM identities WHERE id = ?",
                            (face.identity_id,)).fetchone()[0] == "Eileen"
    assert label is not None and label.base is not None and label.polygons == ()
    again = run(project, "import", path=str(faceset))
    assert "imported 0 faces" in again.message and "1 already in the project" in again.message
    assert len(kept_faces(project)) == 1


def test_faceswap_faces_without_their_frames_are_stills(tmp_path: Path, frames: Path) -> None:
    landmarks = astronaut_landmarks()
    faceset = tmp_path / "faces"
    faceset.mkdir()
    frame = cv2.imread(str(frames / "astronaut.png"))
    (faceset / "astronaut_0.png").write_bytes(faceswap_face_png(frame, landmarks,
                                                                "astronaut.png", size=320))
    project = create_project(tmp_path / "project")
    assert run(project, "import", path=str(faceset)).status == jobs.JobStatus.DONE
    [face] = kept_faces(project)
    expected = transform_points(aligned_matrix(landmarks, 320, "head"), landmarks)
    np.testing.assert_allclose(face.landmarks, expected, atol=NEAR)
    with project.connection() as conn:
        source = sources.get(conn, face.source_id)
        extraction = faces.get_extraction(conn, source.id)
    assert source.path == str(faceset) and source.kind == "folder"
    assert extraction is not None and extraction.finished and extraction.faces == 1
    assert "imported 0 faces" in run(project, "import", path=str(faceset)).message


def test_dfl_aligned_faces_find_their_workspace_frames_and_xseg_labels(tmp_path: Path) -> None:
    landmarks = astronaut_landmarks()
    data_src = tmp_path / "workspace" / "data_src"
    (data_src / "aligned").mkdir(parents=True)
    frame = cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(data_src / "00001.png"), frame)
    polygon = transform_points(dfl_matrix(landmarks), landmarks[[0, 8, 16, 24, 19]])
    (data_src / "aligned" / "00001_0.jpg").write_bytes(dfl_aligned_jpg(
        frame, landmarks, "00001.png", [(1, polygon), (0, polygon[:3] + 5)]))
    project = create_project(tmp_path / "project")
    job = run(project, "import", path=str(data_src / "aligned"), person="Eileen")
    assert job.status == jobs.JobStatus.DONE, job.error
    [face] = kept_faces(project)
    np.testing.assert_allclose(face.landmarks, landmarks, atol=NEAR)
    with project.connection() as conn:
        assert sources.get(conn, face.source_id).path == str(data_src)
        label = mask_labels.get_label(conn, face.id)
    assert label is not None and [p.mode for p in label.polygons] == ["include", "exclude"]
    # the include polygon, taken back from the label to the DeepFaceLab image, is as drawn
    label_to_frame = cv2.invertAffineTransform(crop_matrix(face.matrix, label.size))
    back = transform_points(dfl_matrix(landmarks), transform_points(
        label_to_frame, np.asarray(label.polygons[0].points)))
    np.testing.assert_allclose(back, polygon, atol=NEAR)


def test_an_alignments_file_beside_its_frames_describes_them(tmp_path: Path,
                                                            frames: Path) -> None:
    landmarks = astronaut_landmarks()
    table = frames / "alignments.fsa"
    table.write_bytes(faceswap_fsa({"astronaut.png": [landmarks], "grey.png": []},
                                   custom=painted()))
    project = create_project(tmp_path / "project")
    job = run(project, "import", path=str(table))
    assert job.status == jobs.JobStatus.DONE, job.error
    [face] = kept_faces(project)
    np.testing.assert_allclose(face.landmarks, landmarks, atol=NEAR)
    with project.connection() as conn:
        assert sources.get(conn, face.source_id).path == str(frames)
        assert len(interop.processed_frames(conn, face.source_id)) == 2
        assert faces.get_extraction(conn, face.source_id).finished
        assert mask_labels.get_label(conn, face.id) is not None
    # the frames folder itself names the same file
    assert "1 already in the project" in run(project, "import", path=str(frames)).message


def test_an_alignments_file_of_a_video_finds_the_video(tmp_path: Path) -> None:
    landmarks = astronaut_landmarks()
    folder = tmp_path / "clips"
    folder.mkdir()
    write_video(folder / "clip.mp4", 3, picture=picture())
    names = {f"clip_{n:06d}.png": [landmarks] for n in (1, 3)}   # version 2.3: '.png' keys
    (folder / "clip_alignments.fsa").write_bytes(faceswap_fsa(names))
    project = create_project(tmp_path / "project")
    job = run(project, "import", path=str(folder / "clip_alignments.fsa"))
    assert job.status == jobs.JobStatus.DONE, job.error
    found = kept_faces(project)
    assert [f.frame_idx for f in found] == [0, 2]
    with project.connection() as conn:
        assert sources.get(conn, found[0].source_id).kind == "video"


def test_hostile_pickles_in_imported_files_fail_plainly(tmp_path: Path, frames: Path) -> None:
    canary = tmp_path / "canary"

    class Payload:
        def __reduce__(self):
            return (eval, (f"open({str(canary)!r}, 'w')",))

    (frames / "alignments.fsa").write_bytes(zlib.compress(pickle.dumps({"x": Payload()})))
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    jpeg = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    hostile = pickle.dumps({"landmarks": Payload()})
    (aligned / "x_0.jpg").write_bytes(jpeg[:2] + b"\xff\xef" + len(hostile + b"..").to_bytes(
        2, "big") + hostile + jpeg[2:])
    project = create_project(tmp_path / "project")
    failed = run(project, "import", path=str(frames / "alignments.fsa"))
    assert failed.status == jobs.JobStatus.FAILED and "refused" in failed.error
    assert "builtins.eval" in failed.error
    skipped = run(project, "import", path=str(aligned))
    assert "1 files refused or damaged" in skipped.message
    assert not canary.exists()


def test_mask_labels_travel_out_and_back(tmp_path: Path) -> None:
    """XSeg polygons come back exactly through DeepFaceLab JPGs, and as faceswap's painted
    `custom` mask through face PNGs (a picture: the same pixels, nearly)."""
    landmarks = astronaut_landmarks()
    data_src = tmp_path / "data_src"
    (data_src / "aligned").mkdir(parents=True)
    frame = cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(data_src / "00001.png"), frame)
    polygon = transform_points(dfl_matrix(landmarks), landmarks[[0, 8, 16, 24, 19]])
    (data_src / "aligned" / "00001_0.jpg").write_bytes(
        dfl_aligned_jpg(frame, landmarks, "00001.png", [(1, polygon)]))
    first = create_project(tmp_path / "first")
    run(first, "import", path=str(data_src / "aligned"))
    for fmt in ("dfl", "faceswap"):
        assert run(first, "export", folder=str(tmp_path / fmt), format=fmt).status == \
            jobs.JobStatus.DONE
    [face] = kept_faces(first)
    with first.connection() as conn:
        label = mask_labels.get_label(conn, face.id)
        truth = label_truth(label)
    for fmt in ("dfl", "faceswap"):
        again = create_project(tmp_path / f"again_{fmt}")
        add(again, data_src)
        run(again, "import", path=str(tmp_path / fmt))
        [back] = kept_faces(again)
        with again.connection() as conn:
            came = mask_labels.get_label(conn, back.id)
        if fmt == "dfl":
            np.testing.assert_allclose(came.polygons[0].points, label.polygons[0].points,
                                       atol=NEAR)
        else:
            painted_back = label_truth(came) > 127
            overlap = (painted_back & (truth > 127)).sum() / (painted_back | (truth > 127)).sum()
            assert overlap > 0.95
