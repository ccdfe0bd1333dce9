"""Training on several GPUs: the train job runs torchrun, which starts one process per GPU.

The worker's train job stays the owner of the job: it builds the face caches first (so the
ranks only read them), starts `python -m torch.distributed.run --nproc-per-node N -m
pipeline.train.multi_gpu LAUNCH.json`, forwards a worker stop to it as SIGTERM, and turns
rank 0's outcome file back into the job's result or error. Each rank runs the same Trainer
with DistributedDataParallel; rank 0 alone writes the model files and reports (through its
StoreReporter, into the store).

If the worker itself is killed, the kernel sends torchrun SIGTERM (PR_SET_PDEATHSIG), so no
orphaned rank keeps training.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pipeline.context import JobContext
from pipeline.errors import JobCancelled, JobError, WorkerStopping
from pipeline.eventlog import LOGGER_NAME, job_logger, setup_logging
from pipeline.train.data import open_training_data
from pipeline.train.models.registry import config_class
from pipeline.train.replicas import DistributedReplicas
from pipeline.train.session_config import SessionConfig
from pipeline.train.settings import RunSettings
from pipeline.train.store_reporter import StoreReporter
from pipeline.train.trainer import Faults, Trainer
from store import sessions
from store.project import open_project

_PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 120        # how long a stopping run may take to save before it is killed


def processes_and_backend(gpus: int, cpu_processes: bool) -> str:
    """The torch.distributed backend for `gpus` processes; a clear error when the machine
    cannot run them. `cpu_processes` (tests only) runs them on the CPU with gloo."""
    if cpu_processes:
        return "gloo"
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found < gpus:
        raise JobError(f"--gpus {gpus} needs {gpus} CUDA GPUs; this machine has {found}")
    return "nccl"


def run_distributed(ctx: JobContext, session: sessions.Session, settings: RunSettings,
                    faults: dict[str, Any], cpu_processes: bool = False) -> dict[str, Any]:
    """Run one training run of `session` on settings.gpus processes; the job's result."""
    backend = processes_and_backend(settings.gpus, cpu_processes)
    config = SessionConfig.from_dict(session.config)
    reporter = StoreReporter(ctx, session.id)
    open_training_data(ctx.project, ctx.conn, config.data, settings.batch_size,
                       identity_a=session.identity_a, identity_b=session.identity_b,
                       on_progress=lambda done, total: reporter.progress(
                           done, total, f"caching faces {done}/{total}"),
                       checkpoint=ctx.checkpoint)
    reporter.progress(0, None, f"starting {settings.gpus} training processes", force=True)
    with tempfile.TemporaryDirectory(prefix="swapdeck-ranks-") as folder:
        launch = Path(folder) / "launch.json"
        outcome = Path(folder) / "outcome.json"
        launch.write_text(json.dumps({
            "project": str(ctx.project.root), "job_id": ctx.job_id, "session_id": session.id,
            "settings": settings.to_dict(), "faults": faults, "backend": backend,
            "outcome": str(outcome),
            # registered models are known wherever their module is imported, plug-ins too
            "model_module": config_class(config.model_name).__module__}), encoding="utf-8")
        code = _run_torchrun(ctx, settings.gpus, launch)
        if not outcome.exists():
            raise JobError(f"the {settings.gpus} training processes ended with exit code "
                           f"{code} before rank 0 finished: see the worker's log")
        return _job_outcome(json.loads(outcome.read_text(encoding="utf-8")))


def _run_torchrun(ctx: JobContext, processes: int, launch: Path) -> int:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", "-m", "pipeline.train.multi_gpu", str(launch)]
    child = subprocess.Popen(command, preexec_fn=_die_with_parent)
    stopping_since: float | None = None
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if ctx.stop_event.is_set() and stopping_since is None:
            child.send_signal(signal.SIGTERM)
            stopping_since = 0.0
        elif stopping_since is not None:
            stopping_since += 0.5
            if stopping_since > STOP_GRACE_S:
                child.kill()


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the worker dies, whatever kills it."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _job_outcome(outcome: dict[str, Any]) -> dict[str, Any]:
    if "result" in outcome:
        return outcome["result"]
    if outcome.get("cancelled"):
        raise JobCancelled()
    if outcome.get("stopping"):
        raise WorkerStopping()
    raise JobError(outcome.get("error", "the training processes failed without a reason"))


# ---- inside each rank ----------------------------------------------------------------

def rank_main(launch_path: str) -> int:
    launch = json.loads(Path(launch_path).read_text(encoding="utf-8"))
    importlib.import_module(launch["model_module"])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cpu")
    if launch["backend"] == "nccl":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(launch["backend"])
    replicas = DistributedReplicas(device)
    project = open_project(Path(launch["project"]))
    if replicas.is_writer:
        logger = setup_logging(project, "worker")
    else:
        logger = logging.getLogger(f"{LOGGER_NAME}.rank{replicas.rank}")
        logger.addHandler(logging.StreamHandler(sys.stderr))
        logger.setLevel(logging.INFO)
    conn = project.connect()
    ctx = JobContext(project, conn, int(launch["job_id"]), stop,
                     job_logger(logger, int(launch["job_id"])))
    outcome = _train_rank(ctx, launch, device, replicas)
    if replicas.is_writer:
        Path(launch["outcome"]).write_text(json.dumps(outcome), encoding="utf-8")
    dist.destroy_process_group()
    conn.close()
    return 1 if "error" in outcome else 0


def _train_rank(ctx: JobContext, launch: dict[str, Any], device: torch.device,
                replicas: DistributedReplicas) -> dict[str, Any]:
    try:
        session = sessions.get(ctx.conn, int(launch["session_id"]))
        settings = RunSettings.from_dict(launch["settings"])
        faults = Faults(set(launch["faults"].get("nan_at", [])))
        result = Trainer(ctx, session, settings, device, faults, replicas).run()
        return {"result": result}
    except JobCancelled:
        return {"cancelled": True}
    except WorkerStopping:
        return {"stopping": True}
    except JobError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported to the worker as the job's error
        traceback.print_exc()
        return {"error": f"rank {replicas.rank}: internal error: {type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    sys.exit(rank_main(sys.argv[1]))
