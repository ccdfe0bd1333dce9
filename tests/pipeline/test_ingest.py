"""The ingest job on real media and on every kind of bad input, run by the real worker loop."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.worker import Worker, WorkerOptions
from store import jobs, sources
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project, create_project
from tests.media import write_image, write_video
from tests.paths import real_media
from store.requests.ingest import ingest_params


def run_worker(project: Project) -> None:
    """Drain the queue with the real worker loop, in this process."""
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()


def add(project: Project, path: Path, label: str = "") -> int:
    with project.connection() as conn:
        return jobs.enqueue(conn, "ingest", ingest_params(path, label))


def job(project: Project, job_id: int) -> jobs.Job:
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def all_sources(project: Project) -> list[sources.Source]:
    with project.connection() as conn:
        return sources.list_sources(conn)


def test_video_facts_and_frames(project: Project) -> None:
    video = real_media("videos/dpe_s.mp4")
    job_id = add(project, video, label="speaker")
    run_worker(project)
    assert job(project, job_id).status == JobStatus.DONE
    [source] = all_sources(project)
    assert (source.kind, source.status, source.label) == ("video", "ready", "speaker")
    assert (source.width, source.height, source.frame_count) == (256, 256, 228)
    assert source.fps == pytest.approx(25.0)
    assert not source.variable_fps and not source.has_audio and source.rotation == 0
    assert source.size == video.stat().st_size and len(source.hash) == 64
    conn = project.connect()
    frames = sources.frames(conn, source.id)
    assert [f.idx for f in frames] == list(range(228))
    assert all(b.pts > a.pts for a, b in zip(frames, frames[1:]))
    assert integrity_check(conn) == "ok"
    conn.close()


def test_video_with_audio(project: Project) -> None:
    add(project, real_media("videos/short_hamilton_clip.mp4"))
    run_worker(project)
    [source] = all_sources(project)
    assert source.has_audio and source.audio_codec == "aac"
    assert source.fps == pytest.approx(29.97, abs=0.01)
    assert source.frame_count == 275


def test_variable_frame_rate_and_rotation(project: Project, tmp_path: Path) -> None:
    vfr = write_video(tmp_path / "vfr.mkv", 40, pts_steps=[10, 10, 20, 5])
    rotated = write_video(tmp_path / "rotated.mp4", 10, rotation=90)
    constant = write_video(tmp_path / "constant.mp4", 30)
    for path in (vfr, rotated, constant):
        add(project, path)
    run_worker(project)
    by_name = {Path(s.path).name: s for s in all_sources(project)}
    assert by_name["vfr.mkv"].variable_fps and by_name["vfr.mkv"].frame_count == 40
    assert not by_name["constant.mp4"].variable_fps
    assert by_name["rotated.mp4"].rotation == 90


def test_single_image_and_folder(project: Project, tmp_path: Path, astronaut_png: Path) -> None:
    folder = tmp_path / "faces"
    folder.mkdir()
    for index in (10, 2, 1):
        write_image(folder / f"face{index}.png", index)
    (folder / "notes.txt").write_text("not an image")
    add(project, astronaut_png)
    add(project, folder)
    run_worker(project)
    image, faces = all_sources(project)
    assert (image.kind, image.frame_count, image.width, image.height) == ("image", 1, 512, 512)
    assert (faces.kind, faces.frame_count, faces.width) == ("folder", 3, 8)
    conn = project.connect()
    assert [f.path for f in sources.frames(conn, faces.id)] == ["face1.png", "face2.png", "face10.png"]
    conn.close()


def test_adding_the_same_file_twice_keeps_one_source(project: Project, astronaut_png: Path) -> None:
    first, second = add(project, astronaut_png), add(project, astronaut_png)
    run_worker(project)
    assert job(project, first).status == job(project, second).status == JobStatus.DONE
    assert job(project, second).result["already_added"] is True
    assert len(all_sources(project)) == 1


def test_a_touched_file_is_redated_and_a_rewritten_one_refused(
        project: Project, tmp_path: Path, astronaut_png: Path) -> None:
    image = tmp_path / "face.png"
    shutil.copy(astronaut_png, image)
    add(project, image)
    run_worker(project)
    [source] = all_sources(project)
    later = source.mtime_ns + 5_000_000_000
    os.utime(image, ns=(later, later))  # touched: same bytes, new time
    assert source.changed_on_disk()
    again = add(project, image)
    run_worker(project)
    assert job(project, again).result["already_added"] is True
    [source] = all_sources(project)
    assert source.mtime_ns == later and not source.changed_on_disk()

    data = bytearray(image.read_bytes())
    data[-20] ^= 0xFF  # same size, other bytes
    image.write_bytes(bytes(data))
    refused = add(project, image)
    run_worker(project)
    assert job(project, refused).status == JobStatus.FAILED
    assert "file changed since it was added" in job(project, refused).error


def test_unicode_path_with_spaces(tmp_path: Path, astronaut_png: Path) -> None:
    project = create_project(tmp_path / "проект с пробелами 🎬")
    media = tmp_path / "médias à moi" / "visage n°1.png"
    media.parent.mkdir()
    shutil.copy(astronaut_png, media)
    job_id = add(project, media)
    run_worker(project)
    assert job(project, job_id).status == JobStatus.DONE
    [source] = all_sources(project)
    assert source.path == str(media) and source.frame_count == 1


def _truncated_copy(tmp_path: Path) -> Path:
    original = real_media("videos/dpe_s.mp4").read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(original[: len(original) // 2])
    return truncated


def test_bad_inputs_fail_clearly_and_the_worker_survives(
    project: Project, tmp_path: Path, astronaut_png: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    fake_png = tmp_path / "fake.png"
    fake_png.write_text("not a png either")
    no_images = tmp_path / "no images"
    no_images.mkdir()
    (no_images / "readme.txt").write_text("nothing to see")
    growing = tmp_path / "growing.png"
    shutil.copy(astronaut_png, growing)
    missing = tmp_path / "gone.mp4"
    missing.write_bytes(b"x")

    conn = project.connect()
    expected = {
        jobs.enqueue(conn, "ingest", ingest_params(missing, "")): "no such file or folder",
        jobs.enqueue(conn, "ingest", ingest_params(empty, "")): "empty file",
        jobs.enqueue(conn, "ingest", ingest_params(text, "")): "not a video or image",
        jobs.enqueue(conn, "ingest", ingest_params(fake_png, "")): "unreadable image",
        jobs.enqueue(conn, "ingest", ingest_params(_truncated_copy(tmp_path), "")): "truncated video",
        jobs.enqueue(conn, "ingest", ingest_params(no_images, "")): "no images in folder",
        jobs.enqueue(conn, "ingest", ingest_params(growing, "")): "file changed since it was added",
    }
    good = jobs.enqueue(conn, "ingest", ingest_params(astronaut_png, ""))
    missing.unlink()
    with growing.open("ab") as handle:
        handle.write(b"more bytes arriving")
    conn.close()

    run_worker(project)

    for job_id, fragment in expected.items():
        failed = job(project, job_id)
        assert failed.status == JobStatus.FAILED, (job_id, failed)
        assert fragment in failed.error, (fragment, failed.error)
        assert "\n" not in failed.error
    assert job(project, good).status == JobStatus.DONE
    [source] = all_sources(project)
    assert source.path == str(astronaut_png)
    conn = project.connect()
    assert conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0] == 1
    assert integrity_check(conn) == "ok"
    conn.close()


def test_status_shows_the_failure(project: Project, tmp_path: Path, capsys) -> None:
    from tui.cli.main import main

    text = tmp_path / "clip.mp4"
    text.write_text("plain text")
    add(project, text)
    run_worker(project)
    assert main(["status", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "failed" in out and "not a video or image" in out and "clip.mp4" in out
