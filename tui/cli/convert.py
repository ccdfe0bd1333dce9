"""`swapdeck convert`: the Convert screen's twin. Queues a convert job (or, with --preview, a
preview job and waits for its picture), with every setting of the converter as a flag.

    swapdeck convert PROJECT --session S --source SRC [settings...] [--out PATH] [--overwrite]
    swapdeck convert PROJECT --session S --source SRC --preview FRAME --out x.png
    swapdeck conversions PROJECT [--json]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from store import conversions
from store.requests.catalogue import load
from store.requests.convert import ConvertRequestError, convert_params, preview_params
from store.project import open_project
from tui.cli.common import (CliError, Commands, JSON_SCHEMA, add_queue_options, print_json, queue,
                           resolve_source)
from tui.cli.setting_flags import add_setting_groups, settings_given
from tui.cli.train import resolve_session
from tui.format import human_age
from tui.printable import printable


def add_convert_parsers(commands: Commands) -> None:
    convert = commands.add_parser(
        "convert", help="swap a person's face in a video with a trained session's model",
        description="Queue a convert job: every frame of the source is searched for faces "
                    "(frames an every-n extraction skipped are extracted first), the chosen "
                    "person's face is swapped, and the output is written with the source's "
                    "timing and audio. Every output is marked as synthetic (metadata and an "
                    "invisible watermark; see swapdeck verify).")
    convert.add_argument("project", help="the project folder")
    convert.add_argument("--session", required=True,
                         help="the session whose model swaps (its id or name)")
    convert.add_argument("--source", required=True,
                         help="the video to convert (its source id or the path it was added "
                              "from)")
    convert.add_argument("--out", type=Path, metavar="PATH",
                         help="the file (or, for png, folder) to write (default: "
                              "PROJECT/outputs/<source>_<session>.mp4, numbered if taken); "
                              "with --preview, the PNG to write")
    convert.add_argument("--overwrite", action="store_true",
                         help="replace --out if it exists (only once the new one is whole)")
    convert.add_argument("--preview", type=int, metavar="FRAME",
                         help="swap only this frame (from 0) and write it before | after, side "
                              "by side, to --out; waits for it")
    add_setting_groups(convert, load().convert.groups)
    add_queue_options(convert)

    listing = commands.add_parser("conversions", help="list the outputs converted in a "
                                                      "project, with their provenance")
    listing.add_argument("project", help="the project folder")
    listing.add_argument("--json", action="store_true", help="print the stable JSON document")


def cmd_convert(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        source = resolve_source(conn, args.source)
        try:
            if args.preview is not None:
                if args.out is None:
                    raise CliError("--preview writes a PNG: give its name with --out")
                params = preview_params(conn, session, source,
                                        settings_given(args, load().convert), args.preview, args.out)
                args.wait = True
                return queue(project, conn, "convert_preview", [params], args)
            params = convert_params(conn, project.outputs, session, source,
                                    settings_given(args, load().convert), args.out, args.overwrite)
        except ConvertRequestError as exc:
            raise CliError(str(exc)) from None
        print(printable(f"converting {source.name} with session {session.name}: "
                        f"{params['person']}'s face is swapped, into {params['output']}"))
        return queue(project, conn, "convert", [params], args, show_progress=True)


def cmd_conversions(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        done = conversions.finished(conn)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "conversions": [_json(c) for c in done]})
        return 0
    if not done:
        print("no conversions yet")
    for c in done:
        print(printable(f"#{c.id} {c.output}: {c.frames} frames ({c.swapped} swapped), "
                        f"session {c.session_name} at iteration {c.checkpoint_iteration:,}, "
                        f"from {c.source_path}, mark {c.mark}, "
                        f"{human_age(time.time() - c.finished_at)} ago"))
    return 0


def _json(c: conversions.Conversion) -> dict:
    return {"id": c.id, "job_id": c.job_id, "output": c.output, "session_id": c.session_id,
            "session": c.session_name, "source_id": c.source_id, "source_path": c.source_path,
            "source_sha256": c.source_sha256, "checkpoint_iteration": c.checkpoint_iteration,
            "model_sha256": c.model_sha256, "settings": c.settings, "mark": c.mark,
            "started_at": c.started_at, "finished_at": c.finished_at, "frames": c.frames,
            "swapped": c.swapped}


COMMANDS = {"convert": cmd_convert, "conversions": cmd_conversions}
