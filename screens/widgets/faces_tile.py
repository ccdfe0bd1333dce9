"""One face of the review grid: its thumbnail, a caption line and a border, drawn from
cached strips."""
from __future__ import annotations

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from tui.thumbs import Thumb, ThumbCache, render_strips

IMAGE_WIDTH = 16
IMAGE_HEIGHT = 8
TILE_WIDTH = IMAGE_WIDTH + 2      # with the border
TILE_HEIGHT = IMAGE_HEIGHT + 3    # with the caption line and the border

# Tile looks: border colour variable and glyphs (top left, top, top right, side, bottom
# left, bottom, bottom right).
ROUND = "╭─╮│╰─╯"
HEAVY = "┏━┓┃┗━┛"
LOOKS = {"plain": ("panel-lighten-2", ROUND), "selected": ("success", ROUND),
         "excluded": ("error", ROUND), "cursor": ("accent", HEAVY)}


class FaceTile(Widget):
    """One face: its thumbnail, a caption line, and a border that shows the cursor, the
    selection and exclusion.

    The tile draws its whole box itself from cached strips, past Textual's per-line styling:
    a page of fresh tiles is thousands of differently coloured cells, and restyling each of
    them on every page turn cost most of the paging time.
    """

    DEFAULT_CSS = f"""
    FaceTile {{ width: {TILE_WIDTH}; height: {TILE_HEIGHT}; }}
    """

    def __init__(self, renderer: str, cache: ThumbCache) -> None:
        super().__init__()
        self.renderer = renderer
        self.cache = cache
        self.face_id: int | None = None
        self.caption = ""
        self.look = "plain"
        self._thumb: Thumb | None = None
        self._lines: list[Strip] | None = None

    def show(self, face_id: int | None, caption: str, look: str) -> None:
        thumb = self.cache.get(face_id) if face_id is not None else None
        if (face_id, caption, thumb, look) != (self.face_id, self.caption, self._thumb,
                                                self.look):
            self.face_id, self.caption, self._thumb, self.look = face_id, caption, thumb, look
            self._lines = None
            self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._lines is None:
            self._lines = self._draw()
        if self._sixel_drawable(crop):
            return self._with_sixel(self._lines, self._thumb.sixel)
        return [line.crop(crop.x, crop.right) for line in self._lines[crop.y:crop.bottom]]

    def _sixel_drawable(self, crop: Region) -> bool:
        """A Sixel image is written out only over a whole tile on the active screen: it
        cannot be cropped, and would cover a dialog above it."""
        return (self._thumb is not None and self._thumb.sixel is not None
                and crop == Region(0, 0, TILE_WIDTH, TILE_HEIGHT) and self.screen.is_active)

    def _with_sixel(self, lines: list[Strip], sixel: str) -> list[Strip]:
        """The tile's lines with the image cells skipped rather than printed, and the Sixel
        image written from the image's top left corner on its last line: the cursor then
        goes back to where the line's printing carries on (Textual writes lines in order)."""
        x, y = self.region.x + 1, self.region.y + 1
        skip = Control.move(IMAGE_WIDTH, 0).segment
        image = [Control.move_to(x, y).segment,
                 Segment(sixel, None, [(ControlType.CURSOR_FORWARD, 0)]),
                 Control.move_to(x + IMAGE_WIDTH, y + IMAGE_HEIGHT - 1).segment]
        drawn = list(lines)
        for row in range(1, IMAGE_HEIGHT + 1):
            segments = list(lines[row])
            middle = image if row == IMAGE_HEIGHT else [skip]
            drawn[row] = Strip([segments[0], *middle, segments[-1]], TILE_WIDTH)
        return drawn

    def _draw(self) -> list[Strip]:
        background = self.app.theme_variables.get("background", "#000000")
        base = Style.parse(f"{self.app.theme_variables.get('foreground', '#e0e0e0')} "
                           f"on {background}")
        blank = Strip.blank(TILE_WIDTH, base)
        if self.face_id is None:
            return [blank] * TILE_HEIGHT
        variable, glyphs = LOOKS[self.look]
        edge = base + Style.parse(self.app.theme_variables.get(variable, "white"))
        top_left, top, top_right, side, bottom_left, bottom, bottom_right = glyphs
        left, right = Segment(side, edge), Segment(side, edge)
        lines = [Strip([Segment(top_left + top * IMAGE_WIDTH + top_right, edge)], TILE_WIDTH)]
        for image_line in self._image_lines(base):
            lines.append(Strip([left, *image_line, right], TILE_WIDTH))
        caption = self.caption[:IMAGE_WIDTH].ljust(IMAGE_WIDTH)
        caption_style = edge if self.look != "plain" else base
        lines.append(Strip([left, Segment(caption, caption_style), right], TILE_WIDTH))
        lines.append(Strip([Segment(bottom_left + bottom * IMAGE_WIDTH + bottom_right, edge)],
                           TILE_WIDTH))
        return lines

    def _image_lines(self, base: Style) -> list[Strip]:
        thumb = self._thumb
        if thumb is None or thumb.sixel is not None:  # Sixel images are written in their place
            return [Strip.blank(IMAGE_WIDTH, base)] * IMAGE_HEIGHT
        if thumb.strips is None:  # a renderer that must draw on the main thread
            thumb.strips = render_strips(thumb.image, self.renderer, IMAGE_WIDTH, IMAGE_HEIGHT)
        return thumb.strips
