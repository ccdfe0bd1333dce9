"""The Faces screen by keyboard alone, on a real store with real face thumbnails."""
from __future__ import annotations

from pathlib import Path

from screens.dashboard import DashboardScreen
from screens.face_detail import FaceDetailScreen
from screens.faces import FacesScreen
from screens.help import HelpScreen
from store import identities, review
from store.views import face_query
from store.schema.connection import integrity_check
from store.project import Project
from tests.pipeline.test_cluster_job import run_cluster
from tests.pipeline.test_histogram import seed_families
from tui.app import SwapdeckApp
from screens.widgets.face_grid import FaceGrid

SIZE = (160, 50)


def grid_of(app: SwapdeckApp) -> FaceGrid:
    return app.screen.query_one(FaceGrid)


def loaded(app: SwapdeckApp) -> bool:
    """The Faces screen shows faces, and every visible one has its listing and thumbnail."""
    if not isinstance(app.screen, FacesScreen):
        return False
    grid = grid_of(app)
    visible = [grid.state.ids[i] for i in grid.state.visible]
    return bool(visible) and all(f in grid.listings and f in grid.cache for f in visible)


def store_value(project: Project, sql: str, *args) -> object:
    with project.connection() as conn:
        row = conn.execute(sql, args).fetchone()
        return None if row is None else row[0]


async def test_review_by_keyboard_reaches_the_store_and_undoes(
        project: Project, wait_for, monkeypatch) -> None:
    seed_families(project, people_count=2, faces_each=12)
    run = run_cluster(project)
    with project.connection() as conn:
        first, second = identities.clusters(conn, run.result["run_id"])
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        await pilot.press("f")
        await wait_for(pilot, lambda: loaded(app), what="the grid")
        grid = grid_of(app)
        assert len(grid.state.ids) == 24
        tile_text = [t.caption for t in grid.tiles() if t.face_id is not None]
        assert tile_text and all(caption.split()[0].isdigit() for caption in tile_text)

        # the first cluster in the sidebar, then name it
        await pilot.press("tab", "down", "enter")
        await wait_for(pilot, lambda: len(grid_of(app).state.ids) == first.size,
                       what="the cluster's faces")
        await pilot.press("n")
        await pilot.press(*"Ann", "enter")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT i.name FROM clusters c JOIN identities i ON i.id = c.identity_id"
                     " WHERE c.id = ?", first.id) == "Ann", what="the name in the store")

        # exclude the face under the cursor, then undo it
        await wait_for(pilot, lambda: loaded(app), what="the reloaded grid")
        face = grid_of(app).state.current
        await pilot.press("x")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT excluded FROM faces WHERE id = ?", face) == 1, what="exclusion")
        await wait_for(pilot, lambda: loaded(app) and grid_of(app).listings[face].excluded,
                       what="the excluded face shown")
        await pilot.press("u")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT excluded FROM faces WHERE id = ?", face) == 0, what="undo")

        # select two faces with space and move them to a new person
        await wait_for(pilot, lambda: loaded(app), what="the reloaded grid")
        await pilot.press("space", "l", "space")
        moved = grid_of(app).state.chosen()
        assert len(moved) == 2
        await pilot.press("m", *"Bob", "enter")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT COUNT(*) FROM faces f JOIN identities i ON i.id = f.identity_id"
                     " WHERE i.name = 'Bob' AND f.identity_manual = 1") == 2, what="the move")

        # a visual range of three faces split off into a new cluster
        await wait_for(pilot, lambda: loaded(app), what="the reloaded grid")
        await pilot.press("g", "v", "l", "l")
        assert len(grid_of(app).state.chosen()) == 3
        await pilot.press("v", "s")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT COUNT(*) FROM clusters WHERE run_id = ? AND size > 0",
            run.result["run_id"]) == 3, what="the split")

        # Ann is side A; then merge this cluster into the other one
        await wait_for(pilot, lambda: loaded(app), what="the reloaded grid")
        await pilot.press("A")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT side FROM identities WHERE name = 'Ann'") == "A", what="side A")
        await pilot.press("M")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: store_value(
            project, "SELECT size FROM clusters WHERE id = ?", first.id) == 0, what="the merge")

        # the face detail opens and closes
        await wait_for(pilot, lambda: loaded(app), what="the reloaded grid")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FaceDetailScreen)
                       and "sharpness" in str(app.screen.query_one("#detail-facts").render()),
                       what="the face detail")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FacesScreen), what="back")

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
        assert app.screen.sort == "blur"
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

    from screens.widgets.face_grid import IMAGE_HEIGHT, IMAGE_WIDTH, TILE_HEIGHT, TILE_WIDTH

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
