"""Forcing a re-extraction on the Extract screen asks first whether to keep the faces placed
by hand: keep, drop or cancel, and the job carries the answer."""
from __future__ import annotations

from pathlib import Path

import pytest

from screens.dialogs.choose import ChooseDialog
from screens.extract import ExtractScreen
from screens.widgets.extract_sources import SourcePicker
from store.project import Project
from tests.store.test_manual_faces_kept import seed_hand_placed
from tests.tui.open_screens import open_extract
from tests.tui.ready_source import seed_ready_video
from tests.tui.test_extract_screen import SIZE, extract_jobs_in
from tui.app import SwapdeckApp


async def force_and_answer(app: SwapdeckApp, pilot, wait_for, keys: tuple[str, ...]) -> str:
    """Pick the source, tick force, queue, answer the dialog with `keys`; what it asked."""
    screen = await open_extract(app, pilot, wait_for)
    screen.query_one("#force").value = True
    await pilot.pause()
    screen.query_one(SourcePicker).focus()
    await pilot.press("space", "r")
    dialog = await wait_for(pilot, lambda: isinstance(app.screen, ChooseDialog) and app.screen,
                            what="the question")
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(app.screen, ExtractScreen), what="the answer")
    await app.workers.wait_for_complete()
    return dialog.title_text


@pytest.mark.parametrize("keys, drop", [(("enter",), False), (("down", "enter"), True),
                                        (("escape",), None), (("down", "down", "enter"), None)])
async def test_forcing_asks_whether_to_keep_the_faces_placed_by_hand(
        project: Project, tmp_path: Path, wait_for, keys: tuple[str, ...],
        drop: bool | None) -> None:
    source_id = seed_ready_video(project, tmp_path / "clip.mp4")
    seed_hand_placed(project, source_id)
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        asked = await force_and_answer(app, pilot, wait_for, keys)
    assert asked == "Keep 1 face placed by hand?"
    queued = extract_jobs_in(project)
    if drop is None:                                  # cancelled: nothing queued
        assert queued == []
    else:
        [job] = queued
        assert job.params["force"] is True and job.params["drop_manual"] is drop


async def test_forcing_a_source_with_no_face_placed_by_hand_asks_nothing(
        project: Project, tmp_path: Path, wait_for) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        screen.query_one("#force").value = True
        await pilot.pause()
        screen.query_one(SourcePicker).focus()
        await pilot.press("space", "r")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, ExtractScreen)
    [job] = extract_jobs_in(project)
    assert job.params["force"] is True and job.params["drop_manual"] is False
