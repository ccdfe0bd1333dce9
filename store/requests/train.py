"""The parameters of train jobs, checked as far as can be without the trainer.

The CLI and the Train screen both build their jobs here. Types, choices, people and names
are checked now, so a typo fails at once; the trainer checks ranges and combinations when
the job starts, and a job that fails there says why in its error.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from store import lr_sweeps, sessions
from store.views.analysis import health
from store.requests.catalogue import load
from store.requests.extract import MASKS as LANDMARKS
from store.requests.options import OptionValueError
from store.training_faces import PersonError, choose_person
from store.errors import RequestError



class TrainRequestError(RequestError):
    """A train or resume request that cannot be queued; the message is one line."""


def split_settings(values: Mapping[str, object]) -> tuple[dict[str, dict], dict[str, Any]]:
    """Flat {setting: value}, each checked, as `(frozen groups, per-run settings)` in the
    shapes a session stores them."""
    try:
        return load().train.nest(values)
    except OptionValueError as exc:
        raise TrainRequestError(str(exc), field=exc.field) from None


def check_model_options(model: str, options: Mapping[str, object]) -> None:
    """Each model option a known one of `model`, of its type, choices and bounds."""
    try:
        known = {option.name: option for option in load().model(model).options}
        for name, value in options.items():
            if name not in known:
                raise TrainRequestError(f"model {model} has no option {name} (options: "
                                        f"{', '.join(known)})", field=name)
            known[name].check(value)
    except OptionValueError as exc:
        raise TrainRequestError(str(exc), field=exc.field) from None


def _person(conn: sqlite3.Connection, name: str | None, side: str) -> str:
    try:
        return choose_person(conn, side, name=name).name
    except PersonError as exc:
        raise TrainRequestError(str(exc)) from None


def default_name(conn: sqlite3.Connection, a: str, b: str, model: str) -> str:
    """`<a>-<b>-<model>`, numbered when taken."""
    base = re.sub(r"\s+", "_", f"{a}-{b}-{model}")
    taken = {session.name for session in sessions.list_sessions(conn)}
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def new_session_params(conn: sqlite3.Connection, *, model: str,
                       model_options: Mapping[str, object], settings: Mapping[str, object],
                       a: str | None = None, b: str | None = None, name: str | None = None,
                       seed: int | None = None,
                       load_weights: str | None = None) -> dict[str, Any]:
    """A job that makes a session for people `a` and `b` (default: the marked sides) and
    trains it; with `load_weights` (a session or a checkpoint file), its encoder starts
    from that model's."""
    check_model_options(model, model_options)
    person_a, person_b = _person(conn, a, "A"), _person(conn, b, "B")
    if person_a == person_b:
        raise TrainRequestError(f"{person_a} cannot be both side A and side B")
    name = name or default_name(conn, person_a, person_b, model)
    if any(session.name == name for session in sessions.list_sessions(conn)):
        raise TrainRequestError(f"a session named {name!r} exists: choose another name, or "
                                "continue it with --resume")
    frozen, run = split_settings(settings)
    _check_stored_mask(conn, frozen.get("data", {}).get("mask_type"), (person_a, person_b))
    spec = {"name": name, "model": model, "model_options": dict(model_options),
            "a": person_a, "b": person_b, **frozen}
    if seed is not None:
        spec["seed"] = seed
    if load_weights is not None:
        spec["load_weights"] = _weights_source(conn, load_weights)
    return {"new_session": spec, "settings": run}


def _check_stored_mask(conn: sqlite3.Connection, kind: str | None,
                       people: tuple[str, str]) -> None:
    """A mask kind that cannot be drawn from landmarks must be stored for every face the
    session trains on (each side's kept, included faces)."""
    if kind in (None, "none", *LANDMARKS):
        return
    for person in people:
        missing = conn.execute(
            """SELECT COUNT(*) FROM faces f JOIN identities i ON i.id = f.identity_id
               LEFT JOIN masks m ON m.face_id = f.id AND m.kind = ?
               WHERE i.name = ? AND f.rejected IS NULL AND f.excluded = 0
               AND m.face_id IS NULL""", (kind, person)).fetchone()[0]
        if missing:
            raise TrainRequestError(
                f"{missing} of {person}'s faces have no {kind} mask: compute it first "
                f"(swapdeck masks add PROJECT {kind}, or masks apply for xseg) or train with "
                "another --mask-type", field="mask_type")


def _weights_source(conn: sqlite3.Connection, source: str) -> str:
    """A session of this project (by id or name) or a checkpoint file, as the job takes it."""
    path = Path(source).expanduser()
    if path.is_file():
        return str(path.resolve())
    try:
        return sessions.resolve(conn, source).name
    except sessions.SessionError:
        raise TrainRequestError(f"weights to load: {source!r} is neither a session of this "
                                "project nor a checkpoint file") from None


def resume_params(conn: sqlite3.Connection, models: Path, session: sessions.Session,
                  settings: Mapping[str, object]) -> dict[str, Any]:
    """A job that continues `session` with some per-run settings changed; refused while it
    trains, or when its newest model file is missing or damaged."""
    if (job_id := sessions.active_job(conn, session.id)) is not None:
        raise TrainRequestError(f"session {session.name} already has train job {job_id} "
                                "queued or running")
    if (job_id := lr_sweeps.active_job(conn, session.id)) is not None:
        raise TrainRequestError(f"session {session.name} has learning-rate sweep job {job_id} "
                                "queued or running: wait for it, or cancel it")
    if (problem := health(conn, models, session).problem) is not None:
        raise TrainRequestError(problem)
    frozen, run = split_settings(settings)
    fixed = sorted(name for group in frozen.values() for name in group)
    if fixed:
        raise TrainRequestError(f"{', '.join(fixed)} cannot change: session {session.name}'s "
                                "model was trained with its own (start a new session instead)")
    return {"session_id": session.id, "settings": run}


def describe_settings(session: sessions.Session) -> tuple[list[str], list[str]]:
    """(frozen, per-run) settings of a session as `group: key=value, ...` lines."""
    family, config, settings = load().train, session.config, session.settings
    model_options = ", ".join(f"{k}={v}" for k, v in config.get("model_options", {}).items())
    frozen = [f"model: {session.model}" + (f" ({model_options})" if model_options else "")]
    for group in family.frozen_groups:
        values = ", ".join(f"{k}={v}" for k, v in config.get(group, {}).items())
        frozen.append(f"{group}: {values or 'defaults'}")
    run = [", ".join(f"{k}={v}" for k, v in settings.items() if k not in family.nested_groups)]
    run += [f"{group}: " + ", ".join(f"{k}={v}" for k, v in settings.get(group, {}).items())
            for group in family.nested_groups if settings.get(group)]
    return frozen, run
