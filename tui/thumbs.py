"""Face images in the terminal through textual-image, decoded and rendered once per face.

textual-image asks the terminal what it can draw (Sixel, Kitty graphics) when it is first
imported, and it cannot ask once Textual owns the terminal: `prepare_terminal` imports it
before the app starts. Everything else imports it (and Pillow) lazily, so `import tui.app`
stays light for the CLI.

Half-cell and unicode images become Textual strips in a worker thread, so the grid only
copies strips; Sixel images are encoded there too, and a grid tile writes them out itself.
Kitty images are drawn by writing to the terminal, so they render on the main thread at
first paint (then cached).
"""
from __future__ import annotations

import importlib
import io
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.segment import Segment
from textual.strip import Strip

from store.files.inline_images import check_inline_size, oversized

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

RENDERERS = ("auto", "kitty", "sixel", "halfcell", "unicode")
RENDERER_HELP = ("how face images are drawn: auto (the best the terminal answers to), kitty "
                 "(Kitty graphics), sixel, halfcell (coloured half blocks: any colour terminal, "
                 "tmux) or unicode (grey shading)")
# Rendered in a worker thread (pure text); the others must draw on the main thread.
TEXT_RENDERERS = ("halfcell", "unicode")

# Kitty draws images inside text cells (which a grid needs) through Unicode placeholders,
# from version 0.28 on; older versions answer the graphics query but draw boxes instead.
KITTY_PLACEHOLDERS = (0, 28)
_auto_renderer: str | None = None  # what `auto` means here, once the terminal has answered


def prepare_terminal() -> None:
    """Ask the terminal, before Textual takes it over (it cannot be asked afterwards): what it
    can draw (textual-image asks when imported), the pixel size of a cell (for Sixel) and, in
    Kitty, its version."""
    global _auto_renderer
    importlib.import_module("textual_image.widget")
    from textual_image._terminal import TerminalError, get_cell_size

    try:
        get_cell_size()
    except TerminalError:  # no terminal to ask: Sixel images assume a VT340's cells
        pass
    _auto_renderer = _detected()
    if _auto_renderer == "kitty" and _kitty_version() < KITTY_PLACEHOLDERS:
        _auto_renderer = "halfcell"


def _detected() -> str:
    from textual_image import renderable

    return {renderable.SixelImage: "sixel", renderable.TGPImage: "kitty",
            renderable.HalfcellImage: "halfcell"}.get(renderable.Image, "unicode")


def _kitty_version() -> tuple[int, ...]:
    """The version Kitty gives in its answer to XTVERSION; a terminal that does not answer
    is taken to be a recent one."""
    from textual_image._terminal import TerminalError, capture_terminal_response

    try:
        with capture_terminal_response("\x1bP>|", "\x1b\\", timeout=0.1) as response:
            sys.__stdout__.write("\x1b[>0q")
            sys.__stdout__.flush()
    except (TerminalError, TimeoutError):
        return (sys.maxsize,)
    found = re.search(r"kitty\((\d+)\.(\d+)", response.sequence)
    return (int(found[1]), int(found[2])) if found else (sys.maxsize,)


def resolve(renderer: str) -> str:
    """The renderer `auto` stands for in this terminal; others stand for themselves."""
    if renderer != "auto":
        return renderer
    return _auto_renderer or _detected()


def renderable_class(renderer: str) -> type:
    """textual-image's rich renderable for a resolved renderer (not sixel: see sixel_data)."""
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

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's own, far higher, limit
        raise oversized("a stored picture", "more pixels than Pillow allows") from error
    check_inline_size(*image.size, "a stored picture")
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


def sixel_data(image: PILImage, width: int, height: int) -> str:
    """The image fitted into `width` x `height` cells of this terminal, centred on black (so
    it covers every cell it stands on), as Sixel data."""
    from PIL import Image, ImageOps
    from textual_image._sixel import image_to_sixels
    from textual_image._terminal import get_cell_size

    cell = get_cell_size()
    box = (width * cell.width, height * cell.height)
    fitted = ImageOps.contain(image, box)
    canvas = Image.new("RGB", box)
    canvas.paste(fitted, ((box[0] - fitted.width) // 2, (box[1] - fitted.height) // 2))
    return image_to_sixels(canvas)


@dataclass
class Thumb:
    """A face's decoded thumbnail and, once rendered, its strips (or its Sixel data)."""
    image: Any
    strips: list[Strip] | None = None
    sixel: str | None = None


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
    if renderer == "sixel":
        return Thumb(image, sixel=sixel_data(image, width, height))
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
