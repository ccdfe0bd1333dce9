"""More bad input (issue 20): decompression bombs, symlink loops and unreadable entries in a
folder, sources deleted or replaced mid-extraction, and names with control and bidi
characters. The worker fails or skips each with a clear reason and stays alive and small."""
from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut

from pipeline.errors import JobError
from pipeline.extract.frames import read_frames
from pipeline.extract.job import check_still_there
from pipeline.source_images import ImageTooLargeError, decode_rgb, open_checked
from pipeline.worker import Worker, WorkerOptions
from store import events, faces, jobs, pixel_limit, sources
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import Project
from tests.media import write_flat_png, write_video
from tests.waiting import wait_until
from store.requests.ingest import ingest_params
from tui.cli.main import main
from tui.printable import printable

# Worst names a file can have: a newline, a tab, a right-to-left override, a right-to-left mark.
TRICKY_NAMES = ("new\nline.png", "tab\there.png", "rtl\u202egnp.exe.png", "mark\u200f.png")
PEAK_RSS_LIMIT_MB = 1500


def run_worker(project: Project) -> None:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()


def enqueue(project: Project, kind: str, params: dict) -> int:
    with project.connection() as conn:
        return jobs.enqueue(conn, kind, params)


def add(project: Project, path: Path) -> int:
    return enqueue(project, "ingest", ingest_params(path, ""))


