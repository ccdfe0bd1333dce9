"""Inbox watching: media dropped into a folder is added once it has stopped growing."""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from pipeline.watch import InboxWatcher
from store import jobs, sources, workers
from store.project import Project
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses

SETTLE_S = 1.0


def queued_ingests(project: Project) -> list[jobs.Job]:
    with project.connection() as conn:
        return [j for j in jobs.list_jobs(conn) if j.kind == "ingest"]


def test_a_file_still_being_copied_is_not_added_until_it_settles(
    project: Project, tmp_path: Path, astronaut_png: Path
) -> None:
    drop = tmp_path / "drop"
    watcher = InboxWatcher(project, drop, logging.getLogger("test"), settle_s=SETTLE_S)
    watcher.start()
    try:
        (drop / ".hidden.png").write_bytes(astronaut_png.read_bytes())
        (drop / "download.mp4.part").write_bytes(b"partial")
        data = astronaut_png.read_bytes()
        target = drop / "arriving.png"
        step = len(data) // 20
        with target.open("wb") as handle:
            for start in range(0, len(data), step):
                handle.write(data[start:start + step])
                handle.flush()
                time.sleep(0.1)
                assert queued_ingests(project) == [], "queued while the file was still growing"
        [job] = wait_until(lambda: queued_ingests(project), timeout=15, what="the ingest job")
        assert job.params["path"] == str(target.resolve())
        assert job.params["size"] == len(data)
        time.sleep(SETTLE_S * 2)
        assert len(queued_ingests(project)) == 1, "the same file is queued once"
    finally:
        watcher.stop()


def test_the_worker_ingests_what_lands_in_the_project_inbox(
    project: Project, astronaut_png: Path, worker_processes: WorkerProcesses
) -> None:
    worker_processes.start(project, inbox=True)
    shutil.copy(astronaut_png, project.inbox / "dropped in.png")
    with project.connection() as conn:
        [source] = wait_until(lambda: sources.list_sources(conn, ready_only=True), timeout=30,
                              what="the dropped image to be ingested")
        assert source.path == str(project.inbox / "dropped in.png")
        workers.request_stop(conn)
