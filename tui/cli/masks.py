"""`swapdeck masks ACTION ...`: the neural masks, hand-made mask labels and the trainable
occlusion mask. Each action lives in a module of its own (mask_add, mask_labels,
mask_train), which adds its parser and sets `run` on it.

`swapdeck masks PROJECT --add KIND` (as faceswap's users write it) is read as
`swapdeck masks add PROJECT KIND`.
"""
from __future__ import annotations

import argparse

from tui.cli import mask_add, mask_labels, mask_train
from tui.cli.common import Commands

ACTIONS = ("add", "list", "label", "train", "apply")


def add_masks_parser(commands: Commands) -> None:
    masks = commands.add_parser("masks", help="add neural masks (face parsing), label masks "
                                              "by hand, train and apply the occlusion mask")
    actions = masks.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   help="add, label, train or apply")
    for module in (mask_add, mask_labels, mask_train):
        module.add_parsers(actions)


def flag_form(argv: list[str]) -> list[str]:
    """`masks PROJECT --add KIND ...` as `masks add PROJECT KIND ...`; anything else as is."""
    if argv[:1] != ["masks"] or len(argv) < 2 or argv[1] in ACTIONS or "--add" not in argv:
        return argv
    rest = argv[1:]
    at = rest.index("--add")
    kind = rest[at + 1:at + 2]
    return ["masks", "add", *rest[:at], *kind, *rest[at + 2:]]


def cmd_masks(args: argparse.Namespace) -> int:
    return args.run(args)


COMMANDS = {"masks": cmd_masks}
