"""The Faces screen's keys work like every other screen's: escape goes back, the footer shows
`c`, and q in a dialog does not quit the app."""
from __future__ import annotations

from screens.dashboard import DashboardScreen
from screens.dialogs.choose import ChooseDialog
from screens.dialogs.confirm import ConfirmDialog
from screens.face_detail import FaceDetailScreen
from screens.faces import FacesScreen
from screens.help import HelpScreen
from store.project import Project
from tests.pipeline.seeded_faces import seed_families
from tests.tui.faces_review import SIZE, grid_of, open_faces
from tui.app import SwapdeckApp

async def test_escape_clears_the_selection_then_goes_back(project: Project, wait_for) -> None:
    seed_families(project, people_count=1, faces_each=4)
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        footer = {key.key: key.description for key in app.screen.query("FooterKey")}
        assert footer.get("c") == "Cluster"
        await pilot.press("space", "escape")
        assert isinstance(app.screen, FacesScreen) and not grid_of(app).state.selected
        await pilot.press("v", "l", "escape")
        assert isinstance(app.screen, FacesScreen) and grid_of(app).state.anchor is None
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")
        await open_faces(app, pilot, wait_for)
        await pilot.press("tab", "escape")              # from the people list too
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")
        await open_faces(app, pilot, wait_for)
        await pilot.press("backspace")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")


async def test_q_in_a_dialog_does_not_quit_and_ctrl_q_does(project: Project, wait_for) -> None:
    seed_families(project, people_count=1, faces_each=4)
    app = SwapdeckApp(project, start_worker=False, thumbnails="unicode")
    async with app.run_test(size=SIZE) as pilot:
        await open_faces(app, pilot, wait_for)
        for key, dialog in (("o", ChooseDialog), ("enter", FaceDetailScreen)):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, dialog), what=dialog.__name__)
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, dialog)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, FacesScreen), what="back")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        await pilot.press("q")                          # closes the help, nothing more
        await wait_for(pilot, lambda: isinstance(app.screen, FacesScreen), what="back")
        assert app.is_running
        app.push_screen(ConfirmDialog("Sure?", "a question"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm")
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfirmDialog)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="ctrl+q to quit")

