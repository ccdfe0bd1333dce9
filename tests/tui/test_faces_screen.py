"""The Faces screen by keyboard alone, on a real store with real face thumbnails."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot

from screens.dashboard import DashboardScreen
from screens.face_detail import FaceDetailScreen
from screens.faces import FacesScreen
from screens.help import HelpScreen
from store import identities, review
from store.identities import ClusterRow
from store.views import face_query
from store.schema.connection import integrity_check
from store.project import Project
from tests.pipeline.seeded_faces import run_cluster, seed_families
from tests.tui.faces_review import SIZE, grid_of, loaded
from tui.app import SwapdeckApp
from screens.widgets.face_grid import FaceGrid
from screens.widgets.faces_bar import FacesBar


def store_value(project: Project, sql: str, *args) -> object:
    with project.connection() as conn:
        row = conn.execute(sql, args).fetchone()
        return None if row is None else row[0]


@dataclass
class Reviewer:
    """Someone at the Faces screen: presses keys, then waits on the screen or the store."""
    pilot: Pilot
    app: SwapdeckApp
    project: Project
    wait_for: Callable

    async def until(self, condition: Callable[[], object], what: str) -> None:
        await self.wait_for(self.pilot, condition, what=what)

    async def until_stored(self, expected: object, sql: str, *args, what: str) -> None:
        await self.until(lambda: store_value(self.project, sql, *args) == expected, what)

    async def until_reloaded(self) -> None:
        await self.until(lambda: loaded(self.app), "the reloaded grid")

    @property
    def grid(self) -> FaceGrid:
        return grid_of(self.app)


async def open_the_review(user: Reviewer) -> None:
    await user.until(lambda: isinstance(user.app.screen, DashboardScreen), "dashboard")
    await user.pilot.press("f")
    await user.until(lambda: loaded(user.app), "the grid")
    assert len(user.grid.state.ids) == 24
    tile_text = [t.caption for t in user.grid.tiles() if t.face_id is not None]
    assert tile_text and all(caption.split()[0].isdigit() for caption in tile_text)


async def name_the_first_cluster(user: Reviewer, first: ClusterRow) -> None:
    await user.pilot.press("tab", "down", "enter")
    await user.until(lambda: len(user.grid.state.ids) == first.size, "the cluster's faces")
    await user.pilot.press("n")
    await user.pilot.press(*"Ann", "enter")
    await user.until_stored("Ann", "SELECT i.name FROM clusters c JOIN identities i"
                            " ON i.id = c.identity_id WHERE c.id = ?", first.id,
                            what="the name in the store")


async def exclude_and_undo(user: Reviewer) -> None:
    """Exclude the face under the cursor: it leaves the kept faces; undo brings it back."""
    await user.until_reloaded()
    face = user.grid.state.current
    await user.pilot.press("x")
    await user.until_stored(1, "SELECT excluded FROM faces WHERE id = ?", face, what="exclusion")
    await user.until(lambda: face not in user.grid.state.ids, "the excluded face gone")
    await user.pilot.press("u")
    await user.until_stored(0, "SELECT excluded FROM faces WHERE id = ?", face, what="undo")
    await user.until(lambda: face in user.grid.state.ids, "the face back")


async def move_two_faces_to_a_new_person(user: Reviewer) -> None:
    await user.until_reloaded()
    await user.pilot.press("space", "l", "space")
    assert len(user.grid.state.chosen()) == 2
    await user.pilot.press("m", *"Bob", "enter")
    await user.until_stored(2, "SELECT COUNT(*) FROM faces f JOIN identities i"
                            " ON i.id = f.identity_id WHERE i.name = 'Bob'"
                            " AND f.identity_manual = 1", what="the move")


async def split_off_a_visual_range(user: Reviewer, run_id: int) -> None:
    """A visual range of three faces split off into a new cluster."""
    await user.until_reloaded()
    await user.pilot.press("g", "v", "l", "l")
    assert len(user.grid.state.chosen()) == 3
    await user.pilot.press("v", "s")
    await user.until_stored(3, "SELECT COUNT(*) FROM clusters WHERE run_id = ? AND size > 0",
                            run_id, what="the split")


async def make_side_a_then_merge(user: Reviewer, first: ClusterRow) -> None:
    """Ann is side A; then the cluster is merged into the other one."""
    await user.until_reloaded()
    await user.pilot.press("A")
    await user.until_stored("A", "SELECT side FROM identities WHERE name = 'Ann'", what="side A")
    await user.pilot.press("M")
    await user.pilot.pause()
    await user.pilot.press("enter")
    await user.until_stored(0, "SELECT size FROM clusters WHERE id = ?", first.id,
                            what="the merge")


async def open_and_close_the_detail(user: Reviewer) -> None:
    await user.until_reloaded()
    await user.pilot.press("enter")
    await user.until(lambda: isinstance(user.app.screen, FaceDetailScreen) and "sharpness"
                     in str(user.app.screen.query_one("#detail-facts").render()),
                     "the face detail")
    await user.pilot.press("escape")
    await user.until(lambda: isinstance(user.app.screen, FacesScreen), "back")


async def test_review_by_keyboard_reaches_the_store_and_undoes(
        project: Project, wait_for) -> None:
    seed_families(project, people_count=2, faces_each=12)
    run = run_cluster(project)
    with project.connection() as conn:
        first, _second = identities.clusters(conn, run.result["run_id"])
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        user = Reviewer(pilot, app, project, wait_for)
        await open_the_review(user)
        await name_the_first_cluster(user, first)
        await exclude_and_undo(user)
        await move_two_faces_to_a_new_person(user)
        await split_off_a_visual_range(user, run.result["run_id"])
        await make_side_a_then_merge(user, first)
        await open_and_close_the_detail(user)

    with project.connection() as conn:
        assert [a.action for a in review.history(conn)] == [
            "merge", "side", "split", "move", "excluded", "name"]
        assert integrity_check(conn) == "ok"


async def test_sort_menu_orders_the_grid_like_the_cli(project: Project, wait_for) -> None:
    seed_families(project, people_count=2, faces_each=6)
    run_cluster(project)
    with project.connection() as conn:
        conn.execute("UPDATE faces SET blur = (id * 37) % 11")
        expected = face_query.face_ids(conn, sort="blur", filters=("kept",))
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await wait_for(pilot, lambda: loaded(app), what="the grid")
        await pilot.press("o")
        await pilot.pause()
        keys = list(face_query.SORT_HELP)
        await pilot.press(*["down"] * (keys.index("blur") - keys.index("distance")), "enter")
        await wait_for(pilot, lambda: grid_of(app).state.ids == expected, what="blur order")
        assert app.screen.query_one(FacesBar).sort == "blur"
        await pilot.press("question_mark")  # the help lists the screen's and the grid's keys
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        ids = {row.id for row in app.screen.rows()}
        assert {"faces.exclude", "faces.undo", "faces.left", "faces.visual"} <= ids


async def test_a_thumbnail_that_cannot_be_decoded_shows_a_note(
        project: Project, wait_for, tmp_path: Path) -> None:
    seed_families(project, people_count=1, faces_each=3)
    with project.connection() as conn:
        conn.execute("UPDATE face_thumbs SET data = x'00ff00' WHERE face_id = "
                     "(SELECT MIN(id) FROM faces)")
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await wait_for(pilot, lambda: loaded(app), what="the grid")
        broken = next(t for t in grid_of(app).tiles() if t.face_id is not None
                      and grid_of(app).cache.get(t.face_id).image is None)
        assert "no image" in "".join(s.text for s in broken.render_lines(broken.region.reset_offset)
                                     [5]._segments)


async def test_sixel_tiles_write_their_image_over_cells_they_leave_unprinted(
        project: Project, wait_for) -> None:
    from textual_image._terminal import get_cell_size

    from screens.widgets.faces_tile import IMAGE_HEIGHT, IMAGE_WIDTH, TILE_HEIGHT, TILE_WIDTH

    seed_families(project, people_count=1, faces_each=3)
    app = SwapdeckApp(project, start_worker=False, thumbnails="sixel")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await wait_for(pilot, lambda: loaded(app), what="the grid")
        tile = next(t for t in grid_of(app).tiles() if t.face_id is not None)
        lines = tile.render_lines(tile.region.reset_offset)
        assert len(lines) == TILE_HEIGHT
        printed = ["".join(s.text for s in line if not s.control) for line in lines]
        assert all(len(text) == 2 for text in printed[1:IMAGE_HEIGHT + 1])  # borders only
        sixel = [s.text for s in lines[IMAGE_HEIGHT] if s.text.startswith("\x1bP")]
        assert len(sixel) == 1 and sixel[0].endswith("\x1b\\")
        cell = get_cell_size()
        assert f'"1;1;{IMAGE_WIDTH * cell.width};{IMAGE_HEIGHT * cell.height}' in sixel[0]
        start = next(s for s in lines[IMAGE_HEIGHT] if s.control)  # moves to the image's corner
        assert start.control[0][1:] == (tile.region.x + 1, tile.region.y + 1)
        assert all(line.cell_length == TILE_WIDTH for line in lines)

        await pilot.press("o")  # a menu over the grid: no image may be written over it
        await pilot.pause()
        assert not app.screen_stack[-2].is_active
        covered = tile.render_lines(tile.region.reset_offset)
        assert not any(s.control for line in covered for s in line)
