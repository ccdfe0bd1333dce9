"""A mask label being drawn in the Mask editor, before it is saved: include and exclude
polygons over a base mask, a chosen point, and its own undo and redo; and the part of the
face the editor shows (its zoom). Pure state: no Textual, no Pillow.

Coordinates are the label's pixels: a `size` square over the face's aligned crop, as
store/mask_labels.py keeps them. Only the last polygon may be open (still being drawn).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from store.mask_labels import Polygon

Point = tuple[float, float]
ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


class DraftError(ValueError):
    """An edit that cannot be made, in words for the user."""


@dataclass(frozen=True)
class Shape:
    """A polygon as drawn: closed once the user closes it (an open one has no area yet)."""
    mode: str                       # include or exclude
    points: tuple[Point, ...]
    closed: bool = False


@dataclass(frozen=True)
class DraftState:
    """One step of the undo history; the chosen point comes back with it."""
    shapes: tuple[Shape, ...] = ()
    base: bytes | None = None
    selected: tuple[int, int] | None = None     # (shape, point)
    mode: str = "include"                       # what new points start


class MaskDraft:
    """The label drawn so far, and every edit's undo and redo."""

    def __init__(self, size: int, polygons: tuple[Polygon, ...] = (),
                 base: bytes | None = None) -> None:
        self.size = size
        self.state = DraftState(tuple(Shape(p.mode, p.points, True) for p in polygons), base)
        self._saved = (self.state.shapes, base)
        self._undo: list[DraftState] = []
        self._redo: list[DraftState] = []
        self._merging: object = None    # the last edit, while the next may merge into it

    @property
    def shapes(self) -> tuple[Shape, ...]:
        return self.state.shapes

    @property
    def selected(self) -> tuple[int, int] | None:
        return self.state.selected

    @property
    def open_shape(self) -> Shape | None:
        last = self.shapes[-1] if self.shapes else None
        return last if last is not None and not last.closed else None

    @property
    def dirty(self) -> bool:
        """Whether there is anything unsaved."""
        return (self.shapes, self.state.base) != self._saved

    @property
    def empty(self) -> bool:
        return not self.shapes and self.state.base is None

    def selected_point(self) -> Point | None:
        if self.selected is None:
            return None
        shape, point = self.selected
        return self.shapes[shape].points[point]

    # --- edits -------------------------------------------------------------------------

    def _edit(self, state: DraftState, merge: object = None) -> None:
        """Make `state` current; an edit with the same `merge` key as the last one (a point
        nudged again) shares its undo step."""
        if merge is None or merge != self._merging:
            self._undo.append(self.state)
        self._merging = merge
        self._redo.clear()
        self.state = state

    def _with_shapes(self, shapes: list[Shape], selected: tuple[int, int] | None,
                     mode: str | None = None) -> DraftState:
        return replace(self.state, shapes=tuple(shapes), selected=selected,
                       mode=mode or self.state.mode)

    def start(self, mode: str) -> None:
        """New points start a polygon of `mode`. An open polygon of three points or more is
        closed first; one with fewer becomes a polygon of `mode`."""
        shapes, open_shape = list(self.shapes), self.open_shape
        if open_shape is None:          # nothing drawn changes: not an edit to undo
            self._choose(self.selected, mode=mode)
            return
        if len(open_shape.points) >= 3:
            shapes[-1] = replace(open_shape, closed=True)
        else:
            shapes[-1] = replace(open_shape, mode=mode)
        self._edit(self._with_shapes(shapes, self.selected, mode=mode))

    def add(self, point: Point) -> None:
        """A point at the end of the open polygon, or the first of a new one."""
        x, y = (round(min(max(v, 0.0), float(self.size)), 1) for v in point)
        shapes, open_shape = list(self.shapes), self.open_shape
        if open_shape is None:
            shapes.append(Shape(self.state.mode, ((x, y),)))
        else:
            shapes[-1] = replace(open_shape, points=(*open_shape.points, (x, y)))
        self._edit(self._with_shapes(shapes, (len(shapes) - 1, len(shapes[-1].points) - 1)))

    def insert(self) -> None:
        """A point halfway between the chosen point and the next one of its polygon."""
        if self.selected is None:
            raise DraftError("no point chosen: tab chooses a polygon, [ and ] a point")
        index, at = self.selected
        points = self.shapes[index].points
        (x0, y0), (x1, y1) = points[at], points[(at + 1) % len(points)]
        middle = (round((x0 + x1) / 2, 1), round((y0 + y1) / 2, 1))
        shapes = list(self.shapes)
        shapes[index] = replace(shapes[index], points=(*points[:at + 1], middle,
                                                       *points[at + 1:]))
        self._edit(self._with_shapes(shapes, (index, at + 1)))

    def close(self) -> None:
        """Close the open polygon (three points at least)."""
        open_shape = self.open_shape
        if open_shape is None:
            raise DraftError("no polygon is being drawn: i or x starts one")
        if len(open_shape.points) < 3:
            raise DraftError(f"a polygon needs three points at least: this one has "
                             f"{len(open_shape.points)}")
        shapes = [*self.shapes[:-1], replace(open_shape, closed=True)]
        self._edit(self._with_shapes(shapes, self.selected))

    def nudge(self, dx: float, dy: float) -> None:
        """Move the chosen point by (dx, dy) pixels, kept on the label; nudges of one point
        in a row undo together."""
        if self.selected is None:
            raise DraftError("no point chosen: tab chooses a polygon, [ and ] a point")
        index, at = self.selected
        x, y = self.shapes[index].points[at]
        moved = (min(max(x + dx, 0.0), float(self.size)), min(max(y + dy, 0.0), float(self.size)))
        shapes = list(self.shapes)
        points = list(shapes[index].points)
        points[at] = moved
        shapes[index] = replace(shapes[index], points=tuple(points))
        self._edit(self._with_shapes(shapes, self.selected), merge=("nudge", self.selected))

    def delete_point(self) -> bool:
        """Remove the chosen point; a closed polygon left with under three points (or an
        open one with none) goes with it. Returns whether the polygon went."""
        if self.selected is None:
            raise DraftError("no point chosen: tab chooses a polygon, [ and ] a point")
        index, at = self.selected
        shape = self.shapes[index]
        points = shape.points[:at] + shape.points[at + 1:]
        if len(points) < (3 if shape.closed else 1):
            self.delete_shape()
            return True
        shapes = list(self.shapes)
        shapes[index] = replace(shape, points=points)
        self._edit(self._with_shapes(shapes, (index, max(at - 1, 0))))
        return False

    def delete_shape(self) -> None:
        """Remove the chosen point's polygon."""
        if self.selected is None:
            raise DraftError("no polygon chosen: tab chooses one")
        index = self.selected[0]
        shapes = [s for i, s in enumerate(self.shapes) if i != index]
        selected = (index - 1, 0) if index > 0 else ((0, 0) if shapes else None)
        self._edit(self._with_shapes(shapes, selected))

    def set_base(self, base: bytes | None) -> None:
        """Start the label from this mask (a PNG of `size`), or from nothing."""
        self._edit(replace(self.state, base=base))

    def finish(self) -> list[Polygon]:
        """The polygons to save, the open one closed first (it needs three points)."""
        if self.open_shape is not None:
            self.close()
        return [Polygon(s.mode, s.points) for s in self.shapes]

    def saved(self, shapes: tuple[Shape, ...], base: bytes | None) -> None:
        """The store now holds these shapes over this base (what was drawn when saving)."""
        self._saved = (shapes, base)

    # --- choosing, undo and redo ---------------------------------------------------------

    def choose_shape(self, step: int) -> None:
        """Choose the next (or previous) polygon, at its first point."""
        if not self.shapes:
            raise DraftError("nothing drawn yet: i or x starts a polygon")
        if self.selected is None:
            index = 0 if step > 0 else len(self.shapes) - 1
        else:
            index = (self.selected[0] + step) % len(self.shapes)
        self._choose((index, 0))

    def choose_point(self, step: int) -> None:
        """Choose the next (or previous) point of the chosen polygon."""
        if self.selected is None:
            self.choose_shape(1)
            return
        index, at = self.selected
        self._choose((index, (at + step) % len(self.shapes[index].points)))

    def _choose(self, selected: tuple[int, int] | None, mode: str | None = None) -> None:
        """Change what is chosen (not an edit: undo passes over it)."""
        self.state = replace(self.state, selected=selected, mode=mode or self.state.mode)
        self._merging = None

    def undo(self) -> bool:
        return self._step(self._undo, self._redo)

    def redo(self) -> bool:
        return self._step(self._redo, self._undo)

    def _step(self, source: list[DraftState], target: list[DraftState]) -> bool:
        if not source:
            return False
        target.append(self.state)
        self.state = source.pop()
        self._merging = None
        return True


