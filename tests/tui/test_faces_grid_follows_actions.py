"""The Faces grid shows what its filter and group say, after every action: an excluded face
leaves the kept faces at once, the cursor starts on a group's first face, and a merge made
here is still there after clustering again (key c)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from textual.widgets import OptionList

from pipeline.worker import Worker, WorkerOptions
from screens.face_detail import FaceDetailScreen
from screens.faces import FacesScreen
from screens.widgets.faces_bar import FacesBar
from store import identities
from store.project import Project
from store.views.worker_launch import latest_launch
from tests.pipeline.seeded_faces import run_cluster, seed_families
from tests.tui.faces_review import SIZE, grid_of, open_faces
from tui.app import SwapdeckApp


async def test_an_excluded_face_leaves_the_kept_faces_and_undo_brings_it_back(
        project: Project, wait_for) -> None:
    seed_families(project, people_count=1, faces_each=6)
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        grid = grid_of(app)
        assert app.screen.query_one(FacesBar).filter == "kept"
        before = list(grid.state.ids)
        await pilot.press("l", "l", "x")
        await wait_for(pilot, lambda: before[2] not in grid.state.ids, what="the face gone")
        assert grid.state.ids == before[:2] + before[3:]
        assert grid.state.current == before[3]      # its neighbour took its place
        await pilot.press("u")
        await wait_for(pilot, lambda: grid.state.ids == before, what="the face back")
        await pilot.press("G", "x")                 # the last face: the cursor steps back
        await wait_for(pilot, lambda: before[-1] not in grid.state.ids, what="the last gone")
        assert grid.state.current == before[-2]

        await pilot.press("f", "down", "enter")     # the excluded faces: x takes one back
        await wait_for(pilot, lambda: grid.state.ids == [before[-1]], what="the excluded")
        await pilot.press("x")
        await wait_for(pilot, lambda: grid.state.ids == [], what="the included face gone")


async def test_the_cursor_starts_at_the_top_and_on_each_group_s_first_face(
        project: Project, wait_for) -> None:
    seed_families(project, people_count=3, faces_each=6)
    run = run_cluster(project)
    with project.connection() as conn:
        first = identities.clusters(conn, run.result["run_id"])[0]
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        grid, groups = grid_of(app), app.screen.query_one(OptionList)
        assert groups.highlighted == 0 and groups.scroll_offset.y == 0
        assert grid.state.cursor == 0 and len(grid.state.ids) == 18
        await pilot.press("G", "tab", "down")      # from the last of every face to a cluster
        await wait_for(pilot, lambda: len(grid.state.ids) == first.size, what="the cluster")
        assert grid.state.cursor == 0


async def test_the_face_detail_names_the_file_and_the_time(project: Project, wait_for) -> None:
    seed_families(project, people_count=1, faces_each=5)
    with project.connection() as conn:
        conn.execute("UPDATE frames SET time = idx * 0.5")
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        await pilot.press("o", "up", "enter")   # frame order (above distance): the 4th is frame 3
        await wait_for(pilot, lambda: app.screen.query_one(FacesBar).sort == "frame",
                       what="frame order")
        await pilot.press("l", "l", "l", "enter")
        facts = await wait_for(
            pilot, lambda: isinstance(app.screen, FaceDetailScreen) and "sharpness" in (
                text := str(app.screen.query_one("#detail-facts").render())) and text,
            what="the face detail")
        assert "file /made/up.mp4" in facts
        assert "frame 3 at 1.50 s" in facts


async def test_a_merge_made_here_survives_clustering_again(project: Project, wait_for) -> None:
    seed_families(project, people_count=3, faces_each=4)
    run = run_cluster(project)
    with project.connection() as conn:
        first, second, _third = identities.clusters(conn, run.result["run_id"])
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        await pilot.press("tab", "down", "enter", "M")   # the first cluster, into the second
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(grid_of(app).state.ids) == 8, what="the merge")
        await pilot.press("c")
        await wait_for(pilot, lambda: store_jobs(project) == 2, what="the cluster job")
        worker = Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False))
        await asyncio.to_thread(worker.run)
        await wait_for(pilot, lambda: isinstance(app.screen, FacesScreen) and len(
            [g for g in app.screen.sidebar.groups if g.kind == "cluster"]) == 2,
            what="the new clusters")
    with project.connection() as conn:
        newest = identities.clusters(conn, identities.latest_run_id(conn))
        assert sorted(c.size for c in newest) == [4, 8]
        launched = latest_launch(conn)
    if launched is not None:   # c started a background worker too: it must not outlive us
        with contextlib.suppress(ProcessLookupError):
            os.kill(launched.pid, signal.SIGTERM)


def store_jobs(project: Project) -> int:
    with project.connection() as conn:
        return conn.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'cluster'").fetchone()[0]