def job(project: Project, job_id: int) -> jobs.Job:
    with project.connection() as conn:
        return jobs.get(conn, job_id)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30000x30000 = 900 Mpx in about 100 KB."""
    return write_flat_png(tmp_path_factory.mktemp("bomb") / "bomb.png", 30000, 30000)


def test_a_bomb_is_refused_from_its_header_without_decoding(bomb: Path) -> None:
    assert bomb.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError) as refused:
        decode_rgb(bomb, pixel_limit.DEFAULT_MAX_PIXELS)
    assert time.monotonic() - started < 1.0   # decoding 900 Mpx would take many seconds
    assert str(refused.value).startswith(
        "image is 30000x30000 = 900 Mpx, above this project's limit of 50 Mpx "
        "(raise it with swapdeck add or extract --max-mpx)")
    small = write_flat_png(bomb.parent / "small.png", 2000, 1000)
    with pytest.raises(ImageTooLargeError, match=r"2000x1000 = 2 Mpx, .* limit of 1 Mpx"):
        open_checked(small, 1_000_000)
    with open_checked(small, 2_000_000) as image:
        assert image.size == (2000, 1000)


def test_ingest_refuses_a_bomb_and_skips_one_in_a_folder(
        project: Project, tmp_path: Path, bomb: Path, astronaut_png: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(bomb, folder / "huge.png")
    shutil.copy(astronaut_png, folder / "face.png")
    alone, mixed = add(project, bomb), add(project, folder)
    run_worker(project)
    failed = job(project, alone)
    assert failed.status == JobStatus.FAILED
    assert "image is 30000x30000 = 900 Mpx, above this project's limit of 50 Mpx" in failed.error
    done = job(project, mixed)
    assert done.status == JobStatus.DONE, done.error
    assert done.result["frames"] == 1
    assert "1 skipped: 1 above the 50 Mpx pixel limit" in done.result["message"]


def test_the_limit_is_a_project_setting_the_cli_sets(project: Project, astronaut_png: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    assert main(["add", str(project.root), str(astronaut_png), "--max-mpx", "0.25",
                 "--no-worker"]) == 0
    assert "images above 0.25 Mpx are now refused" in capsys.readouterr().out
    with project.connection() as conn:
        assert pixel_limit.get(conn) == 250_000
    run_worker(project)   # the astronaut is 512x512 = 0.26 Mpx
    [refused] = jobs.list_jobs(project.connect(), limit=1)
    assert refused.status == JobStatus.FAILED
    assert "512x512 = 0.262 Mpx, above this project's limit of 0.25 Mpx" in refused.error
    assert main(["add", str(project.root), str(astronaut_png), "--max-mpx", "500",
                 "--no-worker"]) == 2
    assert "--max-mpx must be above 0 and at most 179" in capsys.readouterr().err


def test_a_video_with_frames_above_the_limit_is_refused_before_decoding(
        project: Project, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", 3, size=64)
    with project.connection() as conn:
        pixel_limit.put_mpx(conn, 0.004)
    job_id = add(project, video)
    run_worker(project)
    assert "image is 64x64 = 0.0041 Mpx, above this project's limit of 0.004 Mpx" in \
        job(project, job_id).error


def test_a_folder_image_replaced_by_a_bomb_is_not_decoded_when_extracting(
        project: Project, tmp_path: Path, bomb: Path, astronaut_png: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        shutil.copy(astronaut_png, folder / name)
    add(project, folder)
    run_worker(project)
    shutil.copy(bomb, folder / "b.png")   # in place: the folder's own time does not move
    with project.connection() as conn:
        [source] = sources.list_sources(conn)
        wanted = faces.pending_frames(conn, source.id, 1)
    loaded = list(read_frames(source, wanted, threading.Event(), pixel_limit.DEFAULT_MAX_PIXELS))
    assert loaded[0].image is not None and loaded[0].image.shape == (512, 512, 3)
    assert loaded[1].image is None and "30000x30000 = 900 Mpx" in loaded[1].error


def _make_bad_folder(tmp_path: Path, astronaut_png: Path) -> tuple[Path, dict[str, str]]:
    """A folder with one good image and every kind of entry that cannot be read, and the
    reason each is skipped for."""
    folder = tmp_path / "bad folder"
    folder.mkdir()
    shutil.copy(astronaut_png, folder / "good.png")
    (folder / "self.png").symlink_to("self.png")                     # a link to itself
    (folder / "ping.png").symlink_to("pong.png")                     # two links in a loop
    (folder / "pong.png").symlink_to("ping.png")
    (folder / "here.png").symlink_to(".")                            # back to the folder
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")       # to nothing
    os.mkfifo(folder / "pipe.png")                                   # would block a reader
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")                         # a directory cycle
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    expected = {"self.png": "symlink loop", "ping.png": "symlink loop",
                "pong.png": "symlink loop", "here.png": "symlink to a folder",
                "gone.png": "broken symlink", "pipe.png": "not a regular file",
                "damaged.png": "unreadable image"}
    if os.geteuid() != 0:   # root reads a chmod 000 file anyway
        locked = folder / "locked.png"
        shutil.copy(astronaut_png, locked)
        locked.chmod(0)
        expected["locked.png"] = "cannot be read (permission denied)"
    return folder, expected


def test_a_folder_of_loops_and_unreadable_entries_adds_the_good_image(
        project: Project, tmp_path: Path, astronaut_png: Path) -> None:
    folder, expected = _make_bad_folder(tmp_path, astronaut_png)
    job_id = add(project, folder)
    run_worker(project)
    done = job(project, job_id)
    assert done.status == JobStatus.DONE, done.error
    assert done.result["frames"] == 1
    assert f"{len(expected)} skipped: " in done.result["message"]
    assert "3 symlink loop" in done.result["message"]
    for reason in set(expected.values()):
        assert reason in done.result["message"]
    with project.connection() as conn:
        [warning] = [e for e in events.recent(conn, 50) if e.level.upper() == "WARNING"]
        assert str(folder) in warning.message and "'gone.png'" in warning.message
        [source] = sources.list_sources(conn)
        assert [f.path for f in sources.frames(conn, source.id)] == ["good.png"]


def test_a_folder_with_nothing_readable_fails_saying_why(project: Project,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "links only"
    folder.mkdir()
    (folder / "a.png").symlink_to("a.png")
    (folder / "b.png").symlink_to(tmp_path / "missing.png")
    job_id = add(project, folder)
    run_worker(project)
    assert job(project, job_id).error == (
        f"no readable images in folder: {folder} (2 skipped: 1 symlink loop, 1 broken symlink)")


def test_a_pipe_given_as_media_fails_without_blocking(project: Project, tmp_path: Path) -> None:
    pipe = tmp_path / "clip.mp4"
    os.mkfifo(pipe)
    job_id = enqueue(project, "ingest", {"path": str(pipe), "label": ""})
    run_worker(project)
    assert job(project, job_id).error == f"not a regular file: {pipe} (a pipe, socket or device)"


def _ready_source(project: Project, path: Path) -> sources.Source:
    add(project, path)
    run_worker(project)
    with project.connection() as conn:
        return sources.find_by_path(conn, str(path))


def test_a_source_deleted_or_replaced_says_so(project: Project, tmp_path: Path,
                                              astronaut_png: Path) -> None:
    image = tmp_path / "face.png"
    shutil.copy(astronaut_png, image)
    source = _ready_source(project, image)
    check_still_there(source)   # unchanged: nothing to say
    image.write_bytes(image.read_bytes() + b"more")
    with pytest.raises(JobError, match=r"source \d+ changed since it was added \(while "
                                       r"being extracted\): .*face\.png; the faces found "
                                       r"so far are kept"):
        check_still_there(source)
    image.unlink()
    with pytest.raises(JobError, match=r"source \d+ was deleted while being extracted: "
                                       r".*face\.png; the faces found so far are kept"):
        check_still_there(source)
    job_id = enqueue(project, "extract", {"source_id": source.id,
                                          "settings": ExtractSettings().to_json()})
    run_worker(project)
    assert job(project, job_id).error == (
        f"source {source.id} is missing: {image} was deleted or moved since it was added")


def test_tricky_names_are_escaped_in_listings_and_exact_in_json(
        project: Project, tmp_path: Path, astronaut_png: Path,
        capsys: pytest.CaptureFixture) -> None:
    paths = []
    for index, name in enumerate(TRICKY_NAMES):
        path = tmp_path / name
        Image.fromarray(np.roll(astronaut(), index, axis=0)).save(path, format="PNG")
        paths.append(path)
        add(project, path)
    missing = tmp_path / "gone\nfor good.png"
    enqueue(project, "ingest", {"path": str(missing), "label": ""})   # fails, naming it
    run_worker(project)
    capsys.readouterr()
    root = str(project.root)
    row_starts = {"status": r"(project |worker: |sources |jobs: |  +\d+ )",
                  "jobs": r" *\d+ ingest ", "log": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "}
    for command, extra in (("status", []), ("jobs", []), ("log", ["-n", "100"])):
        assert main([command, root, *extra]) == 0
        out = capsys.readouterr().out
        for forbidden in ("\t", "\u202e", "\u200f"):
            assert forbidden not in out, (command, forbidden)
        for row in out.splitlines():   # a newline in a name would start a row of its own
            assert re.match(row_starts[command], row), (command, row)
        if command != "log":            # the log says "job 3 done", not the names
            for name in TRICKY_NAMES:
                assert printable(name) in out, (command, name)
    assert main(["jobs", root, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["jobs"]
    assert {j["params"]["path"] for j in listed} == {str(p) for p in [*paths, missing]}
    assert main(["status", root, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {s["path"] for s in status["sources"]} == {str(p) for p in paths}


def test_printable_escapes_only_what_moves_or_hides_text() -> None:
    assert printable("new\nline\ttab\r") == "new\\nline\\ttab\\r"
    assert printable("rtl\u202egnp.exe") == "rtl\\u202egnp.exe"
    assert printable("mark\u200f \x1b[31mred\x7f") == "mark\\u200f \\x1b[31mred\\x7f"
    assert printable("sep\u2028arated \udcff") == "sep\\u2028arated \\udcff"
    assert printable("plain: é ß 漢字 🎬 👩\u200d💻 [b]x[/b]") == \
        "plain: é ß 漢字 🎬 👩\u200d💻 [b]x[/b]"



def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB; 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


class _PeakWatch:
    """Polls a process's VmHWM on a thread until stopped; `.peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _peak_rss_mb(self.pid))

    def stop(self) -> float:
        self.peak = max(self.peak, _peak_rss_mb(self.pid))
        self._stop.set()
        self._thread.join()
        return self.peak


