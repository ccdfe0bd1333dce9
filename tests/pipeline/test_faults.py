"""Faults tried for real: a full disk, a read-only folder, SIGTERM during training, two
workers started at once, and everyone writing the store at once.

Where the machine allows it (root, `mount` permitted), the full disk is a real small tmpfs
and the read-only folder a tmpfs remounted read-only; elsewhere those tests skip saying why.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from safetensors import SafetensorError

from pipeline.train import checkpoint
from pipeline.train.job import new_session
from pipeline.worker import Worker, WorkerOptions
from pipeline.worker import main as worker_main
from store import jobs, sessions, workers
from store.views import snapshot
from store.schema.connection import data_version, integrity_check
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import DB_NAME, Project, ProjectError, create_project, open_project
from store.files.session_files import file_sha256
from store.files.temp_names import writer_of
from tests.media import write_image
from tests.paths import REPO
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses, live_worker_count
from store.requests.ingest import ingest_params

FAST = {"batch_size": 4, "save_every": 2, "mixed_precision": True}
pytestmark = pytest.mark.usefixtures("one_thread")
# a real worker process that knows the tests' tiny model
CHECKPOINT_BYTES = 1 << 20   # about the size of a save of the tiny model
TINY_WORKER = ("import sys, tests.pipeline.train.tiny_model; from pipeline.worker import main; "
               "sys.exit(main())")


# ---- helpers ----------------------------------------------------------------------------

@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """An empty folder on a tmpfs of its own (8 MB), unmounted after the test."""
    folder = tmp_path / "mnt"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def temps_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if writer_of(path.name) is not None]


def fill(folder: Path, leave: int = 0) -> None:
    """Take every free byte of `folder`'s filesystem but `leave`."""
    free = shutil.disk_usage(folder).free - leave
    with open(folder / "filler", "wb") as handle:
        while free > 0:
            chunk = min(free, 1 << 20)
            try:
                handle.write(b"\0" * chunk)
                handle.flush()
            except OSError:
                break
            free -= chunk


def train_session(project: Project, name: str = "s") -> sessions.Session:
    with project.connection() as conn:
        return new_session(conn, name, TINY, {}, settings=FAST, seed=7)


def run_train(project: Project, session_id: int, iterations: int) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session_id,
                                              "settings": {"iterations": iterations}})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def committed(project: Project, session_id: int) -> tuple[list, list]:
    """The session's saves and losses, as the store holds them."""
    with project.connection() as conn:
        return (sessions.checkpoints(conn, session_id, "save"),
                sessions.losses(conn, session_id))


def assert_whole(project: Project, session_id: int, saves: list, losses: list) -> None:
    """The saves and losses committed before are there, each save matching its hash, the
    store is whole and no temp file is left."""
    now_saves, now_losses = committed(project, session_id)
    assert now_saves == saves and now_losses[:len(losses)] == losses
    for save in saves:
        path = project.models / str(session_id) / save.path
        assert file_sha256(path) == save.sha256, f"{save.path} differs from its hash"
    with project.connection() as conn:
        assert integrity_check(conn) == "ok"
    assert temps_in(project.root) == []


# ---- a full disk ------------------------------------------------------------------------

def test_disk_full_while_saving_a_checkpoint_keeps_the_last_save(
        project: Project, pair, monkeypatch: pytest.MonkeyPatch) -> None:
    session = train_session(project)
    assert run_train(project, session.id, 2).status == JobStatus.DONE
    saves, losses = committed(project, session.id)
    assert [s.iteration for s in saves] == [2]

    def disk_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a checkpoint")
        raise SafetensorError("Error while serializing: I/O error: No space left on device "
                              "(os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", disk_full)
    job = run_train(project, session.id, 4)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(f"disk full while writing {project.models / str(session.id)}"
                                "/saves/iter_000000004-"), job.error
    assert "MB free there" in job.error and "retry the job" in job.error
    assert_whole(project, session.id, saves, losses)


def test_disk_full_while_writing_face_crops_keeps_every_committed_row(
        project: Project, astronaut_png: Path) -> None:
    """The store itself is full (SQLite's own limit on the worker's file: a real
    SQLITE_FULL from a real write, not a mocked one)."""
    with project.connection() as conn:
        ingest = jobs.enqueue(conn, "ingest", ingest_params(astronaut_png, ""))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        source_id = jobs.get(conn, ingest).result["source_id"]
        settings = ExtractSettings(detector="dlib-hog", aligner="dlib", size=256)
        extract = jobs.enqueue(conn, "extract", {"source_id": source_id,
                                                 "settings": settings.to_json()})
        before = {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table}")]
                  for table in ("sources", "frames", "faces", "face_images")}
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    worker = Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False))
    worker.conn.execute(f"PRAGMA max_page_count = {pages}")
    worker.run()
    with project.connection() as conn:
        job = jobs.get(conn, extract)
        assert integrity_check(conn) == "ok"
        after = {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table}")]
                 for table in before}
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(f"disk full while writing the store {project.db_path} ("), \
        job.error
    assert after == before


