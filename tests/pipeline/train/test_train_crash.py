"""A worker SIGKILLed while it writes a training checkpoint loses nothing it had committed.

A real `python -m pipeline.worker` trains the real `original` model (lowmem: each checkpoint
file is a few hundred MB, so a write takes long enough to catch). Once a save is in the store
the test watches the session's model folder and kills the worker the moment a temp file of a
later checkpoint appears. A second worker requeues the orphaned job, resumes from the last
whole save and finishes; then the store, the losses, the previews and every model file must
be whole and consistent.
"""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from pipeline.train import checkpoint
from pipeline.train.job import new_session
from store import jobs, sessions
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from store.files.session_files import file_sha256
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses

SAVE_EVERY = 2      # a save (with its backup) at 2, then the run's closing save at its target,
TARGET = 3          # whose write is the one killed (fewest steps: each takes seconds on a CPU)
POLL_S = 0.003
TEMP = re.compile(r"^\.iter_(\d+)-[0-9a-f]+\.safetensors\.swapdeck-(\d+)-[0-9a-f]+\.tmp$")
KINDS = [f"{kind}s" for kind in sessions.CHECKPOINT_KINDS]


def temps(folder: Path) -> list[tuple[Path, int, int]]:
    """(path, iteration, writer's pid) of every checkpoint temp file in the session's folder."""
    found = []
    for kind in KINDS:
        try:
            entries = list(os.scandir(folder / kind))
        except FileNotFoundError:
            continue
        for entry in entries:
            if match := TEMP.match(entry.name):
                found.append((Path(entry.path), int(match[1]), int(match[2])))
    return found


def test_a_worker_killed_while_writing_a_checkpoint_resumes_from_the_last_whole_save(
        project: Project, pair, worker_processes: WorkerProcesses) -> None:
    with project.connection() as conn:
        session = new_session(conn, "crash", "original", {"lowmem": True}, seed=5, settings={
            "batch_size": 2, "save_every": SAVE_EVERY, "iterations": TARGET, "backups": 1})
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
    folder = project.models / str(session.id)
    kill_during_a_later_save(project, session.id, folder, worker_processes)
    good, before_losses = committed_before_the_kill(project, session.id, job_id, folder)

    # 4. a new worker requeues the dead one's job and finishes it
    resumed = worker_processes.run(project, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"job {job_id} requeued: the worker running it died" in resumed.stderr

    # 5. everything is whole and consistent
    rows = check_resumed_store(project, session.id, job_id, good, before_losses,
                               resumed.stderr)
    check_model_files(folder, rows)


def kill_during_a_later_save(project: Project, session_id: int, folder: Path,
                             worker_processes: WorkerProcesses) -> None:
    """Steps 1 and 2: a worker trains until a save is committed, and is SIGKILLed the moment
    a temp file of a later checkpoint appears."""
    worker = worker_processes.start(project)
    log = worker_processes.started[-1][1]

    def alive() -> bool:
        assert worker.poll() is None, (
            f"the worker exited ({worker.returncode}) before it could be killed:\n"
            f"{log.read_text()[-3000:]}")
        return True

    # 1. a save is committed (file, row, older saves dropped)
    with project.connection() as conn:
        [first] = wait_until(
            lambda: alive() and sessions.checkpoints(conn, session_id, "save"), timeout=300,
            interval=0.1, what="the first save to be recorded")
    assert first.iteration == SAVE_EVERY

    # 2. kill the worker the moment a checkpoint later than that save is being written
    deadline = time.monotonic() + 300
    while not (later := [t for t in temps(folder) if t[1] > first.iteration]):
        assert time.monotonic() < deadline, "no later checkpoint write began within 300s"
        alive()
        time.sleep(POLL_S)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)  # reaped: a zombie's pid would still look alive to the next worker
    assert worker.returncode == -signal.SIGKILL
    [(temp, temp_iteration, writer)] = later
    assert (temp_iteration, writer) == (TARGET, worker.pid), temp.name
    assert temp.exists(), f"{temp.name} was renamed before the kill landed: not killed mid-write"


def committed_before_the_kill(project: Project, session_id: int, job_id: int, folder: Path
                              ) -> tuple[sessions.Checkpoint, list[tuple[int, float, float]]]:
    """Step 3: what was committed before the kill: the whole save and the losses."""
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
        assert job.status == JobStatus.RUNNING and job.attempts == 1
        saves = sessions.checkpoints(conn, session_id, "save")
        before_losses = sessions.losses(conn, session_id)
        [before_run] = sessions.runs(conn, session_id)
    assert [s.iteration for s in saves] == [SAVE_EVERY], saves
    good = saves[0]
    assert file_sha256(folder / good.path) == good.sha256
    assert before_run.start_iteration == 0 and before_run.ended_at is None
    assert [i for i, _, _ in before_losses] == list(range(1, TARGET + 1)), (
        "the losses up to the killed save are recorded before it is written")
    return good, before_losses


def check_resumed_store(project: Project, session_id: int, job_id: int,
                        good: sessions.Checkpoint, before_losses: list[tuple[int, float, float]],
                        stderr: str) -> list[sessions.Checkpoint]:
    """The store after the resumed run: the job, the runs, the losses and the previews;
    returns the session's checkpoint rows."""
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
        assert job.status == JobStatus.DONE, (job.status, job.error, stderr[-3000:])
        assert job.attempts == 2
        assert job.result["iteration"] == TARGET
        assert job.result["iterations_run"] == TARGET - good.iteration
        assert sessions.get(conn, session_id).iteration == TARGET
        [first, second] = sessions.runs(conn, session_id)
        assert first.end_iteration == good.iteration and first.ended_at is not None
        assert first.end_reason == ("the worker died; the next run resumed from iteration "
                                    f"{good.iteration}")
        assert (second.start_iteration, second.end_iteration) == (good.iteration, TARGET)
        assert second.end_reason == f"reached {TARGET} iterations"
        after_losses = sessions.losses(conn, session_id)
        assert [i for i, _, _ in after_losses] == list(range(1, TARGET + 1))
        kept = [row for row in before_losses if row[0] <= good.iteration]
        assert after_losses[:good.iteration] == kept, "losses committed before the kill changed"
        assert sessions.preview_iterations(conn, session_id) == [SAVE_EVERY, TARGET]
        assert integrity_check(conn) == "ok"
        return sessions.checkpoints(conn, session_id)


def check_model_files(folder: Path, rows: list[sessions.Checkpoint]) -> None:
    """Every model file whole and named by a row, every row's file there, no temp left."""
    assert not list(folder.rglob("*.tmp")), "a temp file was left behind"
    for row in rows:
        path = folder / row.path
        assert path.is_file(), f"{row.kind} {row.iteration}: {row.path} is missing"
        assert file_sha256(path) == row.sha256, f"{row.path} differs from its hash"
    on_disk = {path.relative_to(folder).as_posix() for path in folder.glob("*/*")}
    assert on_disk == {row.path for row in rows}, "model files and checkpoint rows differ"
    [final] = [row for row in rows if row.kind == "save"]
    assert final.iteration == TARGET
    assert checkpoint.read(folder / final.path).state["iteration"] == TARGET
