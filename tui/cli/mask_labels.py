"""`swapdeck masks label ...`: the hand-made mask labels (what the occlusion mask learns
from), the Mask editor's twins.

    swapdeck masks label import PROJECT DIR [--replace]
    swapdeck masks label list PROJECT [--json]
    swapdeck masks label delete PROJECT FACE [FACE ...]

Pillow is imported only by `import`, so that `import tui.cli.main` stays light.
"""
from __future__ import annotations

import argparse
import io
import re
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from store import faces, mask_labels
from store.files.inline_images import MAX_INLINE_PIXELS
from store.mask_labels import MaskLabel
from store.project import open_project
from tui.cli.common import JSON_SCHEMA, CliError, Commands, print_json
from tui.printable import printable

if TYPE_CHECKING:
    from PIL.Image import Image

NAME = re.compile(r"(?:face_)?(\d+)\.png", re.IGNORECASE)
# The most two colour channels of a pixel may differ for the picture to count as grey.
GREY_TOLERANCE = 8
IMPORT_HELP = (
    "Read black-and-white PNG masks into labels, one a face: white is face, black is not. "
    "Each file is named by its face's id, 123.png or face_123.png (the ids swapdeck faces "
    "list prints), and covers the face's square aligned crop; it is resized to the label "
    "size and stored as the label's base, with no polygons. Files that cannot be used are "
    "reported and skipped; the exit status is 2 when nothing was imported.")


class Unusable(Exception):
    """Why one file was skipped, in words for the user."""


def add_parsers(actions: Commands) -> None:
    """Add `swapdeck masks label` and its actions."""
    label = actions.add_parser("label", help="import, list or delete hand-made mask labels "
                                             "(what the occlusion mask learns from)")
    label_actions = label.add_subparsers(dest="label_action", required=True,
                                         metavar="ACTION", help="import, list or delete")
    reader = label_actions.add_parser("import", help="labels from black-and-white PNG masks "
                                      "named by face id", description=IMPORT_HELP)
    reader.add_argument("project", help="the project folder")
    reader.add_argument("dir", help="the folder of PNG masks (123.png or face_123.png)")
    reader.add_argument("--replace", action="store_true",
                        help="replace the labels faces have already (else they are skipped)")
    reader.set_defaults(run=cmd_import)
    lister = label_actions.add_parser("list", help="the faces with a label")
    lister.add_argument("project", help="the project folder")
    lister.add_argument("--json", action="store_true", help="print the stable JSON document")
    lister.set_defaults(run=cmd_list)
    deleter = label_actions.add_parser("delete", help="delete faces' labels")
    deleter.add_argument("project", help="the project folder")
    deleter.add_argument("faces", nargs="+", type=int, metavar="FACE", help="a face's id")
    deleter.set_defaults(run=cmd_delete)


# --- import ------------------------------------------------------------------------------

def cmd_import(args: argparse.Namespace) -> int:
    folder = Path(args.dir).expanduser()
    if not folder.is_dir():
        raise CliError(f"no folder {folder}")
    project = open_project(args.project)
    files = sorted(path for path in folder.iterdir() if path.is_file())
    with project.connection() as conn:
        labelled = set() if args.replace else mask_labels.labelled_faces(conn)
        bases = []
        for path in files:
            try:
                bases.append(_read_label(conn, path, labelled))
            except Unusable as exc:
                print(printable(f"skipped {path.name}: {exc}"), file=sys.stderr)
        mask_labels.save_bases(conn, bases)
    print(printable(f"imported {len(bases)} label(s) from {folder}; "
                    f"skipped {len(files) - len(bases)} file(s)"))
    return 0 if bases else 2


def _read_label(conn: sqlite3.Connection, path: Path,
                labelled: set[int]) -> tuple[int, int, bytes]:
    """(face id, label size, the mask as a PNG of that size) from one file."""
    found = NAME.fullmatch(path.name)
    if found is None:
        raise Unusable("not named by a face id (123.png or face_123.png)")
    face_id = int(found[1])
    if faces.get_face(conn, face_id) is None:
        raise Unusable(f"no face {face_id} in this project")
    if face_id in labelled:
        raise Unusable(f"face {face_id} has a label already (--replace replaces it)")
    size = mask_labels.label_size(conn, face_id)
    return face_id, size, _read_mask(path, size)


def _read_mask(path: Path, size: int) -> bytes:
    """The file as a greyscale PNG of `size` square."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.format != "PNG":
                raise Unusable(f"not a PNG but {image.format or 'another format'}")
            if width * height > MAX_INLINE_PIXELS:
                raise Unusable(f"{width}x{height} is larger than any mask")
            if width != height:
                raise Unusable(f"{width}x{height}: a mask covers the square aligned face")
            image.load()
            grey = _grey(image)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise Unusable(f"unreadable: {exc}") from None
    out = io.BytesIO()
    grey.resize((size, size), Image.Resampling.BILINEAR).save(out, "PNG")
    return out.getvalue()


def _grey(image: Image) -> Image:
    """The picture in grey, transparent parts black; a picture in colour is refused."""
    import numpy as np
    from PIL import Image as PILImage

    if image.mode in ("1", "L"):
        return image.convert("L")
    if image.mode in ("I", "I;16"):                 # 16-bit grey
        values = np.asarray(image).astype(np.int64).clip(0, 65535)
        return PILImage.fromarray((values * 255 // 65535).astype(np.uint8))
    if image.mode not in ("LA", "P", "PA", "RGB", "RGBA"):
        raise Unusable(f"not greyscale-able (its colour mode is {image.mode})")
    rgba = np.asarray(image.convert("RGBA")).astype(np.int16)
    spread = int((rgba[..., :3].max(axis=2) - rgba[..., :3].min(axis=2)).max())
    if spread > GREY_TOLERANCE:
        raise Unusable("in colour: a label is a black-and-white mask (white: face)")
    grey = rgba[..., :3].mean(axis=2) * rgba[..., 3] / 255
    return PILImage.fromarray(grey.round().astype(np.uint8))


# --- list and delete ---------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        rows = mask_labels.labels(conn)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "labels": [_label_json(label) for label in rows]})
        return 0
    if not rows:
        print("no mask labels yet: draw them in the Mask editor (Faces, enter, e) or "
              "import them with swapdeck masks label import")
        return 0
    print(f"{'face':>8}  {'size':>4}  {'base':<4}  {'include':>7}  {'exclude':>7}  updated")
    for label in rows:
        modes = [p.mode for p in label.polygons]
        print(f"{label.face_id:>8}  {label.size:>4}  {'yes' if label.base else 'no':<4}  "
              f"{modes.count('include'):>7}  {modes.count('exclude'):>7}  "
              f"{datetime.fromtimestamp(label.updated_at):%Y-%m-%d %H:%M}")
    print(f"{len(rows)} label(s)")
    return 0


def _label_json(label: MaskLabel) -> dict:
    return {"face_id": label.face_id, "size": label.size, "base": label.base is not None,
            "polygons": [p.to_json() for p in label.polygons],
            "updated_at": label.updated_at}


def cmd_delete(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    missing = []
    with project.connection() as conn:
        for face_id in dict.fromkeys(args.faces):
            if mask_labels.delete_label(conn, face_id):
                print(f"deleted the label of face {face_id}")
            else:
                missing.append(face_id)
    for face_id in missing:
        print(f"swapdeck masks: face {face_id} has no label", file=sys.stderr)
    return 2 if missing else 0