@pytest.mark.slow
def test_a_real_full_disk_fails_the_job_and_loses_nothing(
        mount_point: Path, seeded_pair: tuple[Path, dict]) -> None:
    project = create_project(mount_point / "project")
    shutil.copyfile(seeded_pair[0], project.db_path)
    session = train_session(project)
    assert run_train(project, session.id, 2).status == JobStatus.DONE
    saves, losses = committed(project, session.id)
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id,
                                              "settings": {"iterations": 4}})
    fill(mount_point, leave=CHECKPOINT_BYTES // 2)   # room for the store, not a checkpoint
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    (mount_point / "filler").unlink()
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("disk full while writing "), job.error
    assert_whole(project, session.id, saves, losses)
    assert run_train(project, session.id, 4).status == JobStatus.DONE   # room again: resumes


# ---- a read-only project folder ---------------------------------------------------------

def test_a_read_only_project_is_refused_on_open_and_nothing_is_written(
        mount_point: Path, capsys: pytest.CaptureFixture) -> None:
    root = create_project(mount_point / "project").root
    listing = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))
    done = subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"remounting read-only is not permitted here: {done.stderr.strip()}")
    swapdeck = Path(sys.executable).with_name("swapdeck")
    expected = (f"{root} is read-only: swapdeck needs to write its store ({DB_NAME}) and files "
                "there; make it writable or copy the project folder to a writable disk")
    for command in ("status", "open"):
        result = subprocess.run([str(swapdeck), command, str(root)], capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert (result.returncode, result.stdout) == (2, ""), result
        assert result.stderr == f"swapdeck {command}: {expected}\n"
    assert worker_main([str(root), "--exit-when-idle"]) == 2
    assert capsys.readouterr().err == f"swapdeck worker: {expected}\n"
    with pytest.raises(ProjectError, match="is read-only: swapdeck needs to write"):
        open_project(root)
    assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")) == listing


# ---- SIGTERM during training --------------------------------------------------------------

@pytest.mark.slow
def test_sigterm_during_training_saves_the_unit_exits_and_the_job_resumes(
        project: Project, pair, worker_processes: WorkerProcesses) -> None:
    session = train_session(project)
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id,
                                              "settings": {"iterations": 100_000,
                                                           "save_every": 100_000}})

    def tiny_worker() -> subprocess.Popen:
        log = worker_processes.log_dir / f"tiny-{len(worker_processes.started)}.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", TINY_WORKER, str(project.root), "--no-inbox"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        worker_processes.started.append((process, log))   # killed after the test if alive
        return process

    def iteration() -> int:
        with project.connection() as conn:
            return sessions.get(conn, session.id).iteration

    def losses() -> int:
        with project.connection() as conn:
            return len(sessions.losses(conn, session.id))

    worker = tiny_worker()
    wait_until(lambda: losses() >= 5 or worker.poll() is not None, timeout=120,
               what="training under way")
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert worker.wait(30) == 0
    assert time.monotonic() - started < 30
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
        [save] = sessions.checkpoints(conn, session.id, "save")
    assert job.status == JobStatus.QUEUED and "interrupted" in job.message
    stopped_at = iteration()
    assert save.iteration == stopped_at >= 5   # the unit it was in is saved
    assert file_sha256(project.models / str(session.id) / save.path) == save.sha256

    resumed = tiny_worker()
    wait_until(lambda: iteration() > stopped_at, timeout=120, what="the run to resume")
    with project.connection() as conn:
        assert jobs.get(conn, job_id).status == JobStatus.RUNNING
        workers.request_stop(conn)
    assert resumed.wait(30) == 0
    with project.connection() as conn:
        [first, second] = sessions.runs(conn, session.id)
        assert first.end_iteration == second.start_iteration == stopped_at
        assert integrity_check(conn) == "ok"


# ---- two workers started at once ----------------------------------------------------------

