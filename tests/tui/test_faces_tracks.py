"""Tracks in the Faces screen: t shows a face's whole track, p the faces flagged as probably
not faces, r restores them and K confirms them."""
from __future__ import annotations

from screens.faces import FacesScreen
from screens.widgets.faces_bar import FacesBar
from store.project import Project
from store.views import face_query
from tests.pipeline.seeded_faces import seed_families
from tests.tui.faces_review import SIZE, grid_of, loaded, open_faces
from tui.app import SwapdeckApp

TRACK = (2, 3, 4, 5)   # positions (in id order) of the faces the tracker linked


def seed_track_and_flags(project: Project) -> tuple[list[int], list[int]]:
    """Twelve faces: four in one track, two flagged as probably not faces."""
    seed_families(project, people_count=2, faces_each=6)
    with project.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id")]
        source_id = conn.execute("SELECT source_id FROM faces LIMIT 1").fetchone()[0]
        track_id = conn.execute("INSERT INTO tracks (source_id, first_frame, last_frame)"
                                " VALUES (?, 2, 5)", (source_id,)).lastrowid
        conn.executemany("UPDATE faces SET track_id = ? WHERE id = ?",
                         [(track_id, ids[i]) for i in TRACK])
        flagged = ids[-2:]
        conn.executemany("UPDATE faces SET flag = 'probably not a face: test' WHERE id = ?",
                         [(i,) for i in flagged])
        conn.commit()
    return [ids[i] for i in TRACK], flagged


def flag_kept(project: Project, face_id: int) -> int | None:
    with project.connection() as conn:
        return conn.execute("SELECT flag_kept FROM faces WHERE id = ?", (face_id,)).fetchone()[0]


async def test_t_shows_the_track_and_p_r_k_review_the_flagged(project: Project,
                                                              wait_for) -> None:
    track, flagged = seed_track_and_flags(project)
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        grid = grid_of(app)
        assert not set(flagged) & set(grid.state.ids)        # kept out of "All faces"
        assert len(grid.state.ids) == 10
        grid.state.cursor = grid.state.ids.index(track[1])
        await pilot.press("t")
        await wait_for(pilot, lambda: grid.state.ids == track and loaded(app), what="the track")
        assert "track" in str(app.screen.query_one(FacesBar).render())
        await pilot.press("t")
        await wait_for(pilot, lambda: len(grid.state.ids) == 10, what="back to the group")
        await pilot.press("p")
        await wait_for(pilot, lambda: sorted(grid.state.ids) == flagged and loaded(app),
                       what="the flagged faces")
        assert "probably not faces (2)" in [g.label + f" ({g.count})"
                                            for g in app.screen.sidebar.groups]
        await pilot.press("r")                        # the face under the cursor: a face
        await wait_for(pilot, lambda: len(grid.state.ids) == 1, what="one left flagged")
        remaining = grid.state.ids[0]
        await pilot.press("K")                        # and this one is not
        await wait_for(pilot, lambda: flag_kept(project, remaining) == 0, what="confirmed")
        with project.connection() as conn:
            assert face_query.count_faces(conn, flagged=False) == 11
            assert face_query.count_faces(conn, filters=("excluded",)) == 1
        assert isinstance(app.screen, FacesScreen)
