"""The Mask editor's drawing state (polygons, the chosen point, undo and redo, the zoomed
window) and the label painted from it with Pillow."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from store.mask_labels import Polygon
from tui.label_raster import Scene, paint, raster
from tui.mask_draft import DraftError, LabelView, MaskDraft, Shape

SIZE = 64


def square(draft: MaskDraft, mode: str, x0: float, y0: float, x1: float, y1: float) -> None:
    draft.start(mode)
    for point in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        draft.add(point)
    draft.close()


def test_points_make_polygons_and_each_edit_undoes_and_redoes() -> None:
    draft = MaskDraft(SIZE)
    draft.start("exclude")
    draft.add((10, 10))
    draft.add((30, 10))
    with pytest.raises(DraftError, match="three points at least"):
        draft.close()
    draft.add((30, 99))                       # clamped onto the label
    assert draft.open_shape == Shape("exclude", ((10, 10), (30, 10), (30, 64)))
    assert draft.selected == (0, 2) and draft.dirty
    assert draft.undo() and draft.open_shape.points == ((10, 10), (30, 10))
    assert draft.selected == (0, 1)
    assert draft.redo() and len(draft.open_shape.points) == 3
    draft.close()
    assert draft.shapes[0].closed and draft.open_shape is None
    assert draft.finish() == [Polygon("exclude", ((10, 10), (30, 10), (30, 64)))]
    draft.undo()
    assert draft.finish() == [Polygon("exclude", ((10, 10), (30, 10), (30, 64)))], \
        "saving closes the open polygon"
    assert not draft.redo(), "an edit after an undo drops what could be redone"


def test_a_point_is_chosen_nudged_a_pixel_at_a_time_and_nudges_undo_together() -> None:
    draft = MaskDraft(SIZE, (Polygon("include", ((5, 5), (20, 5), (20, 20))),))
    assert not draft.dirty and draft.selected is None
    draft.choose_shape(1)
    draft.choose_point(-1)
    assert draft.selected == (0, 2)
    draft.nudge(1, 0)
    draft.nudge(1, 0)
    draft.nudge(0, -1)
    assert draft.selected_point() == (22, 19)
    draft.choose_point(1)
    draft.nudge(-1, 0)
    assert draft.shapes[0].points == ((4, 5), (20, 5), (22, 19))
    draft.undo()
    assert draft.shapes[0].points == ((5, 5), (20, 5), (22, 19))
    draft.undo()
    assert draft.shapes[0].points == ((5, 5), (20, 5), (20, 20)) and not draft.dirty


def test_deleting_points_takes_a_closed_polygon_under_three_points_with_them() -> None:
    draft = MaskDraft(SIZE)
    square(draft, "include", 0, 0, 10, 10)
    square(draft, "exclude", 2, 2, 6, 6)
    draft.choose_shape(1)
    draft.insert()
    assert draft.shapes[0].points[1] == (5, 0) and draft.selected == (0, 1)
    assert not draft.delete_point() and len(draft.shapes[0].points) == 4
    draft.choose_shape(1)
    assert draft.selected == (1, 0)
    assert not draft.delete_point()
    assert draft.delete_point(), "two points left: no polygon"
    assert [s.mode for s in draft.shapes] == ["include"]
    draft.delete_shape()
    assert draft.shapes == () and draft.selected is None
    with pytest.raises(DraftError, match="no point chosen"):
        draft.nudge(1, 0)


def test_switching_mode_retags_a_polygon_of_under_three_points() -> None:
    draft = MaskDraft(SIZE)
    draft.add((1, 1))
    draft.start("exclude")
    assert draft.open_shape.mode == "exclude"
    draft.add((9, 1))
    draft.add((9, 9))
    draft.start("include")
    assert draft.shapes[0].closed and draft.state.mode == "include"


def test_the_label_is_its_base_with_the_polygons_painted_in_order() -> None:
    base = io.BytesIO()
    Image.new("L", (32, 32), 255).save(base, "PNG")      # a mask of another size
    draft = MaskDraft(SIZE, base=base.getvalue())
    square(draft, "exclude", 10, 10, 40, 40)
    square(draft, "include", 20, 20, 30, 30)
    draft.start("exclude")
    draft.add((0, 0))
    draft.add((63, 0))
    draft.add((63, 5))                                # open: not painted
    truth = np.asarray(raster(SIZE, draft.state.base, draft.shapes))
    assert truth.shape == (SIZE, SIZE)
    assert truth[5, 5] == 255 and truth[15, 15] == 0 and truth[25, 25] == 255
    assert truth[1, 60] == 255 and truth[50, 50] == 255
    empty = np.asarray(raster(SIZE, None, draft.shapes))
    assert empty[5, 5] == 0 and empty[25, 25] == 255


def test_zooming_shows_part_of_the_face_and_follows_the_chosen_point() -> None:
    view = LabelView(SIZE)
    assert view.window() == (0, 0, SIZE)
    view.zoom_step(1, (60, 60))
    assert view.zoom == 1.5 and view.window() == pytest.approx((SIZE - SIZE / 1.5,) * 2
                                                               + (SIZE / 1.5,))
    view.zoom_step(1, None)
    view.follow((2, 2))
    assert view.window()[:2] == (0, 0)
    view.pan(1, 0)
    assert view.window()[0] == 8
    view.fit()
    assert view.window() == (0, 0, SIZE)


def test_the_picture_shows_the_window_the_tint_and_the_polygons() -> None:
    crop = Image.new("RGB", (128, 128), (100, 100, 100))
    shape = Shape("exclude", ((8, 8), (56, 8), (56, 56), (8, 56)), True)
    picture = paint(Scene(crop, SIZE, (shape,), (0, 0), (0, 0, SIZE), label=True), (64, 64))
    pixels = np.asarray(picture)
    assert tuple(pixels[8, 30]) == (255, 70, 70), "the exclude polygon's edge"
    assert tuple(pixels[30, 30]) == (100, 100, 100), "excluded from an empty label: no tint"
    zoomed = paint(Scene(crop, SIZE, (shape,), None, (32, 32, 32), label=True), (64, 64))
    assert tuple(np.asarray(zoomed)[48, 48]) == (255, 70, 70), "the edge at (56, 56), zoomed"