# a worker that loads everything, says it is ready, and registers when `go` appears
RACER = """
import pathlib, sys, time
from pipeline.worker import main
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.0005)
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.slow
def test_two_workers_started_at_once_one_runs_the_other_says_so(
        project: Project, tmp_path: Path) -> None:
    go = tmp_path / "go"
    logs = [tmp_path / f"racer{n}.log" for n in range(2)]
    racers = []
    for n, log in enumerate(logs):
        with log.open("w") as stderr:
            racers.append(subprocess.Popen(
                [sys.executable, "-c", RACER, str(tmp_path / f"ready{n}"), str(go),
                 str(project.root), "--no-inbox"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr))
    try:
        wait_until(lambda: all((tmp_path / f"ready{n}").exists() for n in range(2)),
                   timeout=120, what="both racers to load the worker")
        go.touch()   # both register within a millisecond or so of each other
        loser = wait_until(lambda: next((r for r in racers if r.poll() is not None), None),
                           timeout=60, what="one worker to give up")
        assert loser.returncode == 3
        text = logs[racers.index(loser)].read_text()
        assert "a worker is already running for this project" in text and "--kinds" in text
        winner = racers[1 - racers.index(loser)]
        assert winner.poll() is None and live_worker_count(project) == 1
        with project.connection() as conn:
            workers.request_stop(conn)
        assert winner.wait(30) == 0
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
            racer.wait()


# ---- everyone writing at once ---------------------------------------------------------------

LOCKED = ("locked", "busy")


def _guarded(errors: list[str]):
    """Runs a thread's body and keeps any exception it raises as a finding."""
    def wrap(body):
        def run() -> None:
            try:
                body()
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                errors.append(f"{type(exc).__name__}: {exc}")
        return run
    return wrap


@contextmanager
def _busy_worker(project: Project, worker_processes: WorkerProcesses, process: bool,
                 capfd: pytest.CaptureFixture, errors: list[str]):
    """A worker, in its own process or in a thread of this one, for the length of the block;
    yields a one-item list that holds the worker's stderr once it has stopped."""
    if process:
        worker = worker_processes.start(project)
    else:
        in_thread = Worker(project, WorkerOptions(watch_inbox=False))
        worker = threading.Thread(target=_guarded(errors)(in_thread.run))
        worker.start()
    wait_until(lambda: live_worker_count(project) == 1, timeout=120, what="the worker")
    stderr: list[str] = [""]
    try:
        yield stderr
    finally:
        with project.connection() as conn:
            workers.request_stop(conn)
    if process:
        assert worker.wait(60) == 0
        stderr[0] = worker_processes.started[-1][1].read_text()
    else:
        worker.join(60)
        assert not worker.is_alive()
        stderr[0] = capfd.readouterr().err


@pytest.mark.parametrize("seconds, process", [
    pytest.param(5, False, id="5s-worker-thread"),
    pytest.param(60, True, id="60s-worker-process", marks=pytest.mark.slow)])
def test_tui_polling_and_a_cli_writing_beside_a_busy_worker_never_see_a_lock(
        project: Project, tmp_path: Path, worker_processes: WorkerProcesses,
        seconds: int, process: bool, capfd: pytest.CaptureFixture) -> None:
    """The worker ingests one small image after another (a claim, rows, progress, events
    and a finish per job, as fast as it goes) while the TUI's poller reads snapshots and a
    CLI queues and cancels jobs, all on connections of their own. The short run keeps the
    worker in a thread of this process (no second start of torch), the long one runs it as
    its own process."""
    errors: list[str] = []
    stop = threading.Event()

    @_guarded(errors)
    def poll() -> None:   # what tui.poller.StorePoller does, without its delays
        with project.connection() as conn:
            while not stop.is_set():
                snapshot.read(conn, str(project.root), data_version(conn))

    count = {"queued": 0}

    @_guarded(errors)
    def cli() -> None:    # `swapdeck add --no-worker` and `swapdeck cancel`, over and over
        with project.connection() as conn:
            while not stop.is_set():
                n = count["queued"]
                image = write_image(tmp_path / "media" / f"{n}.png", n)
                job_id = jobs.enqueue(conn, "ingest", ingest_params(image, ""))
                if n % 5 == 4:
                    jobs.request_cancel(conn, job_id)
                count["queued"] = n + 1

    (tmp_path / "media").mkdir()
    with _busy_worker(project, worker_processes, process, capfd, errors) as stderr:
        threads = [threading.Thread(target=poll), threading.Thread(target=cli)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(30)
    with project.connection() as conn:
        done = jobs.count_by_status(conn)[JobStatus.DONE]
        events = [row[0] for row in conn.execute("SELECT message FROM events")]
    assert errors == []
    assert [line for line in stderr[0].splitlines() if any(w in line for w in LOCKED)] == []
    assert [line for line in events if any(w in line for w in LOCKED)] == []
    assert count["queued"] > seconds * 5 and done > seconds * 2, (count, done)