@dataclass
class LabelView:
    """The square of the label the editor shows: all of it, or less when zoomed."""
    size: int
    zoom: float = 1.0
    centre: Point | None = None

    def window(self) -> tuple[float, float, float]:
        """(left, top, side) in label pixels, kept inside the label."""
        side = self.size / self.zoom
        cx, cy = self.centre or (self.size / 2, self.size / 2)
        left = min(max(cx - side / 2, 0.0), self.size - side)
        top = min(max(cy - side / 2, 0.0), self.size - side)
        return left, top, side

    def zoom_step(self, step: int, around: Point | None) -> None:
        """The next zoom in (step 1) or out (-1), centred on `around` when given."""
        at = min(range(len(ZOOMS)), key=lambda i: abs(ZOOMS[i] - self.zoom))
        self.zoom = ZOOMS[min(max(at + step, 0), len(ZOOMS) - 1)]
        if around is not None:
            self.centre = around
        self.centre = self._clamped_centre()

    def fit(self) -> None:
        self.zoom, self.centre = 1.0, None

    def pan(self, dx: int, dy: int) -> None:
        """Move the window by a quarter of its side."""
        left, top, side = self.window()
        self.centre = (left + side / 2 + dx * side / 4, top + side / 2 + dy * side / 4)
        self.centre = self._clamped_centre()

    def follow(self, point: Point | None) -> None:
        """Centre on the point when it is outside the window."""
        left, top, side = self.window()
        if point is not None and not (left <= point[0] <= left + side
                                      and top <= point[1] <= top + side):
            self.centre = point
            self.centre = self._clamped_centre()

    def _clamped_centre(self) -> Point:
        left, top, side = self.window()
        return left + side / 2, top + side / 2
