"""The train job: one run of a session, from its newest checkpoint to its target."""
from __future__ import annotations

import secrets
import sqlite3
from dataclasses import replace
from typing import Any

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.registry import job_kind
from pipeline.train import checkpoint
from pipeline.train.data_settings import TrainingDataError
from pipeline.train.models.registry import ModelOptionError, make_config
from pipeline.train.multi_gpu import run_distributed
from pipeline.train.session_config import SessionConfig
from pipeline.train.settings import RunSettings, merge_settings
from pipeline.devices import default_device
from pipeline.train.trainer import Faults, Trainer
from pipeline.train.transfer import TransferError, prepare_transfer
from store import sessions
from store.project import Project
from store.training_faces import PersonError, choose_person


@job_kind("train")
def train(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Params: `session_id` to continue a session, or `new_session` (new_session's keyword
    arguments) to make one first; `settings` overrides the session's per-run settings.
    Test hooks, never set by users: `faults`, and `cpu_processes` (several processes on the
    CPU with gloo, where settings.gpus asks for GPUs)."""
    overrides = params.get("settings", {})
    try:
        if "new_session" in params:
            session = (sessions.created_by(ctx.conn, ctx.job_id)
                       or new_session(ctx.conn, **params["new_session"], settings=overrides,
                                      created_by_job=ctx.job_id, project=ctx.project))
        else:
            session = sessions.get(ctx.conn, int(params["session_id"]))
        settings = RunSettings.from_dict(merge_settings(session.settings, overrides))
    except (sessions.SessionError, TrainingDataError, ModelOptionError,
            checkpoint.CheckpointError, ValueError, TypeError, KeyError) as exc:
        raise JobError(f"missing {exc.args[0]!r} in the job's parameters"
                       if isinstance(exc, KeyError) else str(exc)) from exc
    faults = params.get("faults", {})
    try:
        if settings.gpus > 1:
            return run_distributed(ctx, session, settings, faults,
                                   cpu_processes=bool(params.get("cpu_processes")))
        return Trainer(ctx, session, settings, default_device(),
                       Faults(set(faults.get("nan_at", [])))).run()
    except (TrainingDataError, ModelOptionError, TransferError) as exc:
        raise JobError(str(exc)) from exc


def new_session(conn: sqlite3.Connection, name: str, model: str, model_options: dict[str, Any],
                data: dict[str, Any] | None = None, loss: dict[str, Any] | None = None,
                optimizer: dict[str, Any] | None = None,
                settings: dict[str, Any] | None = None, seed: int | None = None,
                a: str | None = None, b: str | None = None,
                created_by_job: int | None = None, load_weights: str | None = None,
                project: Project | None = None) -> sessions.Session:
    """A session for people `a` and `b` (by name; default: the people marked side A and
    side B), its config checked and frozen. `load_weights` (a session or a checkpoint
    file; needs `project`) gives the encoder weights its first run starts from."""
    try:
        people = {side: choose_person(conn, side, name=name) for side, name in (("A", a),
                                                                                 ("B", b))}
    except PersonError as exc:
        raise TrainingDataError(str(exc)) from None
    if people["A"].id == people["B"].id:
        raise TrainingDataError(f"{people['A'].name} cannot be both side A and side B")
    model_config = make_config(model, model_options)
    data = {"size": max(model_config.input_size, model_config.output_size), **(data or {})}
    config = SessionConfig.from_dict({"model": model, "model_options": model_options,
                                      "data": data, "loss": loss or {},
                                      "optimizer": optimizer or {},
                                      "seed": secrets.randbelow(2**31) if seed is None else seed})
    run_settings = RunSettings.from_dict(settings or {})
    if load_weights is not None:
        if project is None:
            raise ValueError("loading weights needs the project")
        config = replace(config, load_weights=prepare_transfer(conn, project, load_weights,
                                                               model_config))
    return sessions.create(conn, name, model, config.to_dict(), people["A"].id, people["B"].id,
                           run_settings.to_dict(), created_by_job)

