"""The Mask editor driven by Pilot on real extracted faces: Faces, a face's detail, the
editor; an exclude polygon drawn with clicks and keys, undone and redone, saved, and seen
again (from the store) when the editor is opened anew."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from textual.pilot import Pilot

from screens.dialogs.confirm import ConfirmDialog
from screens.face_detail import FaceDetailScreen
from screens.mask_editor import MaskEditorScreen
from screens.widgets.mask_canvas import MaskCanvas
from store import mask_labels
from store.project import Project
from tests.mask_label_faces import NAME, build
from tests.tui.faces_review import SIZE, grid_of, open_faces
from tui.app import SwapdeckApp
from tui.label_raster import COLOURS

# Where the polygon's points are clicked, as shares of the face across and down.
CLICKS = ((0.3, 0.55), (0.7, 0.55), (0.7, 0.9), (0.3, 0.9))


def editor_of(app: SwapdeckApp) -> MaskEditorScreen | None:
    """The editor once it shows its face (None before)."""
    screen = app.screen
    if isinstance(screen, MaskEditorScreen) and screen.query_one(MaskCanvas).painted:
        return screen
    return None


async def open_editor(pilot: Pilot, wait_for: Callable) -> MaskEditorScreen:
    """From the face detail, e; wait for the face to be painted."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FaceDetailScreen)
                   and pilot.app.screen.detail is not None, what="the face detail")
    await pilot.press("e")
    return await wait_for(pilot, lambda: editor_of(pilot.app), what="the mask editor")


async def click(pilot: Pilot, share: tuple[float, float]) -> tuple[float, float]:
    """Click the face at these shares across and down; the label pixel the click means."""
    canvas = pilot.app.screen.query_one(MaskCanvas)
    box, (left, top, side) = canvas.painted.box, canvas.painted.space
    column, row = int(box.x + share[0] * box.width), int(box.y + share[1] * box.height)
    await pilot.click(MaskCanvas, offset=(column, row))
    return (round(left + (column - box.x + 0.5) / box.width * side, 1),
            round(top + (row - box.y + 0.5) / box.height * side, 1))


def open_points(editor: MaskEditorScreen) -> int:
    shape = editor.draft.open_shape if editor.draft else None
    return len(shape.points) if shape else 0


async def draw_exclude_polygon(pilot: Pilot, editor: MaskEditorScreen,
                               wait_for: Callable) -> list[tuple[float, float]]:
    """x, four clicks (the last undone and redone), the first point nudged; the points."""
    await pilot.press("x")
    points = []
    for count, share in enumerate(CLICKS, 1):
        points.append(await click(pilot, share))
        await wait_for(pilot, lambda: open_points(editor) == count, what=f"point {count}")
    await pilot.press("u")
    await wait_for(pilot, lambda: open_points(editor) == 3, what="the last point undone")
    await pilot.press("U")
    await wait_for(pilot, lambda: open_points(editor) == 4, what="the point redone")
    await pilot.press("tab", "right", "right", "up")
    x, y = points[0]
    points[0] = (x + 2, y - 1)
    await wait_for(pilot, lambda: editor.draft.selected_point() == points[0],
                   what="the nudged point")
    return points


async def test_an_exclude_polygon_is_drawn_saved_and_seen_again(
        project: Project, prebuilt, wait_for) -> None:
    face_ids = prebuilt(NAME, build)
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        face_id = grid_of(app).state.current
        assert face_id in face_ids
        await pilot.press("enter")
        editor = await open_editor(pilot, wait_for)
        assert editor.shown == "components", "no label yet: the face's first mask is shown"
        points = await draw_exclude_polygon(pilot, editor, wait_for)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the ask")
        await pilot.press("n")
        await pilot.press("enter", "s")
        await wait_for(pilot, lambda: not editor.draft.dirty, what="the label saved")
        with project.connection() as conn:
            label = mask_labels.get_label(conn, face_id)
        assert label.size == 256 and label.base is None
        assert label.polygons == (mask_labels.Polygon("exclude", tuple(points)),)

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FaceDetailScreen)
                       and "mask label: 1 polygon(s)"
                       in str(app.screen.query_one("#detail-facts").render()),
                       what="the detail with the label")
        editor = await open_editor(pilot, wait_for)
        assert editor.shown == "label" and not editor.draft.dirty
        assert [(s.mode, s.points, s.closed) for s in editor.draft.shapes] == [
            ("exclude", tuple(points), True)]
        assert "1 exclude, 4 points" in str(editor.query_one("#me-facts").render())
        drawn = np.asarray(editor.query_one(MaskCanvas).painted.image)
        assert (drawn == COLOURS["exclude"]).all(axis=2).any(), "the polygon is drawn"


async def test_a_face_that_cannot_be_read_is_said_and_left(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        editor = MaskEditorScreen(999)
        await app.push_screen(editor)
        toasts = await wait_for(pilot, lambda: list(app.screen.query("Toast")),
                                what="the notice")
        assert "face 999 cannot be labelled" in str(toasts[0].render())
        assert app.screen is not editor
