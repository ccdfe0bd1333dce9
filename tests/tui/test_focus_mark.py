"""A form's border lights while the focus is in it, and tabbing between its fields does not
restyle it (the class changes only when the focus enters or leaves the form)."""
from __future__ import annotations

from store.project import Project
from screens.widgets.focus_mark import FOCUS_CLASS
from tests.tui.open_screens import open_train
from tui.app import SwapdeckApp


async def test_the_train_form_is_marked_while_it_holds_the_focus(project: Project, pair,
                                                                   wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(app, pilot, wait_for)
        form = screen.form
        form.query_one("#side-a").focus()
        await pilot.pause()
        assert form.has_class(FOCUS_CLASS)
        changes: list[bool] = []
        form.watch(form, "classes", lambda: changes.append(form.has_class(FOCUS_CLASS)),
                   init=False)
        await pilot.press("tab", "tab", "tab")
        await pilot.pause()
        assert form.has_class(FOCUS_CLASS) and form in screen.focused.ancestors
        assert changes == [], "tabbing inside the form changed its classes"
        screen.set_focus(None)
        await pilot.pause()
        assert not form.has_class(FOCUS_CLASS)
