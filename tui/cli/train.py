"""The training commands: train (a new session or --resume), save and stop of a session.

Their options come from the catalogue (store/requests/catalogue.json), so this module
needs no torch: the flags, their help and their types are the trainer's own.
"""
from __future__ import annotations

import argparse

from store import jobs, sessions
from store.project import Project, open_project
from store.requests.catalogue import load
from store.requests.options import OptionValueError
from store.requests.train import TrainRequestError, new_session_params, resume_params
from tui.cli.common import CliError, Commands, add_queue_options, queue
from tui.cli.setting_flags import add_setting_groups, settings_given
from tui.format import cancel_outcome
from tui.printable import printable

DEFAULT_MODEL = "original"


def _models_epilog() -> str:
    lines = []
    for entry in load().models.values():
        options = ", ".join(f"{o.name}={o.show(o.default)}" for o in entry.options)
        lines.append(f"{entry.name}: {entry.help} Options (-O): {options}.")
    return "models: " + " | ".join(lines)


def add_train_parsers(commands: Commands) -> None:
    train = commands.add_parser(
        "train", help="train a model on the faces of side A and side B (a new session, or "
                      "--resume one)",
        description="Queue a train job: a new session for two people, or --resume one. "
                    "Settings under 'data', 'loss' and 'optimizer' and the model options are "
                    "frozen when the session is made; the others may change at each resume.",
        epilog=_models_epilog())
    train.add_argument("project", help="the project folder")
    train.add_argument("--resume", metavar="SESSION",
                       help="continue this session (id or name) from its newest good "
                            "checkpoint, with the per-run settings given here changed")
    train.add_argument("--name", help="the new session's name (default: A-B-MODEL)")
    train.add_argument("--a", metavar="NAME",
                       help="the person of side A (default: the person marked side A)")
    train.add_argument("--b", metavar="NAME",
                       help="the person of side B (default: the person marked side B)")
    train.add_argument("--model", choices=sorted(load().models), default=None,
                       help=f"the model to train (default {DEFAULT_MODEL}; see the list below)")
    train.add_argument("-O", "--model-option", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="a model option, e.g. -O lowmem=yes (repeatable; see below)")
    train.add_argument("--load-weights", metavar="SESSION|FILE",
                       help="start the new session's encoder from the weights of another "
                            "session of this project (its newest good checkpoint) or of a "
                            "checkpoint file, to reuse a trained encoder for a new pair; "
                            "--freeze-weights keeps them as they are")
    train.add_argument("--seed", type=int,
                       help="seed of the first weights and of the random draws (default: "
                            "random)")
    add_setting_groups(train, load().train.groups)
    add_queue_options(train)

    save = commands.add_parser("save", help="ask a training session to save now (within a "
                                            "few iterations)")
    save.add_argument("project", help="the project folder")
    save.add_argument("session", help="the session's id or name")


def _model_options(model: str, pairs: list[str]) -> dict[str, object]:
    options = {option.name: option for option in load().model(model).options}
    values: dict[str, object] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals:
            raise CliError(f"a model option is KEY=VALUE, not {pair!r}")
        key = key.strip().replace("-", "_")
        if key not in options:
            raise CliError(f"model {model} has no option {key!r} (options: "
                           f"{', '.join(options)})")
        try:
            values[key] = options[key].parse(text)
        except OptionValueError as exc:
            raise CliError(str(exc)) from None
    return values


def cmd_train(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        try:
            if args.resume:
                given = [flag for flag, value in (("--name", args.name), ("--a", args.a),
                                                  ("--b", args.b), ("--model", args.model),
                                                  ("--seed", args.seed),
                                                  ("--load-weights", args.load_weights),
                                                  ("-O", args.model_option)) if value]
                if given:
                    raise CliError(f"{', '.join(given)} cannot change when resuming: they "
                                   "belong to the session")
                return queue_resume(project, conn, args.resume, args)
            model = args.model or DEFAULT_MODEL
            params = new_session_params(
                conn, model=model, model_options=_model_options(model, args.model_option),
                settings=settings_given(args, load().train), a=args.a, b=args.b, name=args.name,
                seed=args.seed, load_weights=args.load_weights)
        except TrainRequestError as exc:
            raise CliError(str(exc)) from None
        return queue(project, conn, "train", [params], args, show_progress=True)


def queue_resume(project: Project, conn, reference: str, args: argparse.Namespace) -> int:
    """`train --resume` and `resume`: queue a job that continues the session from its newest
    checkpoint, with the per-run settings given in `args` changed."""
    session = resolve_session(conn, reference)
    try:
        params = resume_params(conn, project.models, session, settings_given(args, load().train))
    except TrainRequestError as exc:
        raise CliError(str(exc)) from None
    live = sessions.checkpoints(conn, session.id)   # newest first: the one it resumes from
    start = live[0].iteration if live else 0
    target = params["settings"].get("iterations", session.settings.get(
        "iterations", load().train.option("iterations").default))
    if target <= start:
        raise CliError(f"session {session.name} has reached its {target:,} iterations: give "
                       f"--iterations above {start:,} to train on")
    print(printable(f"session {session.name} resumes at iteration {start:,} and trains to "
                    f"{target:,}"))
    return queue(project, conn, "train", [params], args, show_progress=True)


def resolve_session(conn, reference: str) -> sessions.Session:
    try:
        return sessions.resolve(conn, reference)
    except sessions.SessionError as exc:
        raise CliError(str(exc)) from None


def _training_job(conn, session: sessions.Session) -> int:
    job_id = sessions.active_job(conn, session.id)
    if job_id is None:
        raise CliError(f"session {session.name} is not training")
    return job_id


def cmd_save(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        job_id = _training_job(conn, session)
        sessions.request_save(conn, session.id)
    print(printable(f"asked session {session.name} (train job {job_id}) to save within a few "
                    "iterations"))
    return 0


def stop_session(conn, reference: str) -> str:
    """Cancel a session's train job: a running one saves first, then stops."""
    session = resolve_session(conn, reference)
    job_id = _training_job(conn, session)
    outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
    return f"session {session.name}: {outcome} (a running session saves before it stops)"


COMMANDS = {"train": cmd_train, "save": cmd_save}
