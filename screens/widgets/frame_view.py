"""The frame of the Alignments review, drawn in the largest box of cells that keeps its
shape (painted in a thread: see `PaintedView`), and where in the frame the mouse was
pressed and released, in the frame's own pixels (a click chooses a face, a drag draws a
box)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import events
from textual.message import Message

from screens.widgets.painted_view import Painted, PaintedView
from tui.frame_cache import ShownFrame
from tui.frame_overlay import Marks, frame_overlay

Point = tuple[float, float]


class FrameView(PaintedView):
    """`painted.space` is the frame's own (width, height)."""

    class Clicked(Message):
        def __init__(self, point: Point) -> None:
            super().__init__()
            self.point = point

    class Dragged(Message):
        def __init__(self, start: Point, end: Point) -> None:
            super().__init__()
            self.start, self.end = start, end

    def __init__(self, renderer: str, *, id: str | None = None) -> None:
        super().__init__(renderer, id=id, image_id="frame-image")
        self._pressed: Point | None = None

    def paint(self, frame: ShownFrame, faces: Sequence[Any], marks: Marks) -> Painted:
        """The frame drawn for this widget's size (thread-safe: it only reads the size)."""
        return self.paint_image(frame.size, frame.size,
                                lambda target: frame_overlay(frame, faces, target, marks))

    def at(self, event: events.MouseEvent, *, clamp: bool = False) -> Point | None:
        """The frame pixel under the mouse (the centre of its cell); off the picture, None
        or (`clamp`) the nearest pixel on it."""
        where = self.fraction_at(event, clamp=clamp)
        if where is None or self.painted is None:
            return None
        width, height = self.painted.space
        return where[0] * width, where[1] * height

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
        width, height = self.painted.space
        if abs(end[0] - start[0]) < width / 50 and abs(end[1] - start[1]) < height / 50:
            self.post_message(self.Clicked(end))
        else:
            self.post_message(self.Dragged(start, end))
