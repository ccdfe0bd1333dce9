"""`mask-train` survives a SIGKILL: a real worker process (tests/forked_worker.py) trains a
tiny occlusion mask and is killed once its first checkpoint is recorded; a second worker
requeues the orphaned job, resumes from the last checkpoint the row names (deleting what a
kill during a save would have left) and finishes. The store passes SQLite's integrity check,
the losses run unbroken from 1 to the target, and the model folder holds exactly the
recorded checkpoint and the preview."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from store import jobs, mask_models
from store.files.session_files import file_sha256
from store.jobs import JobStatus
from store.project import Project
from store.schema.connection import integrity_check
from tests.pipeline.masks.xseg_faces import seed_labelled, train_params
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses

SAVE_EVERY = 4
TARGET = 100     # about 25 ms an iteration on one core: seconds left to kill it in


def test_a_killed_mask_training_resumes_from_its_last_checkpoint(
        project: Project, worker_processes: WorkerProcesses, dead_pid: int) -> None:
    seed_labelled(project, count=6, labelled=4)
    params = train_params(project, iterations=TARGET, save_every=SAVE_EVERY)
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, mask_models.TRAIN_KIND, params)
    model, before = kill_after_the_first_checkpoint(project, params["model_id"],
                                                    worker_processes)
    folder = project.root / model.folder
    leave_what_a_kill_during_a_save_leaves(folder, model.iteration, dead_pid)

    resumed = worker_processes.run(project, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"job {job_id} requeued: the worker running it died" in resumed.stderr
    assert f"mask model occlusion resumes at iteration {model.iteration}" in resumed.stderr
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
        assert job.status == JobStatus.DONE and job.attempts == 2, job.error
        assert job.result["iteration"] == TARGET
        assert job.result["iterations_run"] == TARGET - model.iteration
        after = mask_models.losses(conn, model.id)
        final = mask_models.get(conn, model.id)
        assert integrity_check(conn) == "ok"
    assert [i for i, _ in after] == list(range(1, TARGET + 1))
    assert after[:model.iteration] == before[:model.iteration], "saved losses changed"
    assert sorted(p.name for p in folder.iterdir()) == sorted([final.path, "preview.png"])
    assert file_sha256(folder / final.path) == final.sha256


def kill_after_the_first_checkpoint(project: Project, model_id: int,
                                    worker_processes: WorkerProcesses
                                    ) -> tuple[mask_models.MaskModel, list[tuple[int, float]]]:
    """SIGKILL the worker once a checkpoint is recorded; the model's row and losses then."""
    worker = worker_processes.start(project)
    log = worker_processes.started[-1][1]

    def saved() -> bool:
        assert worker.poll() is None, f"the worker exited:\n{log.read_text()[-3000:]}"
        with project.connection() as conn:
            return mask_models.get(conn, model_id).path is not None

    wait_until(saved, timeout=120, interval=0.02, what="the first checkpoint")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    with project.connection() as conn:
        model = mask_models.get(conn, model_id)
        assert jobs.get(conn, 1).status == JobStatus.RUNNING
        losses = mask_models.losses(conn, model_id)
    assert SAVE_EVERY <= model.iteration < TARGET, "killed after the run had finished"
    assert [i for i, _ in losses][:model.iteration] == list(range(1, model.iteration + 1))
    return model, losses


def leave_what_a_kill_during_a_save_leaves(folder: Path, iteration: int, dead_pid: int) -> None:
    """A checkpoint renamed into place whose row was never written, and a temp file."""
    later = iteration + SAVE_EVERY
    (folder / f"iter_{later:09d}-0badf00d.safetensors").write_bytes(b"unrecorded")
    (folder / f".iter_{later:09d}-0badf00d.safetensors.swapdeck-{dead_pid}-0a1b2c3d.tmp") \
        .write_bytes(b"half")
