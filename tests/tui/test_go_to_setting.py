"""ctrl+o in the Train form: a setting is a few keys away, by the name the form shows."""
from __future__ import annotations

from screens.dialogs.choose import AskTextDialog
from screens.train import TrainScreen
from store.project import Project
from tests.tui.open_screens import from_dashboard
from tui.app import SwapdeckApp


async def go_to(app: SwapdeckApp, pilot, wait_for, name: str) -> None:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, AskTextDialog), what="the question")
    await pilot.press(*name, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen), what="the form again")


async def test_ctrl_o_moves_to_the_named_setting_and_says_when_there_is_none(
        project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await from_dashboard(app, pilot, wait_for, "t", TrainScreen)
        await go_to(app, pilot, wait_for, "batch size")
        assert app.focused is not None and app.focused.id == "opt-batch_size"
        await go_to(app, pilot, wait_for, "Side_A")
        assert app.focused.id == "side-a"
        await go_to(app, pilot, wait_for, "no such thing")
        assert app.focused.id == "side-a"
        assert any("no setting 'no such thing'" in str(n.message)
                   for n in app._notifications)
