"""`swapdeck alignments`: a source's frames and their faces, with faceswap's frame filters
(frames with no face, several faces, none of a person, landmark jumps, low detection score)."""
from __future__ import annotations

import argparse

from store import manual_faces, sources
from store.identities import IdentityError
from store.project import open_project
from store.views.alignments import FrameFaces, FrameFilter, source_frames
from tui.cli.common import JSON_SCHEMA, CliError, Commands, add_queue_options, print_json, queue
from tui.printable import printable


def add_alignments_parser(commands: Commands) -> None:
    alignments = commands.add_parser(
        "alignments", help="a source's frames and their faces, to find missed, doubled and "
                           "misaligned faces")
    alignments.add_argument("project", help="the project folder")
    alignments.add_argument("source", help="a source id or the path it was added from")
    actions = alignments.add_subparsers(dest="action", required=True, metavar="ACTION",
                                        help="list, set-box, copy or delete")
    _add_edit_parsers(actions)
    listing = actions.add_parser("list", help="the extracted frames that match every filter "
                                              "given (all of them when none is)")
    listing.add_argument("--no-face", action="store_true", help="frames with no face")
    listing.add_argument("--multi", action="store_true", help="frames with several faces")
    listing.add_argument("--person", help="frames with no face of this person (where a swap "
                                          "of them would be missing)")
    listing.add_argument("--jumps", type=float, metavar="T",
                         help="frames where a face's landmarks change shape from its track's "
                              "previous face by more than T (mean move as a share of the box "
                              "side; 0.05 catches most misalignments)")
    listing.add_argument("--low-score", type=float, metavar="T",
                         help="frames with a face detected with a score under T")
    listing.add_argument("--json", action="store_true", help="print a JSON document")


def _add_edit_parsers(actions: Commands) -> None:
    set_box = actions.add_parser("set-box", help="place a face in a box you give: the aligner "
                                                 "puts its 68 points there (undoable)")
    set_box.add_argument("frame", type=int, help="the frame's index")
    for name in ("x", "y", "w", "h"):
        set_box.add_argument(name, type=float, help=f"the box's {name} in frame pixels")
    set_box.add_argument("--replace", type=int, metavar="FACE",
                         help="the face of that frame this one replaces (its points were off); "
                              "it keeps its person and track")
    add_queue_options(set_box)
    copy = actions.add_parser("copy", help="carry the largest face of another frame over to "
                                           "this one, the aligner refining its points; it "
                                           "keeps that face's person and track (undoable)")
    copy.add_argument("frame", type=int, help="the frame missing the face")
    copy.add_argument("--from", dest="from_frame", type=int, required=True, metavar="FRAME",
                      help="the frame to copy the face from (the nearest one that has it)")
    add_queue_options(copy)
    delete = actions.add_parser("delete", help="take faces out (false or doubled detections): "
                                               "they stay, rejected, and undo brings them back")
    delete.add_argument("face", type=int, nargs="+", help="face ids")


def _edit(project, conn, source: sources.Source, args: argparse.Namespace) -> int:
    if args.action == "delete":
        try:
            manual_faces.delete_faces(conn, args.face)
        except IdentityError as exc:
            raise CliError(str(exc)) from None
        print(f"{len(args.face)} face(s) deleted (swapdeck faces {args.project} undo brings "
              "them back)")
        return 0
    params = {"source_id": source.id, "frame": args.frame, "action": args.action}
    if args.action == "set-box":
        if min(args.w, args.h) < 8:
            raise CliError(f"a box must be at least 8 px a side, not {args.w:g}x{args.h:g}")
        params.update(box=[args.x, args.y, args.w, args.h], replaces=args.replace)
    else:
        params["from"] = args.from_frame
    return queue(project, conn, "align-edit", [params], args)


def cmd_alignments(args: argparse.Namespace) -> int:
    if args.action != "list":
        project = open_project(args.project)
        with project.connection() as conn:
            return _edit(project, conn, _source(conn, args.source), args)
    for name in ("jumps", "low_score"):
        if (value := getattr(args, name)) is not None and value < 0:
            raise CliError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    project = open_project(args.project)
    with project.connection() as conn:
        source = _source(conn, args.source)
        if args.person is not None and not conn.execute(
                "SELECT 1 FROM identities WHERE name = ?", (args.person,)).fetchone():
            raise CliError(f"no person named {args.person!r} (see swapdeck identity list)")
        frames = source_frames(conn, source.id)
    wanted = FrameFilter(args.no_face, args.multi, args.person, args.jumps, args.low_score)
    shown = [frame for frame in frames if wanted.keeps(frame)]
    if args.json:
        print_json({"schema": JSON_SCHEMA, "source_id": source.id, "frames": len(frames),
                    "matching": [f.to_json() for f in shown]})
        return 0
    for frame in shown:
        print(printable(frame_line(frame)))
    print(f"{len(shown)} of {len(frames)} extracted frames")
    return 0


def _source(conn, reference: str) -> sources.Source:
    try:
        return sources.resolve(conn, reference)
    except sources.SourceNotFoundError as exc:
        raise CliError(str(exc)) from None


def frame_line(frame: FrameFaces) -> str:
    at = f" at {frame.time:.2f} s" if frame.time is not None else ""
    who = ", ".join(p or "-" for p in frame.people)
    faces = f"{frame.faces} face{'s' if frame.faces != 1 else ''}" + (f" ({who})" if who else "")
    facts = [f"jump {frame.jump:.3f}" if frame.jump is not None else "",
             f"lowest score {frame.low_score:.2f}" if frame.low_score is not None else "",
             f"{frame.flagged} flagged" if frame.flagged else ""]
    return f"frame {frame.idx}{at}: {faces}" + "".join(f", {f}" for f in facts if f)


COMMANDS = {"alignments": cmd_alignments}