def _face_video(path: Path, frames: int, shift: int = 0) -> Path:
    """A 256x256 video of the astronaut's face (found in every frame)."""
    crop = np.ascontiguousarray(np.roll(astronaut(), shift, axis=1)[0:256, 100:356])
    return write_video(path, frames, picture=crop)


def _wait_finished(project: Project, job_id: int, timeout: float = 180) -> jobs.Job:
    return wait_until(lambda: (j := job(project, job_id)).status in jobs.FINISHED and j,
                      timeout=timeout, interval=0.2, what=f"job {job_id} to finish")


@pytest.mark.slow
def test_a_source_deleted_or_replaced_mid_extraction_keeps_its_faces(
        project: Project, tmp_path: Path, astronaut_png: Path, worker_processes) -> None:
    deleted, replaced = _face_video(tmp_path / "deleted.mp4", 120), \
        _face_video(tmp_path / "replaced.mp4", 120)
    for video in (deleted, replaced):
        add(project, video)
    run_worker(project)
    with project.connection() as conn:
        ids = [sources.find_by_path(conn, str(v)).id for v in (deleted, replaced)]
    extract_jobs = [enqueue(project, "extract", {"source_id": source_id, "settings":
                                                 ExtractSettings(every_n=1).to_json()})
                    for source_id in ids]
    after = add(project, astronaut_png)
    worker = worker_processes.start(project)
    other = _face_video(tmp_path / "other.mp4", 30, shift=40)
    for job_id, video, change in ((extract_jobs[0], deleted, lambda v: v.unlink()),
                                  (extract_jobs[1], replaced, lambda v: os.replace(other, v))):
        wait_until(lambda: job(project, job_id).progress >= 2 * 8, timeout=180, interval=0.1,
                   what=f"job {job_id} to store two batches")
        change(video)
        finished = _wait_finished(project, job_id)
        assert finished.status == JobStatus.FAILED
    source_deleted, source_replaced = ids
    assert job(project, extract_jobs[0]).error == (
        f"source {source_deleted} was deleted while being extracted: {deleted}; the faces found "
        "so far are kept, and extraction resumes from there once the file is back")
    assert job(project, extract_jobs[1]).error.startswith(
        f"source {source_replaced} changed since it was added (while being extracted): "
        f"{replaced}; the faces found so far are kept")
    with project.connection() as conn:
        for source_id in ids:
            done = faces.get_extraction(conn, source_id)
            kept = len(faces.list_faces(conn, source_id))
            assert 16 <= done.frames_done < 120 and kept >= done.frames_done, (source_id, done)
    assert _wait_finished(project, after).status == JobStatus.DONE
    assert worker.poll() is None   # alive, waiting for the next job


