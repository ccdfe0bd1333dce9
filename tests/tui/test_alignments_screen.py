"""The Alignments screen, used as a person would: find the frame where detection missed the
face, drag a box over it (the worker places the points), nudge the jaw points, delete a
face, and undo each edit; redo brings an undone edit back."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np
from textual.pilot import Pilot

from screens.alignments import AlignmentsScreen
from screens.dashboard import DashboardScreen
from screens.widgets.frame_view import FrameView
from screens.widgets.sources_panel import SourcesPanel
from store.project import Project
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract, run_worker
from tests.test_cli_alignments import FRAMES, walking
from tui.alignment_draft import BoxDraft
from tui.app import SwapdeckApp

MISSED = 4          # the frame whose face detection "missed"


def screen_of(app: SwapdeckApp) -> AlignmentsScreen:
    assert isinstance(app.screen, AlignmentsScreen)
    return app.screen


def faces_shown(app: SwapdeckApp) -> list[int] | None:
    """The ids of the faces the screen shows on the missed frame (None while elsewhere)."""
    shown = screen_of(app).shown
    return [f.id for f in shown.faces] if shown and shown.idx == MISSED else None


async def edit_and_wait(pilot: Pilot, project: Project, wait_for: Callable,
                        until: Callable[[], object]) -> None:
    """Press enter, let a worker run the queued edit, and wait for the screen to show it."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_of(pilot.app).pending, what="the edit queued")
    await asyncio.to_thread(run_worker, project)
    await wait_for(pilot, until, timeout=20, what="the edit shown")


async def drag_box(pilot: Pilot, box: tuple[float, ...]) -> None:
    """Drag the mouse over the frame from one corner of `box` (frame pixels) to the other."""
    view = pilot.app.screen.query_one(FrameView)
    drawn, (width, height) = view.painted.box, view.painted.space

    def cell(x: float, y: float) -> tuple[int, int]:
        return (int(drawn.x + x / width * drawn.width), int(drawn.y + y / height * drawn.height))

    await pilot.mouse_down(FrameView, offset=cell(box[0], box[1]))
    await pilot.mouse_up(FrameView, offset=cell(box[2], box[3]))


def missed_frame(project: Project, tmp_path: Path) -> tuple[float, ...]:
    """The walking clip extracted, then its face of frame MISSED taken out, as if detection
    had missed it (its track now has a gap there); returns the box of the frame before's."""
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    with project.connection() as conn:
        neighbour = conn.execute("SELECT x0, y0, x1, y1 FROM faces f JOIN frames fr ON"
                                 " fr.id = f.frame_id WHERE fr.idx = ?", (MISSED - 1,)).fetchone()
        conn.execute("DELETE FROM faces WHERE frame_id = (SELECT id FROM frames WHERE idx = ?)",
                     (MISSED,))
        conn.commit()
    return tuple(neighbour)


async def open_alignments(pilot: Pilot, wait_for: Callable) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                   and app.screen.query_one(SourcesPanel).chosen_source, what="dashboard")
    await pilot.press("l")
    await wait_for(pilot, lambda: isinstance(app.screen, AlignmentsScreen)
                   and screen_of(app).shown, what="the first frame")


async def test_draw_a_box_nudge_points_delete_and_undo_each(project: Project, tmp_path,
                                                            wait_for) -> None:
    neighbour = missed_frame(project, tmp_path)
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_alignments(pilot, wait_for)
        await pilot.press("f", "n")                          # frames with no face: the missed
        await wait_for(pilot, lambda: faces_shown(app) == [], what="the missed frame")
        assert screen_of(app).nav.filter_name == "no face"

        await drag_box(pilot, neighbour)              # draw a box where the face is
        draft = screen_of(app).draft
        assert isinstance(draft, BoxDraft) and draft.replaces is None
        await edit_and_wait(pilot, project, wait_for, lambda: faces_shown(app))
        [placed] = faces_shown(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: faces_shown(app) == [], what="the box undone")
        await pilot.press("U")
        await wait_for(pilot, lambda: faces_shown(app) == [placed], what="the box redone")

        before = screen_of(app).shown.faces[0].landmarks.copy()
        await pilot.press("g", "g", "right", "right", "right")    # the jaw, 3 px right
        await edit_and_wait(pilot, project, wait_for,
                            lambda: faces_shown(app) not in (None, [], [placed]))
        after = screen_of(app).shown.faces[0].landmarks
        assert np.allclose(after[:17], before[:17] + [3, 0], atol=0.01)
        assert np.allclose(after[17:], before[17:], atol=0.01)
        await pilot.press("u")
        await wait_for(pilot, lambda: faces_shown(app) == [placed], what="the points undone")
        assert np.allclose(screen_of(app).shown.faces[0].landmarks, before)

        await pilot.press("d")
        await wait_for(pilot, lambda: faces_shown(app) == [], what="the face deleted")
        await pilot.press("u")
        await wait_for(pilot, lambda: faces_shown(app) == [placed], what="the delete undone")


async def test_a_track_gap_is_found_and_filled_from_the_track(project: Project, tmp_path,
                                                              wait_for) -> None:
    missed_frame(project, tmp_path)
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_alignments(pilot, wait_for)
        screen = screen_of(app)
        for _ in range(5):                                   # to "gap in a track"
            await pilot.press("f")
        assert screen.nav.filter_name == "gap in a track"
        assert screen.nav.matching_indices() == {MISSED}
        await pilot.press("T")                               # frame 0's face: its track
        await wait_for(pilot, lambda: screen.pending, what="the copy queued")
        await asyncio.to_thread(run_worker, project)
        await wait_for(pilot, lambda: not screen.nav.matching, timeout=20,
                       what="the gap filled")
        await pilot.press("n")
        assert screen.nav.position == 0                      # no frame left to jump to
