"""The review grid: a screenful of face tiles over any number of faces.

Only the visible tiles exist: scrolling hands them other faces. The grid reads what it shows
through the face_query view in thread workers, which post what they read back as messages:
the faces in view in their order, then the listings and thumbnails of the visible faces (a
screenful at a time, the visible ones first, then their neighbours).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from textual import work
from textual.actions import SkipAction
from textual.binding import Binding
from textual.events import Resize
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from screens.widgets.faces_tile import IMAGE_HEIGHT, IMAGE_WIDTH, TILE_HEIGHT, TILE_WIDTH, FaceTile
from store.views import face_query
from store.views.face_query import FaceListing
from tui.grid_state import GridState
from tui.thumbs import Thumb, ThumbCache, make_thumb

Caption = Callable[[FaceListing], str]
StoreOpener = Callable[[], AbstractContextManager[sqlite3.Connection]]


def caption_for(sort: str) -> Caption:
    """The tile caption: the face id and the number the grid is sorted by; ✗ excluded,
    ? flagged as probably not a face, + placed by tracking."""
    values: dict[str, Caption] = {
        "distance": lambda f: "-" if f.distance is None else f"{f.distance:.2f}",
        "blur": lambda f: f"b{f.blur:.0f}",
        "yaw": lambda f: f"y{f.yaw:+.0f}",
        "pitch": lambda f: f"p{f.pitch:+.0f}",
        "size": lambda f: f"{f.size * 100:.0f}%",
        "score": lambda f: f"s{f.score:.2f}",
    }
    value = values.get(sort, lambda f: f"f{f.frame_idx}")
    return lambda f: (f"{f.id} {value(f)}{' ✗' if f.excluded else ''}"
                      f"{' ?' if f.flag else ''}{' +' if f.tracked else ''}")


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
                tooltip="Leave visual mode, or unselect everything (with neither: back)"),
    ]
    DEFAULT_CSS = f"""
    FaceGrid {{ layout: grid; grid-gutter: 0 0; height: 1fr;
                grid-columns: {TILE_WIDTH}; grid-rows: {TILE_HEIGHT}; }}
    """

    class FacesRead(Message, bubble=False):
        """The faces in view, in their order, read in a thread worker; `from_top`: the cursor
        starts at the first of them (another group's faces)."""

        def __init__(self, ids: list[int], from_top: bool) -> None:
            super().__init__()
            self.ids = ids
            self.from_top = from_top

    class PageRead(Message, bubble=False):
        """Listings and decoded thumbnails of some faces, read in a thread worker."""

        def __init__(self, listings: dict[int, FaceListing], thumbs: dict[int, Thumb]) -> None:
            super().__init__()
            self.listings = listings
            self.thumbs = thumbs

    class Moved(Message):
        """The cursor or selection changed: the screen updates its status line."""

    def __init__(self, store: StoreOpener, renderer: str, caption: Caption, **kwargs) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.renderer = renderer
        self.cache = ThumbCache()
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

    def current_listing(self) -> FaceListing | None:
        """The listing of the face under the cursor, once it is read."""
        current = self.state.current
        return None if current is None else self.listings.get(current)

    def set_faces(self, ids: list[int], keep: int | None = None, from_top: bool = False) -> None:
        """Show these faces; the cursor stays on `keep` (default: the face under it) or its
        place, or goes to the first face `from_top`."""
        if from_top:
            self.state.cursor = 0
            self.state.top = 0
        self.state.reset(ids, None if from_top else
                         keep if keep is not None else self.state.current)
        self.redraw()

    def provide(self, listings: dict[int, FaceListing]) -> None:
        """New listings arrived (and thumbnails, in the cache): show them."""
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
            self.read_page(missing, {i for i in missing if i not in self.cache},
                           max(state.page_size, 1))

    @work(thread=True, exclusive=True, group="faces-ids")
    def read_faces(self, sort: str, filters: tuple[str, ...], scope: dict[str, Any],
                   from_top: bool = False) -> None:
        """Show the faces of `scope` (face_ids' arguments) in `sort` order, through `filters`;
        `from_top`: with the cursor on the first."""
        with self.store() as conn:
            ids = face_query.face_ids(conn, sort=sort, filters=filters, **scope)
        if not get_current_worker().is_cancelled:
            self.post_message(self.FacesRead(ids, from_top))

    def on_face_grid_faces_read(self, message: FaceGrid.FacesRead) -> None:
        self.set_faces(message.ids, from_top=message.from_top)

    @work(thread=True, exclusive=True, group="faces-thumbs")
    def read_page(self, ids: list[int], unthumbed: set[int], page: int) -> None:
        """Listings and thumbnails, `page` faces at a time, in the order of `ids`. Thumbnails
        never change, so those decoded before a newer read cancelled this one are kept."""
        worker = get_current_worker()
        for start in range(0, len(ids), page):
            part = ids[start:start + page]
            with self.store() as conn:
                listings = face_query.listings(conn, part)
                encoded = face_query.thumbnails(conn, [i for i in part if i in unthumbed])
            thumbs = {face_id: make_thumb(data, self.renderer, IMAGE_WIDTH, IMAGE_HEIGHT)
                      for face_id, data in encoded.items()}
            cancelled = worker.is_cancelled
            if thumbs or not cancelled:
                self.post_message(self.PageRead({} if cancelled else listings, thumbs))
            if cancelled:
                return

    def on_face_grid_page_read(self, message: FaceGrid.PageRead) -> None:
        for face_id, thumb in message.thumbs.items():
            self.cache.put(face_id, thumb)
        self.provide(message.listings)

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
        """Leave visual mode or unselect; with nothing to clear, escape goes on to the
        screen (back, as on every screen)."""
        if self.state.anchor is None and not self.state.selected:
            raise SkipAction()
        self._changed(self.state.clear)

    def on_focus(self) -> None:
        self.redraw(ask=False)

    def on_blur(self) -> None:
        self.redraw(ask=False)

    def tiles(self) -> Iterable[FaceTile]:
        return iter(self._tiles)
