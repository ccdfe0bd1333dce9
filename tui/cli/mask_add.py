"""`swapdeck masks add` and `swapdeck masks list`: masks computed after extraction, and how many
faces have each kind.

    swapdeck masks add PROJECT KIND [--source SOURCE ...] [--mask-glasses | --no-mask-glasses]
                       [--mask-mouth | --no-mask-mouth] [--wait] [--no-worker]
    swapdeck masks list PROJECT [--source SOURCE ...] [--json]

(`swapdeck masks PROJECT --add KIND ...`, as faceswap's users write it, is read as the first.)
"""
from __future__ import annotations

import argparse

from store import face_masks
from store.project import open_project
from store.requests.catalogue import load
from store.requests.extract import MASK_KINDS, MASKS, PARSING_MASKS
from store.requests.mask_add import KIND, mask_add_params
from tui.cli.common import (Commands, JSON_SCHEMA, add_queue_options, print_json, queue,
                           resolve_source_ids)
from tui.cli.setting_flags import add_setting
from tui.printable import printable

ADD_HELP = (
    "Compute a mask for every kept face of the sources that lacks it, as a worker job with "
    "progress; a stopped job resumes where it was. Landmark masks: "
    f"{', '.join(MASKS)}. Face parsing (BiSeNet): {', '.join(PARSING_MASKS)} (the face; with "
    "hair; the head with ears and neck), its weights downloaded on first use (swapdeck models "
    "shows where).")


def add_parsers(actions: Commands) -> None:
    """Add `swapdeck masks add` and `swapdeck masks list`."""
    add = actions.add_parser("add", help="compute a mask kind for the faces that lack it",
                             description=ADD_HELP)
    add.add_argument("project", help="the project folder")
    add.add_argument("kind", choices=MASK_KINDS, metavar="KIND",
                     help=f"the mask kind: {', '.join(MASK_KINDS)}")
    _add_sources(add, "the sources whose faces are masked (default: every source)")
    for option in load().extract.groups[0].options:
        if option.name in ("mask_glasses", "mask_mouth"):
            add_setting(add, option)
    add_queue_options(add)
    add.set_defaults(run=cmd_add)
    listing = actions.add_parser("list", help="how many kept faces have each mask kind")
    listing.add_argument("project", help="the project folder")
    _add_sources(listing, "count only these sources' faces (default: every source)")
    listing.add_argument("--json", action="store_true", help="print a JSON document")
    listing.set_defaults(run=cmd_list)


def _add_sources(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--source", nargs="+", default=[], metavar="SOURCE", dest="sources",
                        help=f"{text}: ids or the paths they were added from")


def cmd_add(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        params = mask_add_params(conn, args.kind, args.sources, glasses=args.mask_glasses,
                                 mouth=args.mask_mouth)
        return queue(project, conn, KIND, [params], args, show_progress=True)


def cmd_list(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        source_ids = resolve_source_ids(conn, args.sources)
        kept = face_masks.count_kept(conn, source_ids)
        counts = face_masks.kind_counts(conn, source_ids)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "kept_faces": kept, "masks": counts})
        return 0
    print(f"{kept} kept face{'s' * (kept != 1)}")
    for kind in sorted(set(counts) | set(MASK_KINDS)):
        print(printable(f"  {kind:<14} {counts.get(kind, 0):>7} of {kept}"))
    return 0
