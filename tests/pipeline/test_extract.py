"""The extract job on real faces: what it stores, what it rejects, and that it resumes."""
from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut

from pipeline.context import JobContext
from pipeline.extract.job import extract as extract_job
from store import faces, jobs
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from store.requests.extract import ExtractSettings
from tests.media import write_video
from tests.paths import real_media
from tests.pipeline.extract_jobs import add, extract, run_worker


def stored_faces(project: Project, source_id: int) -> list[faces.Face]:
    with project.connection() as conn:
        return faces.list_faces(conn, source_id)


def test_a_face_is_stored_with_everything_later_stages_need(project: Project,
                                                             astronaut_png: Path) -> None:
    source_id = add(project, astronaut_png)
    job = extract(project, source_id, size=256)
    assert job.status == JobStatus.DONE, job.error
    kept = [f for f in stored_faces(project, source_id) if f.rejected is None]
    assert len(kept) >= 1
    face = max(kept, key=lambda f: f.score)
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < x1 < 290 and 50 < y0 < y1 < 190   # her face, not her badge
    inside = (face.landmarks[:, 0] > x0 - 20) & (face.landmarks[:, 0] < x1 + 20)
    assert face.landmarks.shape == (68, 2) and inside.all()
    assert abs(face.roll) < 15 and abs(face.yaw) < 20 and face.blur > 0 and 0.1 < face.size < 0.3
    with project.connection() as conn:
        crop = cv2.imdecode(np.frombuffer(faces.face_image(conn, face.id).data, np.uint8), 1)
        assert crop.shape == (256, 256, 3)
        for kind in ("components", "extended"):
            mask = cv2.imdecode(np.frombuffer(faces.face_mask(conn, face.id, kind).data, np.uint8), 0)
            assert mask.shape == (256, 256) and 0.1 < (mask > 0).mean() < 0.6
        vector = faces.descriptor(conn, face.id, "dlib_resnet_v1")
        assert vector.shape == (128,) and 0.5 < np.linalg.norm(vector) < 1.5
        assert integrity_check(conn) == "ok"


def test_identity_filter_keeps_the_person_and_rejects_others(
    project: Project, astronaut_png: Path, tmp_path: Path
) -> None:
    source_id = add(project, astronaut_png)
    other = Image.open(next(real_media("identities/bbt").glob("*/*")))
    other_path = tmp_path / "someone else.png"
    other.save(other_path)
    job = extract(project, source_id, nfilter=(str(other_path),), filter=(str(astronaut_png),))
    assert job.status == JobStatus.DONE, job.error
    found = stored_faces(project, source_id)
    kept = [f for f in found if f.rejected is None]
    assert len(kept) == 1 and kept[0].filter_distance < 0.3  # her own photo


def test_a_video_without_faces_is_done_and_says_so(project: Project, tmp_path: Path) -> None:
    source_id = add(project, write_video(tmp_path / "grey.mp4", 12, size=96))
    job = extract(project, source_id)
    assert job.status == JobStatus.DONE and job.result["message"] == "0 faces in 12 frames"


def test_rotation_metadata_is_applied(project: Project, tmp_path: Path) -> None:
    sideways = np.ascontiguousarray(np.rot90(astronaut()[:256, 96:352], -1))  # needs 90° CCW
    source_id = add(project, write_video(tmp_path / "phone.mp4", 3, rotation=90, picture=sideways))
    job = extract(project, source_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["faces"] == 3


def test_every_n_rerun_and_force(project: Project) -> None:
    source_id = add(project, real_media("videos/dpe_s.mp4"))
    first = extract(project, source_id, every_n=20)
    assert first.result["frames"] == 12 and first.result["faces"] == 12
    again = extract(project, source_id, every_n=20)
    assert again.result["already_extracted"] is True
    assert len(stored_faces(project, source_id)) == 12
    other = extract(project, source_id, every_n=40, force=True)
    assert other.status == JobStatus.DONE and other.result["frames"] == 6
    assert sorted({f.frame_idx for f in stored_faces(project, source_id)}) == list(range(0, 228, 40))


def test_folder_with_a_bad_image_reports_it_and_goes_on(project: Project, tmp_path: Path,
                                                         astronaut_png: Path) -> None:
    folder = tmp_path / "stills"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        shutil.copy(astronaut_png, folder / name)
    source_id = add(project, folder)
    (folder / "b.png").write_bytes(b"garbage now")  # broken after it was added
    job = extract(project, source_id)
    assert job.status == JobStatus.DONE, job.error
    assert {f.frame_idx for f in stored_faces(project, source_id)} == {0, 2}
    with project.connection() as conn:
        warnings = [r[0] for r in conn.execute("SELECT message FROM events WHERE level='warning'")]
        assert any("b.png" in w for w in warnings)
        assert faces.pending_frames(conn, source_id, 1) == []


def test_bad_requests_fail_clearly(project: Project, astronaut_png: Path) -> None:
    source_id = add(project, astronaut_png)
    assert extract(project, source_id, size=64).error == "size is from 256 to 1024, not 64"
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "extract", {"source_id": 99, "settings": {}})
    run_worker(project)
    with project.connection() as conn:
        assert "no source 99" in jobs.get(conn, job_id).error
    missing = extract(project, source_id, filter=("/nowhere/face.png",))
    assert "cannot read the reference photo" in missing.error


