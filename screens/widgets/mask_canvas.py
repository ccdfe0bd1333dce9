"""The Mask editor's picture: the face (or the zoomed part of it) with a mask tinted over it
and the polygons drawn, in the largest square of cells the widget holds, and where a click
landed, in the label's pixels.

`paint` is safe to call from a thread: see `PaintedView`.
"""
from __future__ import annotations

from textual import events
from textual.message import Message

from screens.widgets.painted_view import Painted, PaintedView
from tui.label_raster import Scene, paint
from tui.mask_draft import Point


class MaskCanvas(PaintedView):
    """`painted.space` is the label's square it shows: (left, top, side)."""

    class Clicked(Message):
        """A click on the picture, at this label pixel."""

        def __init__(self, point: Point) -> None:
            super().__init__()
            self.point = point

    def __init__(self, renderer: str, *, id: str | None = None) -> None:
        super().__init__(renderer, id=id, image_id="mask-image")

    def paint(self, scene: Scene) -> Painted:
        """The scene drawn for this widget's size (thread-safe: it only reads the size)."""
        return self.paint_image((1, 1), scene.window, lambda target: paint(scene, target))

    def on_click(self, event: events.Click) -> None:
        """The label pixel under the pointer (the centre of its cell), when on the picture."""
        where = self.fraction_at(event)
        if where is not None and self.painted is not None:
            left, top, side = self.painted.space
            self.post_message(self.Clicked((left + where[0] * side, top + where[1] * side)))
