"""Face images in the terminal through textual-image, decoded and rendered once per face.

textual-image asks the terminal what it can draw (Sixel, Kitty graphics) when it is first
imported, and it cannot ask once Textual owns the terminal: `prepare_terminal` imports it
before the app starts. Everything else imports it (and Pillow) lazily, so `import tui.app`
stays light for the CLI.

Half-cell and unicode images become Textual strips in a worker thread, so the grid only
copies strips. Kitty images are drawn by writing to the terminal, so they render on the
main thread at first paint (then cached); Sixel images need textual-image's own widget.
"""
from __future__ import annotations

import importlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.segment import Segment
from textual.strip import Strip

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

RENDERERS = ("auto", "kitty", "sixel", "halfcell", "unicode")
RENDERER_HELP = ("how face images are drawn: auto (the best the terminal answers to), kitty "
                 "(Kitty graphics), sixel, halfcell (coloured half blocks: any colour terminal, "
                 "tmux) or unicode (grey shading)")
# Rendered in a worker thread (pure text); the others must draw on the main thread.
TEXT_RENDERERS = ("halfcell", "unicode")


def prepare_terminal() -> None:
    """Let textual-image query the terminal now, before Textual takes it over."""
    importlib.import_module("textual_image.widget")  # importing it runs the queries


def resolve(renderer: str) -> str:
    """The renderer `auto` stands for in this terminal; others stand for themselves."""
    if renderer != "auto":
        return renderer
    from textual_image import renderable

    chosen = renderable.Image
    return {renderable.SixelImage: "sixel", renderable.TGPImage: "kitty",
            renderable.HalfcellImage: "halfcell"}.get(chosen, "unicode")


def tile_renderer(renderer: str) -> str:
    """The renderer for grid tiles: Sixel images need a widget each, which a virtualised grid
    does not have, so Sixel terminals get half blocks in the grid (and Sixel in the detail)."""
    return "halfcell" if renderer == "sixel" else renderer


def renderable_class(renderer: str) -> type:
    """textual-image's rich renderable for a resolved renderer (not sixel: see widget_class)."""
    from textual_image import renderable

    return {"kitty": renderable.TGPImage, "halfcell": renderable.HalfcellImage,
            "unicode": renderable.UnicodeImage}[renderer]


def widget_class(renderer: str) -> type:
    """textual-image's widget for a resolved renderer, for larger single images."""
    from textual_image import widget

    return {"kitty": widget.TGPImage, "sixel": widget.SixelImage,
            "halfcell": widget.HalfcellImage, "unicode": widget.UnicodeImage}[renderer]


def decode(data: bytes) -> PILImage:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def render_strips(image: Any, renderer: str, width: int, height: int) -> list[Strip]:
    """The image as `height` strips of `width` cells (thread-safe for text renderers)."""
    console = Console(width=width, height=height, color_system="truecolor", force_terminal=True,
                      legacy_windows=False, file=io.StringIO())
    options = console.options.update_dimensions(width, height)
    lines = console.render_lines(renderable_class(renderer)(image, width, height), options,
                                 pad=True)
    return [Strip(line, width) for line in lines[:height]]


@dataclass
class Thumb:
    """A face's decoded thumbnail and, once rendered, its strips."""
    image: Any
    strips: list[Strip] | None = None


class ThumbCache:
    """The most recently used thumbnails, by face id (they never change for a face)."""

    def __init__(self, capacity: int = 3000) -> None:
        self.capacity = capacity
        self._thumbs: OrderedDict[int, Thumb] = OrderedDict()

    def get(self, face_id: int) -> Thumb | None:
        thumb = self._thumbs.get(face_id)
        if thumb is not None:
            self._thumbs.move_to_end(face_id)
        return thumb

    def __contains__(self, face_id: int) -> bool:
        return face_id in self._thumbs

    def put(self, face_id: int, thumb: Thumb) -> None:
        self._thumbs[face_id] = thumb
        self._thumbs.move_to_end(face_id)
        while len(self._thumbs) > self.capacity:
            self._thumbs.popitem(last=False)

    def clear(self) -> None:
        self._thumbs.clear()


def make_thumb(data: bytes, renderer: str, width: int, height: int) -> Thumb:
    """Decode a stored thumbnail, and render it now when that is safe off the main thread.
    A thumbnail that cannot be decoded shows as a note instead of stopping the review."""
    from PIL import UnidentifiedImageError

    try:
        image = decode(data)
    except (OSError, UnidentifiedImageError, ValueError):
        note = "no image".center(width)
        return Thumb(None, [Strip.blank(width)] * (height // 2) + [Strip([Segment(note)], width)]
                     + [Strip.blank(width)] * (height - height // 2 - 1))
    if renderer in TEXT_RENDERERS:
        return Thumb(image, render_strips(image, renderer, width, height))
    return Thumb(image)


def face_overlay(crop: PILImage, points: Any | None, mask: bytes | None) -> PILImage:
    """A copy of the aligned crop with its landmarks dotted and its mask tinted over it."""
    from PIL import Image, ImageDraw

    image = crop.copy()
    if mask is not None:
        alpha = Image.open(io.BytesIO(mask)).convert("L").resize(image.size)
        tint = Image.new("RGB", image.size, (40, 200, 90))
        image = Image.composite(Image.blend(image, tint, 0.35), image, alpha)
    if points is not None:
        draw = ImageDraw.Draw(image)
        radius = max(image.width // 160, 1)
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 60, 60))
    return image