def test_the_shared_option_names_are_the_registered_backends() -> None:
    from pipeline.extract import backends

    backends.load_all()
    from store.requests.extract import ALIGNERS, AUTO, DETECTORS

    assert set(DETECTORS) - {AUTO} == set(backends.DETECTORS)
    assert set(ALIGNERS) - {AUTO} == set(backends.ALIGNERS)


def test_offline_without_fan_weights_the_job_names_the_fallback(
    project: Project, astronaut_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.pipeline.fan_weights import forbid_downloads

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty torch home"))
    forbid_downloads(monkeypatch)
    source_id = add(project, astronaut_png)
    job = extract(project, source_id, detector="s3fd", aligner="fan")
    assert job.status == JobStatus.FAILED
    assert "--detector dlib-hog --aligner dlib" in job.error and "\n" not in job.error


def test_odd_frame_sizes(project: Project, tmp_path: Path) -> None:
    import av

    picture = np.ascontiguousarray(astronaut()[:257, 60:361])  # 301 x 257
    path = tmp_path / "odd.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = 301, 257, "yuv444p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    source_id = add(project, path)
    job = extract(project, source_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["faces"] == 3


def test_export_the_faceset_as_aligned_pngs(project: Project, astronaut_png: Path,
                                            tmp_path: Path, dead_pid: int) -> None:
    source_id = add(project, astronaut_png)
    extract(project, source_id, size=256)
    kept = [f for f in stored_faces(project, source_id) if f.rejected is None]
    # a half-written PNG of an attempt whose worker was killed (its pid is long gone)
    (tmp_path / "faceset").mkdir()
    (tmp_path / "faceset" / f".s001_f000000_0_id1.png.swapdeck-{dead_pid}-0a1b2c3d.tmp") \
        .write_bytes(b"half")
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "export", {"folder": str(tmp_path / "faceset")})
        missing_person = jobs.enqueue(conn, "export", {"folder": str(tmp_path / "x"),
                                                       "person": "Nobody"})
    run_worker(project)
    with project.connection() as conn:
        assert jobs.get(conn, job_id).result["faces"] == len(kept)
        assert "no person called 'Nobody'" in jobs.get(conn, missing_person).error
    pngs = sorted((tmp_path / "faceset").glob("*.png"))
    assert len(pngs) == len(kept) and not list((tmp_path / "faceset").glob(".*"))
    assert not (tmp_path / "x").exists()   # nothing to export: no folder made
    assert cv2.imread(str(pngs[0])).shape == (256, 256, 3)


@dataclass
class RecordingContext(JobContext):
    """The worker's job context, keeping every progress line it was given."""
    lines: list[str] = field(default_factory=list)

    def progress(self, done: float, total: float | None, message: str, *,
                 force: bool = False) -> None:
        self.lines.append(message)
        super().progress(done, total, message, force=force)


def test_the_running_line_counts_faces_as_the_final_one_does(
        project: Project, astronaut_png: Path, tmp_path: Path) -> None:
    """Faces the identity filter rejects are stored (rejected) as they are found: the line
    shown while the job runs counts them apart from the kept ones, as its summary does."""
    folder = tmp_path / "stills"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        shutil.copy(astronaut_png, folder / name)
    source_id = add(project, folder)
    settings = ExtractSettings(nfilter=(str(astronaut_png),))
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "extract", {"source_id": source_id})
        assert jobs.claim(conn, 1, ["extract"]) is not None
        ctx = RecordingContext(project, conn, job_id, threading.Event(),
                               logging.LoggerAdapter(logging.getLogger("extract"), {}))
        result = extract_job(ctx, {"source_id": source_id, "settings": settings.to_json()})
    running = [line for line in ctx.lines if line.startswith("frame ")]
    counted = f"{result['faces']} faces ({result['rejected']} more rejected)"
    assert result["rejected"] >= 3
    assert running[-1].startswith(f"frame 3/3, {counted}, ")
    assert ctx.lines[-1].startswith(f"{counted} in 3 frames")
