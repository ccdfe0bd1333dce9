"""Mask labels as pictures, with Pillow: the label's truth (its base mask, or empty, with
its polygons painted in order: include 255, exclude 0), and the Mask editor's picture of the
face with a mask tinted over it and the polygons drawn on top. The training side rasterises
labels with OpenCV on its own; both follow store/mask_labels.py.

Pillow is imported inside the functions, so that `import tui.app` stays light for the CLI.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.files.inline_images import check_inline_size, oversized
from tui.mask_draft import Shape

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MASK_TINT = (40, 200, 90)           # the masked part of the face, as in the face detail
COLOURS = {"include": (80, 170, 255), "exclude": (255, 70, 70)}
CHOSEN = (255, 220, 0)              # the chosen point
TINT_SHARE = 0.35


def decode_mask(data: bytes, size: int) -> PILImage:
    """A stored mask PNG as a greyscale image of `size` square."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise oversized("a stored mask", "more pixels than Pillow allows") from error
    check_inline_size(*image.size, "a stored mask")
    image = image.convert("L")
    return image if image.size == (size, size) else image.resize((size, size))


def raster(size: int, base: bytes | None, shapes: Sequence[Shape]) -> PILImage:
    """The label's truth: the base (or nothing) with its closed polygons painted in order."""
    from PIL import Image, ImageDraw

    image = decode_mask(base, size) if base is not None else Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for shape in shapes:
        if shape.closed and len(shape.points) >= 3:
            draw.polygon(list(shape.points), fill=255 if shape.mode == "include" else 0)
    return image


@dataclass(frozen=True)
class Scene:
    """What the editor shows, fixed at one moment (safe to paint from a thread)."""
    crop: Any                                   # the aligned crop, a Pillow RGB image
    size: int                                   # the label's pixels
    shapes: tuple[Shape, ...]
    chosen: tuple[int, int] | None
    window: tuple[float, float, float]          # left, top, side in label pixels
    mask: bytes | None = None                   # a mask kind's PNG to tint over the face
    label: bool = False                         # tint the label itself instead
    base: bytes | None = None                   # the label's base, when `label`


def paint(scene: Scene, target: tuple[int, int]) -> PILImage:
    """The window of the face at `target` pixels, its mask tinted, the polygons drawn."""
    from PIL import Image

    left, top, side = scene.window
    scale = scene.crop.width / scene.size
    image = scene.crop.resize(target, box=(left * scale, top * scale, (left + side) * scale,
                                           (top + side) * scale))
    mask = raster(scene.size, scene.base, scene.shapes) if scene.label else (
        decode_mask(scene.mask, scene.size) if scene.mask is not None else None)
    if mask is not None:
        alpha = mask.resize(target, box=(left, top, left + side, top + side))
        tint = Image.blend(image, Image.new("RGB", target, MASK_TINT), TINT_SHARE)
        image = Image.composite(tint, image, alpha)
    _outline(image, scene, target[0] / side)
    return image


def _outline(image: PILImage, scene: Scene, zoom: float) -> None:
    """Each polygon's edges in its mode's colour, its points as dots, the chosen one ringed."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    left, top, _side = scene.window
    width = max(1, image.width // 250)
    dot = max(1, image.width // 120)
    for index, shape in enumerate(scene.shapes):
        colour = COLOURS.get(shape.mode, COLOURS["include"])
        points = [((x - left) * zoom, (y - top) * zoom) for x, y in shape.points]
        if len(points) > 1:
            draw.line(points + points[:1] if shape.closed else points, fill=colour,
                      width=width)
        for at, (x, y) in enumerate(points):
            radius = dot * 2 if scene.chosen == (index, at) else dot
            fill = CHOSEN if scene.chosen == (index, at) else colour
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
