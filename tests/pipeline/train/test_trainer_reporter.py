"""The trainer reports through its reporter alone: trained with an in-memory one, a run
leaves its losses, runs, checkpoint rows, previews and swap metrics there and writes none of
them to the store; a second run resumes from what the first one reported."""
from __future__ import annotations

import logging
import threading

import numpy as np
import torch

from pipeline.context import JobContext
from pipeline.train import checkpoint
from pipeline.train.job import new_session
from pipeline.train.keeper import load_verified
from pipeline.train.settings import RunSettings, merge_settings
from pipeline.train.trainer import RECORD_EVERY, Trainer
from store import jobs, sessions
from store.faces import DESCRIPTOR_MODEL, to_blob
from store.project import Project
from store.schema.connection import write
from tests.pipeline.train.memory_reporter import MemoryReporter
from tests.pipeline.train.tiny_model import NAME as TINY

FIRST = RECORD_EVERY + 2        # the first run's target: a save asked for at RECORD_EVERY
SECOND = 2 * RECORD_EVERY       # the second run's


def add_descriptors(project: Project, pair: dict[str, list[int]]) -> None:
    """Random descriptors for every face, so each side has a centre to measure swaps by."""
    rng = np.random.default_rng(0)
    with project.connection() as conn, write(conn):
        conn.executemany("INSERT INTO embeddings VALUES (?, ?, ?)",
                         [(face_id, DESCRIPTOR_MODEL, to_blob(rng.normal(size=128)))
                          for ids in pair.values() for face_id in ids])


def train(project: Project, session: sessions.Session, reporter: MemoryReporter,
          iterations: int) -> dict:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
        log = logging.LoggerAdapter(logging.getLogger("swapdeck.test"), {"job_id": job_id})
        ctx = JobContext(project, conn, job_id, threading.Event(), log)
        settings = RunSettings.from_dict(merge_settings(session.settings,
                                                        {"iterations": iterations}))
        return Trainer(ctx, session, settings, torch.device("cpu"), reporter=reporter).run()


def test_a_run_reports_everything_to_its_reporter_and_nothing_to_the_store(
        project: Project, pair: dict[str, list[int]]) -> None:
    add_descriptors(project, pair)
    with project.connection() as conn:
        session = new_session(conn, "memory", TINY, {}, seed=7, settings={
            "batch_size": 4, "save_every": 1000, "backups": 0})
    reporter = MemoryReporter(session.id, save_requested=True)

    result = train(project, session, reporter, FIRST)

    assert result["iteration"] == FIRST and result["iterations_run"] == FIRST
    assert sorted(reporter.loss_rows) == list(range(1, FIRST + 1))
    assert all(np.isfinite(losses).all() for losses in reporter.loss_rows.values())
    assert reporter.iteration == FIRST and not reporter.save_requested
    [run] = reporter.runs
    assert (run.start_iteration, run.end_iteration) == (0, FIRST)
    assert run.end_reason == f"reached {FIRST} iterations" and run.rollbacks == 0
    assert run.batch_size == 4 and reporter.settings["iterations"] == FIRST
    # the save asked for at RECORD_EVERY, then the closing one: each with a preview and metrics
    assert sorted(reporter.previews) == [RECORD_EVERY, FIRST]
    assert all(png.startswith(b"\x89PNG") for png in reporter.previews.values())
    assert sorted(reporter.metrics) == [RECORD_EVERY, FIRST]
    [save] = reporter.checkpoints()
    assert (save.kind, save.iteration) == ("save", FIRST)
    loaded = load_verified(project.models, save)   # the file is there, whole, as recorded
    assert loaded.checkpoint.state["iteration"] == FIRST
    assert reporter.progress_lines[-1][:2] == (FIRST, FIRST)

    with project.connection() as conn:   # the store holds the session as it was made
        assert sessions.get(conn, session.id).iteration == 0
        assert sessions.losses(conn, session.id) == []
        assert sessions.runs(conn, session.id) == []
        assert sessions.checkpoints(conn, session.id, archived=True) == []
        assert sessions.preview_iterations(conn, session.id) == []
        assert sessions.metrics(conn, session.id) == []

    # a second run continues from the checkpoint the reporter holds
    result = train(project, session, reporter, SECOND)
    assert result["iterations_run"] == SECOND - FIRST
    assert sorted(reporter.loss_rows) == list(range(1, SECOND + 1))
    assert [(run.start_iteration, run.end_iteration) for run in reporter.runs] == [
        (0, FIRST), (FIRST, SECOND)]
    assert sorted(reporter.previews) == [RECORD_EVERY, FIRST, SECOND]
    assert [(row.kind, row.iteration) for row in reporter.checkpoints()] == [("save", SECOND)]
    on_disk = sorted(path.relative_to(project.models / str(session.id)).as_posix()
                     for path in (project.models / str(session.id)).glob("*/*"))
    assert on_disk == [row.path for row in reporter.checkpoints()]
    assert checkpoint.read(project.models / str(session.id)
                           / reporter.checkpoints()[0].path).state["iteration"] == SECOND
