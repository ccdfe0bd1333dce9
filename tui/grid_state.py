"""Where the review grid stands: the ordered faces, the cursor, the scroll and the selection.

Pure bookkeeping with no Textual in it, so the grid widget only draws what this says.
Visual mode works like vim's: `v` drops an anchor, moving the cursor selects every face
between the anchor and the cursor, and `v` again keeps that range in the selection.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GridState:
    ids: list[int] = field(default_factory=list)
    columns: int = 1
    rows: int = 1
    cursor: int = 0
    top: int = 0                      # the first visible row
    selected: set[int] = field(default_factory=set)
    anchor: int | None = None         # visual mode's anchor index, when on

    @property
    def page_size(self) -> int:
        return self.columns * self.rows

    @property
    def current(self) -> int | None:
        """The face under the cursor."""
        return self.ids[self.cursor] if self.ids else None

    @property
    def visible(self) -> range:
        start = self.top * self.columns
        return range(start, min(start + self.page_size, len(self.ids)))

    def reset(self, ids: list[int], keep: int | None = None) -> None:
        """New faces in view; the cursor stays on `keep` when it is still there, else on the
        same position. The selection keeps the faces still in view."""
        position = {face_id: i for i, face_id in enumerate(ids)}
        self.ids = ids
        self.cursor = position.get(keep, min(self.cursor, max(len(ids) - 1, 0)))
        self.selected &= position.keys()
        self.anchor = None
        self._follow()

    def resize(self, columns: int, rows: int) -> None:
        self.columns, self.rows = max(columns, 1), max(rows, 1)
        self._follow()

    def move(self, rows: int = 0, columns: int = 0) -> None:
        """Move by rows and columns; left and right wrap to the neighbouring row."""
        if not self.ids:
            return
        target = self.cursor + rows * self.columns + columns
        if not columns and not 0 <= target < len(self.ids):  # no row there: stop at the end
            target = self.cursor if target < 0 else len(self.ids) - 1
        self.to(target)

    def page(self, pages: int) -> None:
        self.move(rows=pages * self.rows)

    def to(self, index: int) -> None:
        if self.ids:
            self.cursor = min(max(index, 0), len(self.ids) - 1)
            self._follow()

    def _follow(self) -> None:
        """Scroll the least that shows the cursor."""
        row = self.cursor // self.columns
        if row < self.top:
            self.top = row
        elif row >= self.top + self.rows:
            self.top = row - self.rows + 1
        last_top = max((len(self.ids) - 1) // self.columns - self.rows + 1, 0)
        self.top = min(max(self.top, 0), last_top)

    def toggle(self) -> None:
        """Select the face under the cursor, or unselect it."""
        face_id = self.current
        if face_id is not None:
            self.selected ^= {face_id}

    def visual(self) -> None:
        """Start visual mode, or end it keeping the range selected."""
        if self.anchor is None:
            self.anchor = self.cursor
        else:
            self.selected |= self._range()
            self.anchor = None

    def clear(self) -> None:
        """Leave visual mode, dropping its range; with no visual mode, unselect everything."""
        if self.anchor is not None:
            self.anchor = None
        else:
            self.selected.clear()

    def unselect_all(self) -> None:
        """Leave visual mode and unselect everything (an action took the chosen faces)."""
        self.anchor = None
        self.selected.clear()

    def _range(self) -> set[int]:
        if self.anchor is None or not self.ids:
            return set()
        low, high = sorted((self.anchor, self.cursor))
        return set(self.ids[low:high + 1])

    def is_selected(self, index: int) -> bool:
        face_id = self.ids[index]
        if face_id in self.selected:
            return True
        return self.anchor is not None and min(self.anchor, self.cursor) <= index <= max(
            self.anchor, self.cursor)

    def chosen_count(self) -> int:
        """How many faces `chosen` gives, without ordering them (cheap on every keypress)."""
        return len(self.selected | self._range()) or (1 if self.ids else 0)

    def chosen(self) -> list[int]:
        """What an action applies to: the selection (visual range included) in grid order,
        or the face under the cursor when nothing is selected."""
        picked = self.selected | self._range()
        if picked:
            return [face_id for face_id in self.ids if face_id in picked]
        return [] if self.current is None else [self.current]
