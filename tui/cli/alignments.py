"""`swapdeck alignments`: a source's frames and their faces, with faceswap's frame filters
(frames with no face, several faces, none of a person, landmark jumps, low detection score,
gaps in a track), and the edits that repair them."""
from __future__ import annotations

import argparse

from store import faces, manual_faces, sources
from store.identities import IdentityError
from store.landmark_groups import LANDMARK_GROUPS, POINTS
from store.project import open_project
from store.requests.align_edit import NoSuchTrack, fill_track_edits
from store.views.alignments import FrameFaces, FrameFilter, source_frames
from tui.cli.common import (CliError, Commands, JSON_SCHEMA, add_queue_options, print_json, queue,
                           resolve_source)
from tui.printable import printable


def add_alignments_parser(commands: Commands) -> None:
    alignments = commands.add_parser(
        "alignments", help="a source's frames and their faces, to find missed, doubled and "
                           "misaligned faces")
    alignments.add_argument("project", help="the project folder")
    alignments.add_argument("source", help="a source id or the path it was added from")
    actions = alignments.add_subparsers(dest="action", required=True, metavar="ACTION",
                                        help="list, set-box, copy, move-points, fill-track "
                                             "or delete")
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
    listing.add_argument("--track-gaps", action="store_true",
                         help="frames where a track has faces before and after but none (a "
                              "missed detection: fill-track places them)")
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
    _add_point_parsers(actions)
    delete = actions.add_parser("delete", help="take faces out (false or doubled detections): "
                                               "they stay, rejected, and undo brings them back")
    delete.add_argument("face", type=int, nargs="+", help="face ids")


def _add_point_parsers(actions: Commands) -> None:
    move = actions.add_parser("move-points", help="move a face's landmarks by hand, a group "
                                                  "or one point; the face is computed again "
                                                  "from the points as given (undoable)")
    move.add_argument("face", type=int, help="the face's id")
    move.add_argument("dx", type=float, help="how far right, in frame pixels (negative: left)")
    move.add_argument("dy", type=float, help="how far down, in frame pixels (negative: up)")
    which = move.add_mutually_exclusive_group()
    which.add_argument("--group", choices=list(LANDMARK_GROUPS), default="all",
                       help="the points to move (default all: the whole face)")
    which.add_argument("--point", type=int, metavar="N",
                       help=f"only this point (0-{POINTS - 1}, the iBUG 68-point layout)")
    add_queue_options(move)
    fill = actions.add_parser("fill-track", help="place a track's face in every frame of its "
                                                 "gaps, copied from the nearest frame that has "
                                                 "it (each face undoable)")
    fill.add_argument("track", type=int, help="the track's id (see list --json)")
    add_queue_options(fill)


def _moved_points(conn, source: sources.Source, args: argparse.Namespace) -> dict:
    """The set-points job that moves the chosen points of a face by (dx, dy)."""
    face = faces.get_face(conn, args.face)
    if face is None or face.source_id != source.id or face.rejected:
        raise CliError(f"face {args.face} is not a kept face of source {source.id}")
    if args.point is not None and not 0 <= args.point < POINTS:
        raise CliError(f"--point must be 0 to {POINTS - 1}, not {args.point}")
    chosen = [args.point] if args.point is not None else list(LANDMARK_GROUPS[args.group])
    points = face.landmarks.astype(float)
    points[chosen] += (args.dx, args.dy)
    return {"source_id": source.id, "frame": face.frame_idx, "action": "set-points",
            "face": face.id, "points": points.round(3).tolist()}


def _fill_track(conn, source: sources.Source, track: int) -> list[dict]:
    """One copy job per frame in the track's gaps, from the nearest frame that has it."""
    try:
        return fill_track_edits(source_frames(conn, source.id), source.id, track)
    except NoSuchTrack as exc:
        raise CliError(str(exc)) from None


def _edit(project, conn, source: sources.Source, args: argparse.Namespace) -> int:
    if args.action == "move-points":
        return queue(project, conn, "align-edit", [_moved_points(conn, source, args)], args)
    if args.action == "fill-track":
        if not (params := _fill_track(conn, source, args.track)):
            print(f"track {args.track} has no gaps to fill")
            return 0
        return queue(project, conn, "align-edit", params, args)
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
            return _edit(project, conn, resolve_source(conn, args.source), args)
    for name in ("jumps", "low_score"):
        if (value := getattr(args, name)) is not None and value < 0:
            raise CliError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    project = open_project(args.project)
    with project.connection() as conn:
        source = resolve_source(conn, args.source)
        if args.person is not None and not conn.execute(
                "SELECT 1 FROM identities WHERE name = ?", (args.person,)).fetchone():
            raise CliError(f"no person named {args.person!r} (see swapdeck identity list)")
        frames = source_frames(conn, source.id)
    wanted = FrameFilter(args.no_face, args.multi, args.person, args.jumps, args.low_score,
                         args.track_gaps)
    shown = [frame for frame in frames if wanted.keeps(frame)]
    if args.json:
        print_json({"schema": JSON_SCHEMA, "source_id": source.id, "frames": len(frames),
                    "matching": [f.to_json() for f in shown]})
        return 0
    for frame in shown:
        print(printable(frame_line(frame)))
    print(f"{len(shown)} of {len(frames)} extracted frames")
    return 0


def frame_line(frame: FrameFaces) -> str:
    at = f" at {frame.time:.2f} s" if frame.time is not None else ""
    who = ", ".join(p or "-" for p in frame.people)
    count = f"{frame.faces} face{'s' if frame.faces != 1 else ''}" + (f" ({who})" if who else "")
    facts = [f"jump {frame.jump:.3f}" if frame.jump is not None else "",
             f"lowest score {frame.low_score:.2f}" if frame.low_score is not None else "",
             f"{frame.flagged} flagged" if frame.flagged else "",
             f"gap in track {', '.join(map(str, frame.gaps))}" if frame.gaps else ""]
    return f"frame {frame.idx}{at}: {count}" + "".join(f", {f}" for f in facts if f)


COMMANDS = {"alignments": cmd_alignments}
