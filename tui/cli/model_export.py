"""`swapdeck export-model`: a trained session's model as an ONNX file, or as a `.dfm` that
DeepFaceLive loads for live swaps. The worker traces the model (pipeline/model_export)."""
from __future__ import annotations

import argparse

from store.project import open_project
from store.requests.model_export import DIRECTIONS, SUFFIXES, export_model_params
from tui.cli.common import Commands, add_queue_options, queue


def add_model_export_parser(commands: Commands) -> None:
    """`export-model`."""
    parser = commands.add_parser(
        "export-model", help="write a trained session's model as ONNX, or as a .dfm for "
                             "DeepFaceLive",
        description="onnx: the encoder and the decoder swapped to; input `face` (N x 3 x S x "
                    "S, RGB, 0..1), outputs `swapped_face` and `swapped_mask`. dfm: "
                    "DeepFaceLive's interface; input `in_face:0` (N x S x S x 3, BGR, 0..1), "
                    "outputs `out_face_mask:0`, `out_celeb_face:0`, `out_celeb_face_mask:0`. "
                    "The file's metadata holds the model, its sizes and the face centering, "
                    "coverage and offset it was trained on (set DeepFaceLive's face aligner "
                    "to match). Where onnxruntime is installed the export is checked against "
                    "the model on the project's faces before it is written.")
    parser.add_argument("project", help="the project folder")
    parser.add_argument("session", help="the session (id or name)")
    parser.add_argument("--format", required=True, choices=tuple(SUFFIXES),
                        help="onnx (a plain ONNX graph) or dfm (DeepFaceLive's model file)")
    parser.add_argument("--direction", choices=DIRECTIONS, default="a2b",
                        help="a2b: faces of side A in, side B's faces out (default); b2a: "
                             "the other way")
    parser.add_argument("--checkpoint", type=int, metavar="ITER",
                        help="export the checkpoint saved at this iteration (default: the "
                             "newest; swapdeck session show lists them)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="the file to write, ending in .onnx or .dfm (replaced if it "
                             "exists)")
    add_queue_options(parser)


def cmd_export_model(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        params = export_model_params(conn, args.session, args.format, args.direction,
                                     args.checkpoint, args.out)
        return queue(project, conn, "export-model", [params], args)


COMMANDS = {"export-model": cmd_export_model}
