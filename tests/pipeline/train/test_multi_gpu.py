"""Multi-GPU training: torchrun, one process per replica, DistributedDataParallel, the store
written by rank 0 only. Run here as two CPU processes with the gloo backend."""
from __future__ import annotations

import pytest
import torch

from pipeline.errors import JobError
from pipeline.train import checkpoint
from pipeline.train.multi_gpu import processes_and_backend
from store import sessions
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.train.tiny_sessions import make_session, newest_weights, run_train

ITERATIONS = 20


def test_two_replicas_train_as_one_and_write_the_store_once(project: Project, pair) -> None:
    session = make_session(project, "ddp")
    job = run_train(project, session.id, settings={"iterations": ITERATIONS, "gpus": 2},
                    cpu_processes=True)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["replicas"] == 2 and job.result["iteration"] == ITERATIONS
    with project.connection() as conn:
        [run] = sessions.runs(conn, session.id)
        assert run.end_iteration == ITERATIONS
        iterations = [i for i, _, _ in sessions.losses(conn, session.id)]
        assert iterations == list(range(1, ITERATIONS + 1))   # written once, by rank 0
        assert sessions.preview_iterations(conn, session.id) == [10, 20]
        saves = sessions.checkpoints(conn, session.id, "save")
        assert integrity_check(conn) == "ok"
    assert len({save.iteration for save in saves}) == len(saves)
    # the replicas' weights were compared at every save (the run fails if they differ);
    # the checkpoint carries each replica's own place in its faces and random numbers
    saved = checkpoint.read(project.models / str(session.id) / saves[0].path)
    assert {"sample", "augment", "sample.1", "augment.1"} <= set(saved.generators)
    [second] = saved.state["replica_samplers"]
    assert second["A"]["seed"] != saved.state["sampler"]["A"]["seed"]   # its own shuffle
    assert not torch.equal(saved.generators["sample"], saved.generators["sample.1"])

    # same seed, same first weights: with a second replica's gradients averaged in, the
    # weights must end elsewhere than one process's (else the second replica did nothing)
    single = make_session(project, "single")
    assert run_train(project, single.id,
                     settings={"iterations": ITERATIONS}).status == JobStatus.DONE
    one, two = newest_weights(project, single), newest_weights(project, session)
    assert one.keys() == two.keys()
    assert any(not torch.equal(one[name], two[name]) for name in one)


def test_more_gpus_than_the_machine_has_are_refused_clearly() -> None:
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(JobError, match=f"--gpus {found + 1} needs {found + 1} CUDA GPUs; "
                                       f"this machine has {found}"):
        processes_and_backend(found + 1, cpu_processes=False)
    assert processes_and_backend(2, cpu_processes=True) == "gloo"
