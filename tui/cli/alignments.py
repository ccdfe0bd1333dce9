"""`swapdeck alignments`: a source's frames and their faces, with faceswap's frame filters
(frames with no face, several faces, none of a person, landmark jumps, low detection score)."""
from __future__ import annotations

import argparse

from store import sources
from store.project import open_project
from store.views.alignments import FrameFaces, FrameFilter, source_frames
from tui.cli.common import JSON_SCHEMA, CliError, Commands, print_json
from tui.printable import printable


def add_alignments_parser(commands: Commands) -> None:
    alignments = commands.add_parser(
        "alignments", help="a source's frames and their faces, to find missed, doubled and "
                           "misaligned faces")
    alignments.add_argument("project", help="the project folder")
    alignments.add_argument("source", help="a source id or the path it was added from")
    actions = alignments.add_subparsers(dest="action", required=True, metavar="ACTION",
                                        help="list")
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


def cmd_alignments(args: argparse.Namespace) -> int:
    for name in ("jumps", "low_score"):
        if (value := getattr(args, name)) is not None and value < 0:
            raise CliError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    project = open_project(args.project)
    with project.connection() as conn:
        try:
            source = sources.resolve(conn, args.source)
        except sources.SourceNotFoundError as exc:
            raise CliError(str(exc)) from None
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


def frame_line(frame: FrameFaces) -> str:
    at = f" at {frame.time:.2f} s" if frame.time is not None else ""
    who = ", ".join(p or "-" for p in frame.people)
    faces = f"{frame.faces} face{'s' if frame.faces != 1 else ''}" + (f" ({who})" if who else "")
    facts = [f"jump {frame.jump:.3f}" if frame.jump is not None else "",
             f"lowest score {frame.low_score:.2f}" if frame.low_score is not None else "",
             f"{frame.flagged} flagged" if frame.flagged else ""]
    return f"frame {frame.idx}{at}: {faces}" + "".join(f", {f}" for f in facts if f)


COMMANDS = {"alignments": cmd_alignments}
