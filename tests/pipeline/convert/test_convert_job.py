"""The convert and preview jobs on a real project: a video of two faces, extracted every
third frame, a tiny trained session. What comes out is decoded and checked."""
from __future__ import annotations

import io
import signal
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from pipeline.convert import marking
from pipeline.convert.verify import verify
from pipeline.train.job import new_session
from store import conversions, convert_previews, jobs, sessions, sources
from store.schema.connection import integrity_check
from pipeline.extract.frames import read_frame
from store.views.convert_faces import all_frames, unprocessed_frames
from store.requests.convert import ConvertRequestError, convert_params
from store.jobs import JobStatus
from store.pixel_limit import DEFAULT_MAX_PIXELS
from tests.convert_project import FRAMES, ConvertProject, run_worker, two_faces
from tests.forked_worker import ForkedWorker
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.waiting import wait_until

LEFT = (slice(180, 330), slice(40, 170))     # around the astronaut's face
RIGHT = (slice(180, 330), slice(342, 472))   # around her mirror image's


def queue(ready: ConvertProject, kind: str = "convert", **params) -> int:
    with ready.project.connection() as conn:
        return jobs.enqueue(conn, kind, {"session_id": ready.session_id,
                                         "source_id": ready.source_id, **params})


def finished(ready: ConvertProject, job_id: int) -> jobs.Job:
    run_worker(ready.project)
    with ready.project.connection() as conn:
        return jobs.get(conn, job_id)


def decoded(path: Path) -> tuple[list[np.ndarray], list[int], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.to_ndarray(format="rgb24"), f.pts) for f in container.decode(stream)]
        return [f for f, _ in frames], [p for _, p in frames], stream.time_base


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        return sum(p.duration or 0 for p in container.demux(stream)) * float(stream.time_base)


def change(a: np.ndarray, b: np.ndarray, region: tuple[slice, slice]) -> float:
    return float(np.abs(a[region].astype(int) - b[region].astype(int)).mean())


