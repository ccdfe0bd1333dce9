"""A picture that keeps its shape: the largest box of whole cells that the widget's space
holds with the picture's aspect ratio, centred in that space.

textual-image's widgets stretch an image over whatever cells they are given, and a terminal
cell is about twice as tall as it is wide, so an image given its panel's cells comes out
squeezed or stretched. Every single-image preview (Train, Analysis, Convert) is a `Picture`.
"""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.events import Resize
from textual.geometry import Region
from textual.widget import Widget

from tui.thumbs import widget_class

# A VT340's cell in pixels, what textual-image assumes when the terminal does not say: 1:2.
DEFAULT_CELL = (10, 20)


def cell_pixels() -> tuple[int, int]:
    """A terminal cell's (width, height) in pixels, as textual-image learnt it from the
    terminal before the app started (every renderer draws into cells of this size), or 1:2
    when nobody knows."""
    from textual_image._terminal import TerminalError, get_cell_size

    try:
        cell = get_cell_size()
    except TerminalError:
        return DEFAULT_CELL
    return (cell.width, cell.height) if cell.width > 0 and cell.height > 0 else DEFAULT_CELL


def image_size(image: Any) -> tuple[int, int] | None:
    """(width, height) in pixels of a PIL image or an H x W (x C) array; None for none."""
    if image is None:
        return None
    shape = getattr(image, "shape", None)
    if shape is not None:
        return int(shape[1]), int(shape[0])
    width, height = image.size
    return int(width), int(height)


def fit_box(image: tuple[int, int], space: tuple[int, int],
            cell: tuple[int, int] = DEFAULT_CELL) -> Region:
    """The largest box of whole cells inside `space` (columns, rows) whose size in pixels
    has the image's aspect ratio (to within a cell), centred in `space`. Empty when there is
    nothing to draw or no room."""
    image_w, image_h = image
    columns, rows = space
    if min(image_w, image_h, columns, rows, *cell) <= 0:
        return Region(0, 0, 0, 0)
    per_row = (image_w / image_h) * (cell[1] / cell[0])   # columns per row of the picture
    width, height = columns, round(columns / per_row)
    if height > rows:
        width, height = round(rows * per_row), rows
    width, height = max(1, min(width, columns)), max(1, min(height, rows))
    return Region((columns - width) // 2, (rows - height) // 2, width, height)


class Picture(Widget):
    """One image drawn by the app's renderer (kitty, sixel, halfcell, unicode) in the
    largest box of the widget's cells that keeps its shape, centred; the rest stays blank."""

    DEFAULT_CSS = """
    Picture { width: 1fr; height: 1fr; align: center middle; }
    """

    def __init__(self, renderer: str, *, id: str | None = None, classes: str | None = None,
                 image_id: str | None = None) -> None:
        """`image_id`: an id for the textual-image widget inside, for whoever looks it up."""
        super().__init__(id=id, classes=classes)
        self.renderer = renderer
        self.image_id = image_id
        self._image: Any = None

    def compose(self) -> ComposeResult:
        yield widget_class(self.renderer)(self._image, id=self.image_id,
                                          classes="picture-image")

    @property
    def image(self) -> Any:
        return self._image

    @image.setter
    def image(self, value: Any) -> None:
        """A PIL image, an H x W x 3 uint8 array, or None for no picture."""
        if value is not None and hasattr(value, "shape"):
            from PIL import Image

            value = Image.fromarray(value)
        self._image = value
        if self.children:
            self._drawn.image = value
            self._fit()

    @property
    def box(self) -> Region:
        """Where the image is drawn, in the widget's content cells."""
        size = image_size(self._image)
        if size is None:
            return Region(0, 0, 0, 0)
        content = self.content_size
        return fit_box(size, (content.width, content.height), cell_pixels())

    @property
    def _drawn(self) -> Any:
        return self.query_one(".picture-image")

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self, event: Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        box = self.box
        styles = self._drawn.styles
        styles.width, styles.height = box.width, box.height   # unchanged: no new layout
