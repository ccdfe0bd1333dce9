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
from pipeline.train.settings import RunSettings
from pipeline.train.trainer import Faults, Trainer, default_device
from store import sessions
from store.training_faces import side_person


@job_kind("train")
def train(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    try:
        session = sessions.get(ctx.conn, int(params["session_id"]))
        settings = RunSettings.from_dict({**session.settings, **params.get("settings", {})})
    except (sessions.SessionError, ValueError, TypeError) as exc:
        raise JobError(str(exc)) from exc
    faults = Faults(set(params.get("faults", {}).get("nan_at", [])))
    try:
        return Trainer(ctx, session, settings, default_device(), faults).run()
    except (TrainingDataError, ModelOptionError) as exc:
        raise JobError(str(exc)) from exc


def new_session(conn: sqlite3.Connection, name: str, model: str, model_options: dict[str, Any],
                data: dict[str, Any] | None = None, loss: dict[str, Any] | None = None,
                settings: dict[str, Any] | None = None,
                seed: int | None = None) -> sessions.Session:
    """A session for the people marked side A and side B, its config checked and frozen."""
    people = {side: side_person(conn, side) for side in ("A", "B")}
    missing = [side for side, person in people.items() if person is None]
    if missing:
        raise TrainingDataError(f"no person is marked side {' or '.join(missing)}")
    model_config = make_config(model, model_options)
    data = {"size": max(model_config.input_size, model_config.output_size), **(data or {})}
    config = SessionConfig.from_dict({"model": model, "model_options": model_options,
                                      "data": data, "loss": loss or {},
                                      "seed": secrets.randbelow(2**31) if seed is None else seed})
    run_settings = RunSettings.from_dict(settings or {})
    return sessions.create(conn, name, model, config.to_dict(), people["A"].id, people["B"].id,
                           run_settings.to_dict())