def test_a_conversion_swaps_the_chosen_person_only_with_the_source_timing_and_audio(
        ready: ConvertProject, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    job = finished(ready, queue(ready, output=str(out)))
    assert job.status == JobStatus.DONE, job.error
    # the frames the every-3rd extraction skipped were extracted first
    with ready.project.connection() as conn:
        assert unprocessed_frames(conn, ready.source_id) == 0
    assert job.result["frames"] == FRAMES and job.result["swapped"] == FRAMES
    assert job.result["faces"] == FRAMES   # the mirror image, named "mirror", is left alone

    source_frames, source_pts, source_base = decoded(ready.video)
    frames, pts, base = decoded(out)
    assert len(frames) == FRAMES and pts == source_pts and base == source_base
    assert audio_seconds(out) == pytest.approx(audio_seconds(ready.video), abs=0.03)
    for made, original in zip(frames, source_frames):
        assert change(made, original, LEFT) > 10   # the swapped face
        assert change(made, original, RIGHT) < 4   # the watermark and the encoder only

    report = verify(out)
    with ready.project.connection() as conn:
        tag = marking.project_tag(conversions.project_uuid(conn))
        [record] = conversions.finished(conn)
        newest = sessions.checkpoints(conn, ready.session_id)[0]
    assert report.marked_by_metadata and report.mark == marking.Mark(tag, ready.session_id)
    assert report.frames_read == report.frames_checked == FRAMES
    assert (record.output, record.frames, record.swapped) == (str(out), FRAMES, FRAMES)
    assert record.model_sha256 == newest.sha256 and record.checkpoint_iteration == 20
    assert record.mark == marking.Mark(tag, ready.session_id).text
    assert record.settings["colour"] == "avg-color"


def test_dropping_the_frames_outside_a_range_keeps_that_range_and_its_audio(
        ready: ConvertProject, tmp_path: Path) -> None:
    out = tmp_path / "part.mp4"
    job = finished(ready, queue(ready, output=str(out), settings={
        "frames": "6-11", "keep_unchanged": False, "colour": "rct", "mask": "components",
        "blend": "seamless", "sharpen": "unsharp", "smoothing": 3, "codec": "h265"}))
    assert job.status == JobStatus.DONE, job.error
    frames, _, _ = decoded(out)
    assert len(frames) == 6
    assert audio_seconds(out) == pytest.approx(6 / 25, abs=0.05)
    assert all(change(made, two_faces(6 + i), LEFT) > 10 for i, made in enumerate(frames))


def test_png_and_gif_outputs_are_marked(ready: ConvertProject, tmp_path: Path) -> None:
    folder, gif = tmp_path / "frames", tmp_path / "out.gif"
    first = queue(ready, output=str(folder), settings={"format": "png", "frames": "0-3",
                                                       "keep_unchanged": False})
    second = queue(ready, output=str(gif), settings={"format": "gif", "frames": "0-3",
                                                     "keep_unchanged": False})
    assert finished(ready, first).status == JobStatus.DONE
    with ready.project.connection() as conn:
        assert jobs.get(conn, second).status == JobStatus.DONE
    pictures = sorted(folder.glob("*.png"))
    assert len(pictures) == 4
    with Image.open(pictures[0]) as image:
        assert "synthetic" in " ".join(image.text.values()).lower()
    assert verify(folder).mark is not None and verify(gif).marked_by_metadata


def test_the_preview_job_keeps_one_frame_before_and_after_and_writes_it_marked(
        ready: ConvertProject, tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    job_id = queue(ready, "convert_preview", frame=4, out=str(out),
                   settings={"colour": "mkl"})
    job = finished(ready, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["swapped"] == 1   # frame 4 was not extracted: the job extracted it
    with ready.project.connection() as conn:
        preview = convert_previews.get(conn, job_id)
    before = np.asarray(Image.open(io.BytesIO(preview.before)))
    after = np.asarray(Image.open(io.BytesIO(preview.after)))
    assert change(before, two_faces(4), LEFT) < 3   # the decoded source frame
    assert change(after, before, LEFT) > 10 and change(after, before, RIGHT) < 4
    pair = np.asarray(Image.open(out).convert("RGB"))
    assert pair.shape == (512, 1024, 3)
    assert verify(out).mark is not None


def test_what_cannot_be_converted_is_refused_with_what_to_do(ready: ConvertProject,
                                                             tmp_path: Path) -> None:
    project = ready.project
    with project.connection() as conn:
        session = sessions.get(conn, ready.session_id)
        untrained = new_session(conn, "untrained", TINY, {})
        source = sources.get(conn, ready.source_id)
        with pytest.raises(ConvertRequestError, match="has no checkpoint yet"):
            convert_params(conn, project.outputs, untrained, source, {})
        (tmp_path / "taken.mp4").write_bytes(b"x")
        with pytest.raises(ConvertRequestError, match="taken.mp4 exists: choose another name"):
            convert_params(conn, project.outputs, session, source, {},
                           tmp_path / "taken.mp4")
        default = convert_params(conn, project.outputs, session, source, {})
    assert Path(default["output"]).parent == project.outputs

    # the job checks again: a changed source file, a bad setting
    moved = tmp_path / "moved.mp4"
    moved.write_bytes(ready.video.read_bytes())
    stat = moved.stat()
    with project.connection() as conn:
        conn.execute("UPDATE sources SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                     (str(moved), stat.st_size, stat.st_mtime_ns, ready.source_id))
    with moved.open("ab") as handle:
        handle.write(b"\0" * 100)
    bad = queue(ready, output=str(tmp_path / "a.mp4"), settings={"crf": 99})
    changed = queue(ready, output=str(tmp_path / "b.mp4"))
    run_worker(project)
    with project.connection() as conn:
        assert "crf is from 0 to 51" in jobs.get(conn, bad).error
        assert "file changed since it was added" in jobs.get(conn, changed).error
        assert conversions.finished(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM conversions").fetchone()[0] == 0
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "b.mp4").exists()


def test_the_worker_refuses_a_source_without_the_persons_face(ready: ConvertProject,
                                                             tmp_path: Path) -> None:
    """A job queued around the request check (b-to-a swaps bee, who is nowhere in the
    video) fails saying so, instead of writing the video unchanged."""
    out = tmp_path / "nobody.mp4"
    job = finished(ready, queue(ready, output=str(out), settings={"direction": "b-to-a"}))
    assert job.status == JobStatus.FAILED
    assert (f"two.mp4 (source {ready.source_id}) has no face of bee: convert a source where "
            "bee appears") in job.error
    assert not out.exists()
    with ready.project.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversions").fetchone()[0] == 0


def frames_written(job: jobs.Job) -> int:
    """N of the job's "frame N/total" progress message (0 before it writes)."""
    message = job.message or ""
    return int(message.split()[1].split("/")[0]) if message.startswith("frame ") else 0


def _start_worker(ready: ConvertProject, log: Path) -> ForkedWorker:
    """A real worker process that knows the tests' tiny model."""
    return ForkedWorker([str(ready.root), "--no-inbox", "--exit-when-idle"], log,
                        imports=["tests.pipeline.train.tiny_model"])


def test_a_worker_killed_mid_conversion_leaves_no_output_and_the_job_resumes(
        ready: ConvertProject, tmp_path: Path) -> None:
    out = tmp_path / "killed.mp4"
    job_id = queue(ready, output=str(out), settings={"batch_size": 1, "preset": "slow"})
    victim = _start_worker(ready, tmp_path / "victim.log")
    try:
        with ready.project.connection() as conn:
            wait_until(lambda: (victim.poll() is None or pytest.fail(
                (tmp_path / "victim.log").read_text()[-2000:])) and frames_written(
                    jobs.get(conn, job_id)) >= 3, timeout=120, interval=0.02,
                what="the conversion to be under way")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert not out.exists()
    with ready.project.connection() as conn:
        assert integrity_check(conn) == "ok"
        assert conversions.finished(conn) == []

    resumed = _start_worker(ready, tmp_path / "resumed.log")
    assert resumed.wait(300) == 0, (tmp_path / "resumed.log").read_text()[-2000:]
    with ready.project.connection() as conn:
        job = jobs.get(conn, job_id)
        assert job.status == JobStatus.DONE, job.error
        assert conn.execute("SELECT COUNT(*) FROM conversions").fetchone()[0] == 1
        assert integrity_check(conn) == "ok"
    assert len(decoded(out)[0]) == FRAMES
    assert [p.name for p in tmp_path.iterdir() if ".swapdeck-" in p.name] == []


def test_one_frame_is_read_by_seeking_and_matches_decoding_from_the_start(
        built: ConvertProject) -> None:
    project = built.project
    with project.connection() as conn:
        source = sources.get(conn, built.source_id)
        frames = all_frames(conn, built.source_id)
    everything, _, _ = decoded(built.video)
    for index in (0, 5, 13, 23):
        assert np.array_equal(read_frame(source, frames[index], DEFAULT_MAX_PIXELS),
                              everything[index])
