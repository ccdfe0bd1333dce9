"""At 80x24 no form label is cut mid-word: group headings wrap inside the form, names wrap at
word boundaries, and a checkbox that only repeated its row's name drops the repeat (it was
cut to "keep unchang")."""
from __future__ import annotations

from rich.cells import cell_len
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Checkbox, Label

from screens.convert import ConvertScreen
from screens.widgets.form_row import form_row
from store.project import Project
from tests.tui.open_screens import from_dashboard, open_train
from tui.app import SwapdeckApp

SIZE = (80, 24)


def shown_lines(widget: Widget) -> list[str]:
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return ["".join(segment.text for segment in line).strip() for line in lines]


def cut_labels(form: Widget, selector: str = ".group, .field > .name") -> list[str]:
    """The form's headings and names cut mid-word or past the form's right edge, and its
    checkboxes whose label does not fit in the checkbox or before that edge."""
    problems = []
    right = form.scrollable_content_region.right
    for label in form.query(selector).results(Label):
        text = str(label.render())
        words = text.split()
        shown = [word for line in shown_lines(label) for word in line.split()]
        if shown != words or label.region.right > right:
            problems.append(f"{text!r} shown as {shown_lines(label)} up to column "
                            f"{label.region.right} of {right}")
    for box in form.query(Checkbox):
        needed = cell_len("▐X▌ ") + cell_len(str(box.label)) if str(box.label) else 3
        if needed > box.content_size.width or box.content_region.x + needed > right:
            problems.append(f"checkbox {str(box.label)!r} in {box.content_size.width} cells "
                            f"from column {box.content_region.x} of {right}")
    return problems


async def test_the_train_form_cuts_no_label(project: Project, pair, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot, wait_for)
        await pilot.pause()
        assert cut_labels(screen.query_one("#form-box")) == []


async def open_convert_form(project: Project, wait_for, selector: str) -> list[str]:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
        await pilot.pause()
        return cut_labels(screen.query_one("#form-box"), selector)


async def test_the_convert_form_cuts_no_name_or_checkbox_label(project: Project, wait_for) -> None:
    assert await open_convert_form(project, wait_for, ".field > .name") == []


async def test_the_convert_form_headings_wrap(project: Project, wait_for) -> None:
    assert await open_convert_form(project, wait_for, ".group") == []


def test_a_checkbox_keeps_a_label_that_says_more_than_the_name() -> None:
    kept, repeated = Checkbox("start over", id="force"), Checkbox("overwrite", id="overwrite")
    form_row("force", "force", "help", kept)
    form_row("overwrite", "overwrite", "help", repeated)
    assert (str(kept.label), str(repeated.label)) == ("start over", "")
