"""`swapdeck masks train` and `swapdeck masks apply`: the trainable occlusion mask
(DeepFaceLab's XSeg), trained on the labelled faces and applied to every kept face.

    swapdeck masks train PROJECT [--name N] [--iterations N] [--batch-size N] [--from FILE]
                         [--resolution R] [--channels C] [--learning-rate LR]
                         [--save-every N] [--wait] [--no-worker]
    swapdeck masks apply PROJECT [--model NAME] [--source S ...] [--wait] [--no-worker]

The requests are checked by store.mask_models (the options' help, bounds and choices come
from its dataclasses), so a bad value never reaches the queue.
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, fields
from pathlib import Path

from store import face_masks, mask_models
from store.mask_models import APPLY_KIND, TRAIN_KIND
from store.requests.mask_train import (DEFAULT_NAME, MaskNetwork, MaskTrainSettings,
                                       apply_request, train_request)
from store.project import open_project
from tui.cli.common import Commands, add_queue_options, queue, resolve_source_ids
from tui.printable import printable

TRAIN_OPTIONS = {option.name: option for option in fields(MaskTrainSettings)}
NETWORK_OPTIONS = {option.name: option for option in fields(MaskNetwork)}
METAVARS = {"iterations": "N", "batch_size": "N", "save_every": "N", "learning_rate": "LR",
            "resolution": "R", "channels": "C"}


def add_parsers(actions: Commands) -> None:
    """Add `train` and `apply` to `swapdeck masks`."""
    _add_train(actions)
    _add_apply(actions)


def _add_option(parser: argparse.ArgumentParser, option: Field, note: str = "") -> None:
    default = option.default if option.default is not MISSING else None
    choices = option.metadata.get("choices")
    parser.add_argument("--" + option.name.replace("_", "-"), dest=option.name,
                        type=type(default), choices=choices, metavar=METAVARS[option.name],
                        help=(f"{option.metadata['help']}{note} (default: {default}"
                              + (f"; one of {', '.join(map(str, choices))}" if choices else "")
                              + ")").replace("%", "%%"))


def _add_train(actions: Commands) -> None:
    train = actions.add_parser(
        "train", help="train the occlusion mask (XSeg-style) on the labelled faces",
        description="Queue a mask-train job: a small U-Net learns the labelled faces' masks "
                    "(hands, hair, glasses left out as drawn), with the face model's "
                    "augmentation. A new --name makes a new model; a model trained before "
                    "goes on from its last checkpoint to --iterations. Its checkpoint and a "
                    "preview (preview.png: its masks on a few unlabelled faces) are in "
                    "PROJECT/models/masks/<id>/; `swapdeck masks apply` then masks the faces.")
    train.add_argument("project", help="the project folder")
    train.add_argument("--name", default=DEFAULT_NAME,
                       help="the mask model: a new one is made, one trained before goes on "
                            f"(default: {DEFAULT_NAME}); its masks are the kind xseg-NAME")
    for name in ("iterations", "batch_size", "learning_rate", "save_every"):
        _add_option(train, TRAIN_OPTIONS[name])
    for name in ("resolution", "channels"):
        _add_option(train, NETWORK_OPTIONS[name], " A new model only.")
    train.add_argument("--from", dest="from_file", type=Path, metavar="FILE",
                       help="start a new model from a pre-trained network: a safetensors "
                            "file of an XSeg network's weights (a swapdeck mask checkpoint "
                            "will do); the tensors whose names and shapes fit are loaded")
    add_queue_options(train)
    train.set_defaults(run=run_train)


def _add_apply(actions: Commands) -> None:
    apply = actions.add_parser(
        "apply", help="mask every kept face with a trained occlusion mask",
        description="Queue a mask-apply job: the mask model's newest checkpoint masks every "
                    "kept face of the sources; the masks are the kind xseg-NAME, usable "
                    "wherever a mask kind is chosen. Faces that checkpoint has masked already "
                    "are skipped, so a stopped job resumes where it was.")
    apply.add_argument("project", help="the project folder")
    apply.add_argument("--model", metavar="NAME",
                       help="the mask model to apply (default: the project's only one)")
    apply.add_argument("--source", nargs="+", default=[], metavar="SOURCE",
                       help="only the faces of these sources (ids or paths; default: all)")
    add_queue_options(apply)
    apply.set_defaults(run=run_apply)


def run_train(args: argparse.Namespace) -> int:
    settings = MaskTrainSettings(**_given(args, TRAIN_OPTIONS))
    shape = _given(args, NETWORK_OPTIONS)
    network = MaskNetwork(**shape) if shape else None
    project = open_project(args.project)
    with project.connection() as conn:
        params = train_request(conn, project.root, args.name, settings, network,
                               args.from_file)
        model = mask_models.get(conn, params["model_id"])
        print(printable(f"mask model {model.name} (masks: {model.kind}) trains from iteration "
                        f"{model.iteration:,} to {settings.iterations:,} on "
                        f"{mask_models.label_count(conn):,} labelled faces"))
        return queue(project, conn, TRAIN_KIND, [params], args, show_progress=True)


def run_apply(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        source_ids = resolve_source_ids(conn, args.source)
        params = apply_request(conn, args.model, source_ids)
        model = mask_models.get(conn, params["model_id"])
        faces = face_masks.count_kept(conn, source_ids)
        print(printable(f"mask model {model.name} masks {faces:,} kept faces as {model.kind}"))
        return queue(project, conn, APPLY_KIND, [params], args, show_progress=True)


def _given(args: argparse.Namespace, options: dict[str, Field]) -> dict[str, object]:
    return {name: getattr(args, name) for name in options
            if getattr(args, name, None) is not None}
