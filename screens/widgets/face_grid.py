"""The review grid: a screenful of face tiles over any number of faces.

Only the visible tiles exist: scrolling hands them other faces. Tiles draw thumbnails from
the shared `ThumbCache`; faces whose thumbnail or listing is missing are asked for with a
`FaceGrid.Wanted` message (the screen loads them in a thread worker and calls `provide`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Resize
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from store.views.face_query import FaceListing
from tui.grid_state import GridState
from tui.thumbs import Thumb, ThumbCache, render_strips

IMAGE_WIDTH = 16
IMAGE_HEIGHT = 8
TILE_WIDTH = IMAGE_WIDTH + 2      # with the border
TILE_HEIGHT = IMAGE_HEIGHT + 3    # with the caption line and the border

Caption = Callable[[FaceListing], str]


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


class FaceGrid(Widget, can_focus=True):
    """Keyboard review of an ordered list of faces."""

    BINDINGS = [
        Binding("left,h", "move(0, -1)", "Left", show=False, id="faces.left",
                tooltip="Move to the previous face"),
        Binding("right,l", "move(0, 1)", "Right", show=False, id="faces.right",
                tooltip="Move to the next face"),
        Binding("up,k", "move(-1, 0)", "Up", show=False, id="faces.up",
                tooltip="Move up a row"),
        Binding("down,j", "move(1, 0)", "Down", show=False, id="faces.down",
                tooltip="Move down a row"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="faces.page_up",
                tooltip="Move up a screenful"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="faces.page_down",
                tooltip="Move down a screenful"),
        Binding("home,g", "first", "First", show=False, id="faces.first",
                tooltip="Move to the first face"),
        Binding("end,G", "last", "Last", show=False, id="faces.last",
                tooltip="Move to the last face"),
        Binding("space", "toggle", "Select", id="faces.toggle",
                tooltip="Select the face under the cursor, or unselect it"),
        Binding("v", "visual", "Visual", id="faces.visual",
                tooltip="Visual mode: select every face the cursor passes over; v again keeps "
                        "the range"),
        Binding("escape", "clear", "Clear", show=False, id="faces.clear",
                tooltip="Leave visual mode, or unselect everything"),
    ]
    DEFAULT_CSS = f"""
    FaceGrid {{ layout: grid; grid-gutter: 0 0; height: 1fr;
                grid-columns: {TILE_WIDTH}; grid-rows: {TILE_HEIGHT}; }}
    """

    class Wanted(Message):
        """Visible faces (first) and their neighbours whose data is not here yet."""

        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

    class Moved(Message):
        """The cursor or selection changed: the screen updates its status line."""

    def __init__(self, renderer: str, cache: ThumbCache, caption: Caption, **kwargs) -> None:
        super().__init__(**kwargs)
        self.renderer = renderer
        self.cache = cache
        self.caption = caption
        self.state = GridState()
        self.listings: dict[int, FaceListing] = {}
        self._tiles: list[FaceTile] = []

    def on_resize(self, event: Resize) -> None:
        columns = max(event.size.width // TILE_WIDTH, 1)
        rows = max(event.size.height // TILE_HEIGHT, 1)
        if (columns, rows) != (self.state.columns, self.state.rows) or not self._tiles:
            self.state.resize(columns, rows)
            self.styles.grid_size_columns = columns
            self._rebuild_tiles()

    def _rebuild_tiles(self) -> None:
        wanted = self.state.page_size
        if len(self._tiles) > wanted:
            surplus, self._tiles = self._tiles[wanted:], self._tiles[:wanted]
            for tile in surplus:
                tile.remove()
        elif len(self._tiles) < wanted:
            fresh = [FaceTile(self.renderer, self.cache) for _ in range(wanted - len(self._tiles))]
            self._tiles += fresh
            self.mount_all(fresh)
        self.redraw()

    def set_faces(self, ids: list[int], keep: int | None = None) -> None:
        self.state.reset(ids, keep if keep is not None else self.state.current)
        self.redraw()

    def provide(self, listings: dict[int, FaceListing]) -> None:
        """New data arrived (listings; thumbnails are in the cache): show it."""
        self.listings.update(listings)
        self.redraw(ask=False)

    def forget_listings(self) -> None:
        """Listings changed in the store (a review action): ask for them again."""
        self.listings.clear()
        self.redraw()

    def redraw(self, ask: bool = True) -> None:
        """Hand each tile its face, and ask for what is missing."""
        state = self.state
        visible = state.visible
        with self.app.batch_update():
            for offset, tile in enumerate(self._tiles):
                index = visible.start + offset
                if index not in visible:
                    tile.show(None, "", "plain")
                    continue
                face_id = state.ids[index]
                listing = self.listings.get(face_id)
                selected = state.is_selected(index)
                look = ("cursor" if index == state.cursor and self.has_focus else
                        "selected" if selected else
                        "excluded" if listing and listing.excluded else "plain")
                caption = self.caption(listing) if listing else "…"
                tile.show(face_id, f"● {caption}" if selected else caption, look)
        if ask:
            self._ask()
        self.post_message(self.Moved())

    def _ask(self) -> None:
        state = self.state
        around = range(max(state.visible.start - state.page_size, 0),
                       min(state.visible.stop + state.page_size, len(state.ids)))
        ordered = [*state.visible, *(i for i in around if i not in state.visible)]
        missing = [state.ids[i] for i in ordered
                   if state.ids[i] not in self.listings or state.ids[i] not in self.cache]
        if missing:
            self.post_message(self.Wanted(missing))

    def _changed(self, action: Callable[[], None]) -> None:
        before = self.state.top
        action()
        self.redraw(ask=self.state.top != before)

    def action_move(self, rows: int, columns: int) -> None:
        self._changed(lambda: self.state.move(rows, columns))

    def action_page(self, pages: int) -> None:
        self._changed(lambda: self.state.page(pages))

    def action_first(self) -> None:
        self._changed(lambda: self.state.to(0))

    def action_last(self) -> None:
        self._changed(lambda: self.state.to(len(self.state.ids) - 1))

    def action_toggle(self) -> None:
        self._changed(self.state.toggle)

    def action_visual(self) -> None:
        self._changed(self.state.visual)

    def action_clear(self) -> None:
        self._changed(self.state.clear)

    def on_focus(self) -> None:
        self.redraw(ask=False)

    def on_blur(self) -> None:
        self.redraw(ask=False)

    def tiles(self) -> Iterable[FaceTile]:
        return iter(self._tiles)
