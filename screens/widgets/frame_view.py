"""The frame of the Alignments review, drawn in the largest box of cells that keeps its
shape, and where in the frame the mouse was pressed and released, in the frame's own pixels
(a click chooses a face, a drag draws a box).

The frame is painted (scaled, boxes and points drawn over it, and for the text renderers
turned into strips of half blocks) by `paint`, which is safe to call from a thread: a
1080p frame's half blocks take tens of milliseconds to build, which would otherwise stall
every keypress. Kitty and Sixel pictures go through a `Picture`, which draws them itself.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from screens.widgets.picture import Picture, cell_pixels, fit_box
from tui.frame_cache import ShownFrame
from tui.frame_overlay import Marks, frame_overlay
from tui.thumbs import TEXT_RENDERERS, render_strips

if TYPE_CHECKING:
    from PIL.Image import Image

Point = tuple[float, float]


@dataclass(frozen=True)
class Painted:
    image: Image
    strips: list[Strip] | None      # for the text renderers
    box: Region                     # where in the widget's cells it is drawn
    frame_size: tuple[int, int]     # the frame's own pixels


class FrameView(Widget):
    DEFAULT_CSS = "FrameView { width: 1fr; height: 1fr; }"

    class Clicked(Message):
        def __init__(self, point: Point) -> None:
            super().__init__()
            self.point = point

    class Dragged(Message):
        def __init__(self, start: Point, end: Point) -> None:
            super().__init__()
            self.start, self.end = start, end

    def __init__(self, renderer: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.renderer = renderer
        self.painted: Painted | None = None
        self._pressed: Point | None = None

    @property
    def text_drawn(self) -> bool:
        return self.renderer in TEXT_RENDERERS

    def compose(self) -> ComposeResult:
        if not self.text_drawn:
            yield Picture(self.renderer, image_id="frame-image")

    def paint(self, frame: ShownFrame, faces: Sequence[Any], marks: Marks) -> Painted:
        """The frame drawn for this widget's size (thread-safe: it only reads the size)."""
        size = self.content_size
        box = fit_box(frame.size, (size.width, size.height), cell_pixels())
        cell = cell_pixels() if not self.text_drawn else (1, 2)
        target = (max(1, box.width * cell[0]), max(1, box.height * cell[1]))
        image = frame_overlay(frame, faces, target, marks)
        strips = render_strips(image, self.renderer, box.width, box.height) \
            if self.text_drawn and box.width and box.height else None
        return Painted(image, strips, box, frame.size)

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

    def at(self, event: events.MouseEvent, *, clamp: bool = False) -> Point | None:
        """The frame pixel under the mouse (the centre of its cell); off the picture, None
        or (`clamp`) the nearest pixel on it."""
        painted = self.painted
        offset = event.get_content_offset(self)
        if painted is None or offset is None or not painted.box.width:
            return None
        box, (width, height) = painted.box, painted.frame_size
        fx = (offset.x - box.x + 0.5) / box.width
        fy = (offset.y - box.y + 0.5) / box.height
        if clamp:
            fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
        if not (0 <= fx <= 1 and 0 <= fy <= 1):
            return None
        return fx * width, fy * height

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._pressed = self.at(event)
        if self._pressed is not None:
            self.capture_mouse()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()
        start, self._pressed = self._pressed, None
        end = self.at(event, clamp=True)
        if start is None or end is None or self.painted is None:
            return
        width, height = self.painted.frame_size
        if abs(end[0] - start[0]) < width / 50 and abs(end[1] - start[1]) < height / 50:
            self.post_message(self.Clicked(end))
        else:
            self.post_message(self.Dragged(start, end))
