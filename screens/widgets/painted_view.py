"""A picture painted off the main thread, for the views that draw over an image and take
mouse clicks on it (the Alignments frame, the Mask editor's face).

`paint_image` is safe to call from a thread (it reads only the widget's size): it fits the
picture's shape into the widget's cells, lets the caller draw at exactly the pixels the
renderer will show, and for the text renderers builds the half-block strips, which take tens
of milliseconds at full screen. Kitty and Sixel pictures go through a `Picture`, which draws
them itself.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from screens.widgets.picture import Picture, cell_pixels, fit_box
from tui.thumbs import TEXT_RENDERERS, render_strips

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class Painted:
    image: Image
    strips: list[Strip] | None      # for the text renderers
    box: Region                     # where in the widget's cells it is drawn
    space: Any                      # what the picture shows (a frame's size, a label window)


class PaintedView(Widget):
    DEFAULT_CSS = "PaintedView { width: 1fr; height: 1fr; }"

    def __init__(self, renderer: str, *, id: str | None = None,
                 image_id: str | None = None) -> None:
        super().__init__(id=id)
        self.renderer = renderer
        self.image_id = image_id
        self.painted: Painted | None = None

    @property
    def text_drawn(self) -> bool:
        return self.renderer in TEXT_RENDERERS

    def compose(self) -> ComposeResult:
        if not self.text_drawn:
            yield Picture(self.renderer, image_id=self.image_id)

    def paint_image(self, shape: tuple[int, int], space: Any,
                    draw: Callable[[tuple[int, int]], Image]) -> Painted:
        """`draw(target pixels)` for a picture of `shape` (width, height) fitted in the
        widget's cells, with its strips for a text renderer (thread-safe)."""
        size = self.content_size
        box = fit_box(shape, (size.width, size.height), cell_pixels())
        cell = cell_pixels() if not self.text_drawn else (1, 2)
        image = draw((max(1, box.width * cell[0]), max(1, box.height * cell[1])))
        strips = render_strips(image, self.renderer, box.width, box.height) \
            if self.text_drawn and box.width and box.height else None
        return Painted(image, strips, box, space)

    def show(self, painted: Painted) -> None:
        self.painted = painted
        if self.text_drawn:
            self.refresh()
        else:
            self.query_one(Picture).image = painted.image

    def render_line(self, y: int) -> Strip:
        painted = self.painted
        width = self.content_size.width
        if painted is None or painted.strips is None:
            return Strip.blank(width)
        row = y - painted.box.y
        if not 0 <= row < len(painted.strips):
            return Strip.blank(width)
        left = Strip.blank(painted.box.x)
        return Strip.join([left, painted.strips[row]]).crop_extend(0, width, None)

    def fraction_at(self, event: events.MouseEvent, *,
                    clamp: bool = False) -> tuple[float, float] | None:
        """Where the mouse is across the picture (0 to 1 each way, the centre of its cell);
        off the picture, None or (`clamp`) the nearest point on it."""
        painted = self.painted
        offset = event.get_content_offset(self)
        if painted is None or offset is None or not painted.box.width:
            return None
        box = painted.box
        fx = (offset.x - box.x + 0.5) / box.width
        fy = (offset.y - box.y + 0.5) / box.height
        if clamp:
            fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
        return (fx, fy) if 0 <= fx <= 1 and 0 <= fy <= 1 else None