@pytest.mark.slow
def test_the_worker_survives_every_bad_input_and_stays_small(
        project: Project, tmp_path: Path, astronaut_png: Path, bomb: Path,
        worker_processes) -> None:
    folder, _ = _make_bad_folder(tmp_path, astronaut_png)
    largest = tmp_path / "largest.png"   # just within the default limit: 7000x7000 = 49 Mpx
    big = np.zeros((7000, 7000, 3), np.uint8)
    big[::7] = 200
    Image.fromarray(big).save(largest, compress_level=1)
    del big
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    tricky = tmp_path / TRICKY_NAMES[0]
    shutil.copy(astronaut_png, tricky)
    expected_failures = {
        add(project, bomb): "image is 30000x30000 = 900 Mpx, above this project's limit",
        enqueue(project, "ingest", {"path": str(pipe), "label": ""}): "not a regular file",
    }
    good = [add(project, folder), add(project, largest), add(project, tricky)]
    worker = worker_processes.start(project)
    watch = _PeakWatch(worker.pid)
    for job_id in good:
        assert _wait_finished(project, job_id).status == JobStatus.DONE, job(project, job_id)
    with project.connection() as conn:
        largest_id = sources.find_by_path(conn, str(largest)).id
    settings = ExtractSettings(filter=(str(bomb),)).to_json()
    expected_failures[enqueue(project, "extract", {"source_id": largest_id,
                                                   "settings": settings})] = \
        "reference photo refused: image is 30000x30000 = 900 Mpx"
    extract_largest = enqueue(project, "extract", {"source_id": largest_id,
                                                   "settings": ExtractSettings().to_json()})
    assert _wait_finished(project, extract_largest, timeout=400).status == JobStatus.DONE
    for job_id, reason in expected_failures.items():
        failed = _wait_finished(project, job_id)
        assert failed.status == JobStatus.FAILED and reason in failed.error, failed
    assert worker.poll() is None
    peak = watch.stop()
    assert 0 < peak < PEAK_RSS_LIMIT_MB, f"worker peak RSS {peak:.0f} MB"
