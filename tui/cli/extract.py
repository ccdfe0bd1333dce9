"""`swapdeck extract`: find, align and describe the faces of sources, with the settings of
the catalogue's extract family as flags."""
from __future__ import annotations

import argparse
from pathlib import Path

from store import sources
from store.project import open_project
from store.requests.catalogue import load
from store.requests.extract import (HELP, MASKS, ExtractSettings, extract_jobs,
                                    manual_faces_at_stake)
from tui.cli.common import (CliError, Commands, add_max_mpx_option, add_queue_options, queue,
                            set_max_mpx)
from tui.cli.setting_flags import add_setting, settings_given


def add_extract_parser(commands: Commands) -> None:
    extract = commands.add_parser("extract", help="find, align and describe the faces of sources")
    extract.add_argument("project", help="the project folder")
    extract.add_argument("sources", nargs="*", metavar="SOURCE",
                         help="source ids or the paths they were added from")
    extract.add_argument("--all", action="store_true", help="every source of the project")
    section = extract.add_argument_group("extract settings")
    for option in load().extract.groups[0].options:
        add_setting(section, option)
    section.add_argument("--filter", nargs="+", default=[], metavar="IMG", help=HELP["filter"])
    section.add_argument("--nfilter", nargs="+", default=[], metavar="IMG",
                         help=HELP["nfilter"])
    section.add_argument("--masks", help=f"{HELP['masks']} (default: {','.join(MASKS)})")
    extract.add_argument("--skip-existing", action="store_true",
                         help="queue nothing for sources that were extracted before")
    extract.add_argument("--force", action="store_true",
                         help="throw away a source's faces and extract it again (the faces "
                              "placed by hand in the Alignments review stay, and the new "
                              "detections that double one are dropped)")
    extract.add_argument("--drop-manual", action="store_true",
                         help="with --force: throw away the faces placed by hand too")
    add_max_mpx_option(extract)
    add_queue_options(extract)


def extract_settings(args: argparse.Namespace) -> ExtractSettings:
    """The settings the options ask for (each flag's value was checked as it was parsed);
    CliError names every other problem."""
    for photo in [*args.filter, *args.nfilter]:
        if not Path(photo).expanduser().is_file():
            raise CliError(f"no such reference photo: {photo}")
    lists: dict[str, object] = {
        "filter": tuple(str(Path(p).expanduser().resolve()) for p in args.filter),
        "nfilter": tuple(str(Path(p).expanduser().resolve()) for p in args.nfilter)}
    if args.masks is not None:
        lists["masks"] = tuple(m.strip() for m in args.masks.split(",") if m.strip())
    settings = ExtractSettings(**settings_given(args, load().extract), **lists)
    if problems := settings.problems():
        raise CliError("; ".join(problems))
    return settings


def cmd_extract(args: argparse.Namespace) -> int:
    if args.drop_manual and not args.force:
        raise CliError("--drop-manual goes with --force (only a forced re-extraction touches "
                       "the faces placed by hand)")
    project = open_project(args.project)
    settings = extract_settings(args)
    with project.connection() as conn:
        set_max_mpx(conn, args)
        references = [str(s.id) for s in sources.list_sources(conn)] if args.all else args.sources
        if not references:
            raise CliError("name the sources to extract, or --all")
        params = extract_jobs(conn, references, settings, force=args.force,
                              skip_existing=args.skip_existing, drop_manual=args.drop_manual)
        if not params:
            print("nothing to extract: every source named was extracted before")
            return 0
        if manual := manual_faces_at_stake(conn, params):
            print(f"dropping {manual} face(s) placed by hand" if args.drop_manual else
                  f"keeping {manual} face(s) placed by hand (--drop-manual throws them away)")
        return queue(project, conn, "extract", params, args)


COMMANDS = {"extract": cmd_extract}
