"""The train job: one run of a session, from its newest checkpoint to its target."""
from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.registry import job_kind
from pipeline.train.data_settings import TrainingDataError
from pipeline.train.models.registry import ModelOptionError, make_config
from pipeline.train.session_config import SessionConfig
from pipeline.train.settings import RunSettings, merge_settings
from pipeline.devices import default_device
from pipeline.train.trainer import Faults, Trainer
from store import sessions
from store.training_faces import PersonError, choose_person


@job_kind("train")
def train(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Params: `session_id` to continue a session, or `new_session` (new_session's keyword
    arguments) to make one first; `settings` overrides the session's per-run settings."""
    overrides = params.get("settings", {})
    try:
        if "new_session" in params:
            session = (sessions.created_by(ctx.conn, ctx.job_id)
                       or new_session(ctx.conn, **params["new_session"], settings=overrides,
                                      created_by_job=ctx.job_id))
        else:
            session = sessions.get(ctx.conn, int(params["session_id"]))
        settings = RunSettings.from_dict(merge_settings(session.settings, overrides))
    except (sessions.SessionError, TrainingDataError, ModelOptionError, ValueError,
            TypeError, KeyError) as exc:
        raise JobError(f"missing {exc.args[0]!r} in the job's parameters"
                       if isinstance(exc, KeyError) else str(exc)) from exc
    faults = Faults(set(params.get("faults", {}).get("nan_at", [])))
    try:
        return Trainer(ctx, session, settings, default_device(), faults).run()
    except (TrainingDataError, ModelOptionError) as exc:
        raise JobError(str(exc)) from exc


def new_session(conn: sqlite3.Connection, name: str, model: str, model_options: dict[str, Any],
                data: dict[str, Any] | None = None, loss: dict[str, Any] | None = None,
                settings: dict[str, Any] | None = None, seed: int | None = None,
                a: str | None = None, b: str | None = None,
                created_by_job: int | None = None) -> sessions.Session:
    """A session for people `a` and `b` (by name; default: the people marked side A and
    side B), its config checked and frozen."""
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
                                      "seed": secrets.randbelow(2**31) if seed is None else seed})
    run_settings = RunSettings.from_dict(settings or {})
    return sessions.create(conn, name, model, config.to_dict(), people["A"].id, people["B"].id,
                           run_settings.to_dict(), created_by_job)

