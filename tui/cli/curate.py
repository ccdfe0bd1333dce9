"""The curation commands: cluster, identity and faces (the review's CLI twins)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from store import faces, identities, review, sources, tracks

from store.views import face_query
from store.requests.extract import HELP as EXTRACT_HELP
from store.requests.extract import ExtractSettings
from store.requests.interop import EXPORT_FORMATS
from store.project import open_project
from tui.cli.common import (CliError, Commands, JSON_SCHEMA, add_queue_options, print_json, queue,
                           resolve_source, resolve_source_ids)
from tui.printable import printable


def add_curation_parsers(commands: Commands) -> None:
    cluster = commands.add_parser("cluster", help="group the project's faces by identity")
    cluster.add_argument("project", help="the project folder")
    cluster.add_argument("--source", nargs="+", default=[], metavar="SOURCE",
                         help="only the faces of these sources (ids or paths; default: all)")
    cluster.add_argument("--threshold", type=float, default=identities.DEFAULT_THRESHOLD,
                         help="descriptor distance within which faces count as one person "
                              f"(average linkage; default {identities.DEFAULT_THRESHOLD})")
    cluster.add_argument("--method", choices=["average"], default="average",
                         help="how clusters are joined: average linkage (scales to 100k faces "
                              "through k-means compression)")
    add_queue_options(cluster)
    track = commands.add_parser(
        "track", help="link each source's faces into tracks (extraction does it; run it for "
                      "projects extracted before tracks), flag tracks that are probably not "
                      "faces and fill short gaps where detection missed a face")
    track.add_argument("project", help="the project folder")
    track.add_argument("sources", nargs="*", metavar="SOURCE",
                       help="source ids or the paths they were added from (default: every "
                            "extracted source)")
    add_queue_options(track)

    _add_identity_parser(commands)
    _add_faces_parser(commands)


def _add_identity_parser(commands: Commands) -> None:
    identity = commands.add_parser("identity", help="the people of the project")
    identity.add_argument("project", help="the project folder")
    actions = identity.add_subparsers(dest="action", required=True, metavar="ACTION",
                                      help="list, name, merge, split or side")
    listing = actions.add_parser("list", help="people and the clusters of the latest run")
    listing.add_argument("--json", action="store_true", help="print a JSON document")
    name = actions.add_parser("name", help="name a cluster as a person (new or existing)")
    name.add_argument("cluster", type=int, help="a cluster id (see swapdeck identity list)")
    name.add_argument("name", help="the person's name")
    merge = actions.add_parser("merge", help="merge clusters of the same person into the first "
                                             "(they stay together when you cluster again)")
    merge.add_argument("clusters", type=int, nargs="+", help="cluster ids; the first one stays")
    split = actions.add_parser("split", help="take faces out of their clusters into a new "
                                             "cluster of their own (someone else)")
    split.add_argument("face", type=int, nargs="+", help="face ids")
    side = actions.add_parser("side", help="mark a person as side A or B of the training pair")
    side.add_argument("name", help="the person's name")
    side.add_argument("side", choices=["A", "B", "none"], help="A, B, or none to clear it")


def _add_faces_parser(commands: Commands) -> None:
    faces_ = commands.add_parser("faces", help="review decisions on single faces")
    faces_.add_argument("project", help="the project folder")
    face_actions = faces_.add_subparsers(dest="action", required=True, metavar="ACTION",
                                         help="list, exclude, include, restore, not-face, "
                                              "move, export, filter, histogram, undo, "
                                              "redo or history")
    for verb, text in (("exclude", "leave faces out of training (nothing is deleted)"),
                       ("include", "take excluded faces back")):
        action = face_actions.add_parser(verb, help=text)
        action.add_argument("face", type=int, nargs="+", help="face ids")
    for verb, text in (("restore", "say flagged faces are faces after all (with the rest of "
                                   "their tracks): back to clustering and training"),
                       ("not-face", "confirm faces are not faces (with the rest of their "
                                    "tracks): they stay flagged and excluded")):
        action = face_actions.add_parser(verb, help=text)
        action.add_argument("face", type=int, nargs="+", help="face ids")
    move = face_actions.add_parser("move", help="give faces a person by hand (kept across "
                                                "re-clustering)")
    move.add_argument("name", help="the person's name (created if new)")
    move.add_argument("face", type=int, nargs="+", help="face ids")
    _add_faces_list_parser(face_actions)
    export = face_actions.add_parser(
        "export", help="write a faceset as a folder of aligned PNGs, faceswap faces or "
                       "DeepFaceLab faces")
    export.add_argument("folder", help="where the files go (created if missing)")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="png",
                        help="png: our aligned crops; faceswap: face PNGs with faceswap's "
                             "alignment header (cut from the frames as faceswap cuts them); "
                             "dfl: DeepFaceLab aligned JPGs (our crops, face type head, mask "
                             "labels as XSeg polygons)")
    export.add_argument("--person", help="only this person's faces (default: every kept face)")
    export.add_argument("--source", help="only this source's faces (an id or the path it was "
                                         "added from)")
    export.add_argument("--include-excluded", action="store_true",
                        help="export excluded faces too")
    add_queue_options(export)
    histogram = face_actions.add_parser(
        "histogram", help="order the faces by colour histogram, similar colours together "
                          "within each cluster (faceswap's sort -s hist; for faces list "
                          "--sort histogram and the review grid)")
    add_queue_options(histogram)
    _add_filter_parser(face_actions)
    face_actions.add_parser("undo", help="undo the newest review action (exclude, include, "
                                         "move, filter, name, merge, split, side, and the "
                                         "alignments edits)")
    face_actions.add_parser("redo", help="redo the action undone last, while no new action "
                                         "or clustering came since (not one that made a "
                                         "cluster or a person)")
    history = face_actions.add_parser("history", help="the review actions, newest first")
    history.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    history.add_argument("--json", action="store_true", help="print a JSON document")


def _add_faces_list_parser(face_actions: Commands) -> None:
    listing = face_actions.add_parser("list", help="faces in a chosen order, with filters")
    listing.add_argument("--sort", choices=list(face_query.SORT_KEYS), default="frame",
                         help="; ".join(f"{k}: {v}" for k, v in face_query.SORT_HELP.items()))
    listing.add_argument("--filter", nargs="+", default=[], choices=list(face_query.FILTERS),
                         help="; ".join(f"{k}: {v}" for k, v in face_query.FILTER_HELP.items()))
    listing.add_argument("--person", help="only this person's faces")
    listing.add_argument("--cluster", type=int, help="only this cluster's faces (latest run)")
    listing.add_argument("--track", type=int, help="only this track's faces (the person "
                                                   "followed through neighbouring frames)")
    listing.add_argument("--max-blur", type=float,
                         help="only low-quality faces: sharpness (blur score) under this")
    listing.add_argument("--limit", type=int, default=100, help="how many faces (default 100)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many first")
    listing.add_argument("--json", action="store_true", help="print a JSON document")


def _add_filter_parser(face_actions: Commands) -> None:
    threshold = ExtractSettings.threshold
    filter_ = face_actions.add_parser(
        "filter", help="extraction's identity filter on faces already extracted: reject the "
                       "kept faces unlike the --filter photos or like the --nfilter ones "
                       "(undoable)")
    filter_.add_argument("--filter", nargs="+", default=[], metavar="IMG",
                         help=EXTRACT_HELP["filter"])
    filter_.add_argument("--nfilter", nargs="+", default=[], metavar="IMG",
                         help=EXTRACT_HELP["nfilter"])
    filter_.add_argument("--threshold", type=float, default=threshold,
                         help=f"{EXTRACT_HELP['threshold']} (default {threshold:g})")
    filter_.add_argument("--source", nargs="+", default=[], metavar="SOURCE",
                         help="only the faces of these sources (ids or paths; default: all)")
    add_queue_options(filter_)


def _filter_params(conn, args: argparse.Namespace) -> dict:
    if not args.filter and not args.nfilter:
        raise CliError("give --filter photos of the people to keep and/or --nfilter photos "
                       "of the people to drop")
    for photo in [*args.filter, *args.nfilter]:
        if not Path(photo).expanduser().is_file():
            raise CliError(f"no such reference photo: {photo}")
    if problems := ExtractSettings(threshold=args.threshold).problems():
        raise CliError("; ".join(problems))
    return {"filter": [str(Path(p).expanduser().resolve()) for p in args.filter],
            "nfilter": [str(Path(p).expanduser().resolve()) for p in args.nfilter],
            "threshold": args.threshold, "source_ids": resolve_source_ids(conn, args.source)}


def cmd_cluster(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        params = {"source_ids": resolve_source_ids(conn, args.source), "threshold": args.threshold,
                  "method": args.method}
        return queue(project, conn, "cluster", [params], args)


def cmd_track(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        chosen = resolve_source_ids(conn, args.sources) if args.sources else [
            s.id for s in sources.list_sources(conn)]
        extracted = [i for i in chosen if (e := faces.get_extraction(conn, i)) and e.finished]
        if args.sources and (missing := sorted(set(chosen) - set(extracted))):
            raise CliError(f"source(s) {', '.join(map(str, missing))} not extracted yet: "
                           "swapdeck extract them first")
        if not extracted:
            raise CliError("no extracted source to track: swapdeck extract first")
        return queue(project, conn, "track", [{"source_id": i} for i in extracted], args)


def cmd_identity(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        if args.action == "name":
            try:
                identity_id = identities.name_cluster(conn, args.cluster, args.name)
            except identities.IdentityError as exc:
                raise CliError(str(exc)) from None
            print(printable(f"cluster {args.cluster} is now {args.name} (person {identity_id})"))
            return 0
        if args.action in ("merge", "split", "side"):
            return _identity_change(conn, args)
        run_id = identities.latest_run_id(conn)
        clusters = identities.clusters(conn, run_id) if run_id else []
        people = identities.list_identities(conn)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "run_id": run_id,
                     "people": [vars(p) for p in people],
                     "clusters": [c.to_json() for c in clusters]})
        return 0
    for person in people:
        side = f", side {person.side}" if person.side else ""
        print(printable(f"person {person.id:>4} {person.name}: {person.faces} faces{side}"))
    if run_id is None:
        print("no clustering yet: run swapdeck cluster")
    for row in clusters:
        plural = "s" if row.size != 1 else ""
        name = f": {row.name}" if row.name else ""
        print(printable(f"cluster {row.id:>5} ({row.size} face{plural}){name}"))
    return 0


def _identity_change(conn, args: argparse.Namespace) -> int:
    try:
        if args.action == "merge":
            if len(args.clusters) < 2:
                raise CliError("name at least two clusters to merge")
            identities.merge_clusters(conn, args.clusters[0], args.clusters[1:])
            print(f"merged clusters {', '.join(map(str, args.clusters[1:]))} into "
                  f"{args.clusters[0]}")
        elif args.action == "split":
            new_id = identities.split_faces(conn, args.face)
            print(f"{len(args.face)} face(s) split off into cluster {new_id}")
        else:
            side = None if args.side == "none" else args.side
            identities.set_side(conn, args.name, side)
            print(printable(f"{args.name} is now {'side ' + side if side else 'on no side'}"))
    except identities.IdentityError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_faces(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        if args.action == "list":
            return _list_faces(conn, args)
        if args.action in ("undo", "redo", "history"):
            return _review_history(conn, args)
        if args.action == "export":
            params = {"folder": str(Path(args.folder).expanduser().resolve()),
                      "person": args.person, "include_excluded": args.include_excluded,
                      "format": args.format}
            if args.source is not None:
                params["source_id"] = resolve_source(conn, args.source).id
            return queue(project, conn, "export", [params], args)
        if args.action == "histogram":
            return queue(project, conn, "histogram", [{}], args)
        if args.action == "filter":
            return queue(project, conn, "identity-filter", [_filter_params(conn, args)], args)
        try:
            if args.action == "move":
                identities.move_faces(conn, args.face, args.name)
                print(printable(f"{len(args.face)} face(s) now {args.name}"))
            elif args.action == "restore":
                print(f"{tracks.restore_as_faces(conn, args.face)} face(s) restored as faces")
            elif args.action == "not-face":
                print(f"{tracks.confirm_not_faces(conn, args.face)} face(s) confirmed as not "
                      "faces")
            else:
                identities.set_excluded(conn, args.face, args.action == "exclude")
                print(f"{len(args.face)} face(s) {args.action}d")
        except identities.IdentityError as exc:
            raise CliError(str(exc)) from None
    return 0


def _review_history(conn, args: argparse.Namespace) -> int:
    try:
        if args.action == "undo":
            print(printable(f"undid: {review.undo_last(conn)}"))
            return 0
        if args.action == "redo":
            print(printable(f"redid: {review.redo_last(conn)}"))
            return 0
    except (review.NothingToUndo, review.NothingToRedo) as exc:
        raise CliError(str(exc)) from None
    actions = review.history(conn, args.limit)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "actions": [a.to_json() for a in actions]})
        return 0
    for action in actions:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(action.created_at))
        undone = " (undone)" if action.undone_at else ""
        print(printable(f"{action.id:>5} {when} {action.summary}{undone}"))
    return 0


def _list_faces(conn, args: argparse.Namespace) -> int:
    if args.limit < 1 or args.offset < 0:
        raise CliError(f"--limit must be 1 or more and --offset 0 or more (got --limit "
                       f"{args.limit}, --offset {args.offset})")
    scope = {"filters": tuple(args.filter), "person": args.person, "cluster_id": args.cluster,
             "max_blur": args.max_blur, "track_id": args.track}
    try:
        listed = face_query.list_faces(conn, sort=args.sort, limit=args.limit,
                                       offset=args.offset, **scope)
        total = face_query.count_faces(conn, **scope)
    except face_query.FaceQueryError as exc:
        raise CliError(str(exc)) from None
    if args.sort == "histogram" and not face_query.histogram_ranked(conn):
        print(printable(f"some faces have no place in the histogram order yet (listed last): "
                        f"run swapdeck faces {args.project} histogram"), file=sys.stderr)
    truncated = args.offset + len(listed) < total
    if args.json:
        print_json({"schema": JSON_SCHEMA, "faces": [f.to_json() for f in listed],
                    "total": total, "shown": len(listed), "offset": args.offset,
                    "truncated": truncated})
        return 0
    for face in listed:
        print(printable(_face_line(face)))
    if truncated or args.offset:
        print(_page_note(args.offset, len(listed), total))
    return 0


def _page_note(offset: int, shown: int, total: int) -> str:
    """Which part of the matching faces a cut listing shows, and how to see the rest."""
    if not shown:
        return f"no faces past the first {min(offset, total)} of {total}"
    if not offset:
        return f"showing {shown} of {total} faces (use --limit)"
    return f"showing {offset + 1}-{offset + shown} of {total} faces (use --limit and --offset)"


def _face_line(face: face_query.FaceListing) -> str:
    """One face as `faces list` prints it: where it came from, who, and its quality."""
    who = face.identity or (f"cluster {face.cluster_id}" if face.cluster_id else "-")
    at = f" at {face.time:.2f} s" if face.time is not None else ""
    flags = f" track {face.track_id}" if face.track_id is not None else ""
    flags += " (placed by tracking)" if face.tracked else ""
    flags += " excluded" if face.excluded else ""
    flags += f" rejected: {face.rejected}" if face.rejected else ""
    flags += f" flagged: {face.flag}" if face.flag else ""
    return (f"face {face.id:>6} {Path(face.source_file).name}{at} (frame {face.frame_idx}) "
            f"{who:<16} blur {face.blur:7.2f} yaw {face.yaw:6.1f} size {face.size:.2f}{flags}")


COMMANDS = {"cluster": cmd_cluster, "track": cmd_track, "identity": cmd_identity, "faces": cmd_faces}
