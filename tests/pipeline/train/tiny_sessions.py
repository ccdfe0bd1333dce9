"""Sessions of the tiny model on a real store, and jobs run to the end by an in-process worker."""
from __future__ import annotations

import torch

from pipeline.train import checkpoint
from pipeline.train.job import new_session
from pipeline.worker import Worker, WorkerOptions
from store import jobs, sessions
from store.project import Project
from tests.pipeline.train.tiny_model import NAME as TINY

FAST = {"batch_size": 4, "save_every": 10, "mixed_precision": True}


def run_train(project: Project, session_id: int, **params) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session_id, **params})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def make_session(project: Project, name: str, **settings) -> sessions.Session:
    with project.connection() as conn:
        return new_session(conn, name, TINY, {}, settings={**FAST, **settings}, seed=7)


def newest_weights(project: Project, session: sessions.Session) -> dict[str, torch.Tensor]:
    with project.connection() as conn:
        save = sessions.checkpoints(conn, session.id, "save")[0]
    return checkpoint.read(project.models / str(session.id) / save.path).model


def drain(project: Project) -> list[jobs.Job]:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.list_jobs(conn)
