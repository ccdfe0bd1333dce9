"""A form's border lights while the focus is in it, and tabbing between its fields restyles
only the two fields (the form's class changes only when the focus enters or leaves it) and
keeps the footer's keys (rebuilt only when the keys shown change)."""
from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from screens.widgets.focus_mark import FOCUS_CLASS
from screens.widgets.keys_footer import KeysFooter
from store.project import Project
from tests.tui.open_screens import open_train
from tui.app import SwapdeckApp


# a field is a few nodes (its row, label, control and the control's parts); the form is
# hundreds
FIELD_NODES = 20


async def test_the_train_form_is_marked_while_it_holds_the_focus(
        project: Project, pair, wait_for, monkeypatch: pytest.MonkeyPatch) -> None:
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
        restyled: list[int] = []
        restyle = app.stylesheet.update_nodes

        def counted(nodes, animate: bool = False) -> None:
            nodes = list(nodes)
            restyled.append(len(nodes))
            restyle(nodes, animate=animate)

        monkeypatch.setattr(app.stylesheet, "update_nodes", counted)
        keys = list(screen.query_one(KeysFooter).query(FooterKey))
        assert keys, "the footer shows no key"
        await pilot.press("tab", "tab", "tab")
        await pilot.pause()
        assert form.has_class(FOCUS_CLASS) and form in screen.focused.ancestors
        assert changes == [], "tabbing inside the form changed its classes"
        assert restyled and max(restyled) < FIELD_NODES, f"a tab restyled {max(restyled)} nodes"
        assert list(screen.query_one(KeysFooter).query(FooterKey)) == keys, \
            "the footer was rebuilt though its keys stayed the same"
        screen.set_focus(None)
        await pilot.pause()
        assert not form.has_class(FOCUS_CLASS)
