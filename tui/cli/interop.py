"""`swapdeck import` and `swapdeck export-alignments`: faces in from faceswap and
DeepFaceLab files, and a source's alignments out to faceswap. Facesets go out with
`swapdeck faces PROJECT export FOLDER --format faceswap|dfl` (tui/cli/curate.py)."""
from __future__ import annotations

import argparse

from store.project import open_project
from store.requests.interop import export_alignments_params, import_params
from tui.cli.common import Commands, add_queue_options, queue


def add_interop_parsers(commands: Commands) -> None:
    """`import` and `export-alignments`."""
    imported = commands.add_parser(
        "import", help="bring in faces from faceswap (face PNGs, alignments files) or "
                       "DeepFaceLab (aligned JPGs), with their landmarks and mask labels",
        description="Each face lands in its frame of a source of the project (the one "
                    "--source names, else the video or image its file names, added if "
                    "found: beside an alignments file, or above DeepFaceLab's aligned "
                    "folder); faces whose frames are nowhere are kept as stills (their own "
                    "images become a source). Importing the same files again adds nothing "
                    "twice. Pickled data is read by a loader that builds plain data only.")
    imported.add_argument("project", help="the project folder")
    imported.add_argument("paths", nargs="+", metavar="PATH",
                          help="face images (faceswap PNGs, DeepFaceLab JPGs), folders of "
                               "them, faceswap alignments files (.fsa, or .json from old "
                               "versions) or a frames folder holding one")
    imported.add_argument("--as", dest="person", metavar="PERSON",
                          help="the person every imported face is (created if new; default: "
                               "the person swapdeck wrote in the files, if any)")
    imported.add_argument("--source", metavar="SOURCE",
                          help="the video, image or folder the faces came from: a source id, "
                               "or a path (added if new)")
    add_queue_options(imported)

    alignments = commands.add_parser(
        "export-alignments", help="write a source's faces as a faceswap alignments file, to "
                                  "convert with faceswap")
    alignments.add_argument("project", help="the project folder")
    alignments.add_argument("source", help="a source id or the path it was added from")
    alignments.add_argument("--out", required=True, metavar="FILE.fsa",
                            help="the file to write (faceswap looks for "
                                 "<video stem>_alignments.fsa beside the video)")
    add_queue_options(alignments)


def cmd_import(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        params = import_params(conn, args.paths, args.person, args.source)
        return queue(project, conn, "import", params, args, show_progress=True)


def cmd_export_alignments(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        params = export_alignments_params(conn, args.source, args.out)
        return queue(project, conn, "export-alignments", [params], args)


COMMANDS = {"import": cmd_import, "export-alignments": cmd_export_alignments}
