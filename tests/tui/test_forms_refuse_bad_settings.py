"""Every form of the TUI refuses a bad value of each bounded or chosen setting before it
queues anything, marks the field and says what is allowed: generated from the catalogue
(store/requests/catalogue.py), as tests/test_cli_refuses_bad_settings.py is for the CLI.

A bounded setting is typed in an Input: its value out of range is refused at the submit key
and nothing is queued (the Train form's hundred fields take their bad values all at once,
each still marked and named). A chosen setting is a Select offering only its choices: it
cannot hold another value. A yes-or-no setting is a Checkbox, which holds nothing else. Each
form then queues its job once its values are good again, so the refusals are the bad values'
doing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, Static
from textual.widgets.select import InvalidSelectValueError

from pipeline.train.job import new_session
from screens.dashboard import DashboardScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.resume import ResumeDialog
from screens.widgets.extract_sources import SourcePicker
from store import jobs
from store.project import Project
from store.requests.catalogue import load
from store.requests.options import Option
from tests.convert_project import ConvertProject
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.tui.open_screens import open_convert, open_extract, open_train
from tests.tui.ready_source import seed_ready_video
from tui.app import SwapdeckApp

SIZE = (160, 50)


def kinds_queued(project: Project, kind: str) -> list[jobs.Job]:
    with project.connection() as conn:
        return [job for job in jobs.list_jobs(conn) if job.kind == kind]


def refusable(option: Option) -> bool:
    """A setting a user can type a bad value of (a Checkbox is only ever yes or no)."""
    return option.type != "bool" and (option.bounds is not None or option.choices is not None)


def shown(root: Widget, selector: str) -> str:
    return str(root.query_one(selector, Static).render())


async def refuses_each(pilot: Pilot, root: Widget, options: Iterable[Option],
                       control_id: Callable[[Option], str], problems: Callable[[], str],
                       submit: str, queued: Callable[[], list], together: bool = False) -> int:
    """Each option's bad value refused by `root`'s form, typed one at a time or, for a large
    form, all at once (each field still marked and named); how many options were tried."""
    chosen = [option for option in options if refusable(option)]
    typed: list[tuple[Option, Input, str]] = []
    for option in chosen:
        control = root.query_one(f"#{control_id(option)}")
        if isinstance(control, Select):
            before = control.value
            with pytest.raises(InvalidSelectValueError):
                control.value = f"not-{option.name}"
            assert control.value == before, option.name
        else:
            assert isinstance(control, Input), option.name
            typed.append((option, control, control.value))
    batches = [typed] if together and typed else [[entry] for entry in typed]
    for batch in batches:
        for option, control, _ in batch:
            control.value = option.show(option.out_of_range())
        await pilot.press(submit)   # the submit key reads the form and marks it
        assert queued() == [], f"queued with a bad {batch[0][0].name}"
        for option, control, before in batch:
            assert control.has_class("-invalid"), f"{option.name} is not marked"
            assert f"{option.name} is from" in problems(), problems()
            control.value = before
    await pilot.pause()
    assert not root.query(".-invalid"), "a good value is still marked"
    return len(chosen)


async def test_the_train_form_refuses_each_setting_and_model_option(
        project: Project, pair, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_train(app, pilot, wait_for)
        catalogue = load()

        def queued() -> list[jobs.Job]:
            return kinds_queued(project, "train")

        def problems() -> str:
            return shown(screen, "#problems")

        settings = [option for group in catalogue.train.groups for option in group.options]
        tried = await refuses_each(pilot, screen, settings, lambda o: f"opt-{o.name}",
                                   problems, "ctrl+r", queued, together=True)
        assert tried == sum(map(refusable, settings)) > 40
        first_model = screen.query_one("#model", Select).value
        for model in sorted(catalogue.models):
            entry = catalogue.models[model]
            screen.query_one("#model", Select).value = model
            await wait_for(pilot, lambda: all(screen.query(f"#model-{o.name}")
                                              for o in entry.options),
                           what=f"{model}'s options")
            await refuses_each(pilot, screen, entry.options, lambda o: f"model-{o.name}",
                               problems, "ctrl+r", queued, together=True)
        screen.query_one("#model", Select).value = first_model
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, queued, what="the train job, once every value is good")


async def test_the_resume_dialog_refuses_each_per_run_setting(
        project: Project, pair, wait_for) -> None:
    with project.connection() as conn:
        session = new_session(conn, "swap", TINY, {}, settings={"iterations": 10}, seed=7)
    resumed: list[object] = []
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen),
                       what="the dashboard")
        dialog = ResumeDialog(session, "the start")
        app.call_later(app.push_screen, dialog, resumed.append)
        await wait_for(pilot, lambda: app.screen is dialog, what="the resume dialog")
        options = [option for group in dialog.groups for option in group.options]
        tried = await refuses_each(pilot, dialog, options, lambda o: f"resume-{o.name}",
                                   lambda: shown(dialog, "#resume-problems"), "ctrl+r",
                                   lambda: resumed)
        assert tried == sum(map(refusable, options)) > 20
        assert app.screen is dialog
        dialog.query_one("#resume-iterations", Input).value = "20"
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: resumed == [{"iterations": 20}],
                       what="the dialog's settings, once every value is good")


async def test_the_convert_form_refuses_each_setting(ready: ConvertProject, wait_for) -> None:
    project = ready.project
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_convert(app, ready, pilot, wait_for)
        options = [option for group in load().convert.groups for option in group.options]
        tried = await refuses_each(pilot, screen, options, lambda o: f"opt-{o.name}",
                                   lambda: shown(screen, "#problems"), "ctrl+s",
                                   lambda: kinds_queued(project, "convert"))
        assert tried == sum(map(refusable, options)) > 20
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                       what="the question before converting")
        await pilot.press("y")
        await wait_for(pilot, lambda: kinds_queued(project, "convert"),
                       what="the convert job, once every value is good")


async def test_the_extract_form_refuses_each_setting(project: Project, tmp_path: Path,
                                                     wait_for) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        screen.query_one(SourcePicker).focus()
        await pilot.press("space")   # the source picked: a good form queues its job
        options = load().extract.groups[0].options
        tried = await refuses_each(pilot, screen, options, lambda o: o.name.replace("_", "-"),
                                   lambda: shown(screen, "#problems"), "ctrl+r",
                                   lambda: kinds_queued(project, "extract"))
        assert tried == sum(map(refusable, options)) >= 6
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: kinds_queued(project, "extract"),
                       what="the extract job, once every value is good")
