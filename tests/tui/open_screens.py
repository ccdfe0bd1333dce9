"""Each screen opened from the dashboard by its key, as a user does, and waited for until it
shows its data."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Select

from screens.convert import ConvertScreen
from screens.dashboard import DashboardScreen
from screens.extract import ExtractScreen
from screens.train import TrainScreen
from screens.widgets.extract_sources import SourcePicker
from tests.convert_project import ConvertProject
from tui.app import SwapdeckApp

S = TypeVar("S", bound=Screen)


def column(table: DataTable, key: str) -> list[str]:
    return [cell.plain if isinstance(cell, Text) else str(cell) for cell in table.get_column(key)]


async def from_dashboard(app: SwapdeckApp, pilot: Pilot, wait_for: Callable, key: str,
                         kind: type[S]) -> S:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
    await pilot.press(key)
    return await wait_for(pilot, lambda: isinstance(app.screen, kind) and app.screen,
                          what=f"the {kind.__name__}")


async def open_convert(app: SwapdeckApp, ready: ConvertProject, pilot: Pilot,
                       wait_for: Callable) -> ConvertScreen:
    screen = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
    await wait_for(pilot, lambda: screen.session_id == ready.session_id
                   and screen.source_id == ready.source_id, what="the session and the source")
    return screen


async def open_extract(app: SwapdeckApp, pilot: Pilot, wait_for: Callable,
                       rows: int = 1) -> ExtractScreen:
    screen = await from_dashboard(app, pilot, wait_for, "x", ExtractScreen)
    picker = screen.query_one(SourcePicker)
    await wait_for(pilot, lambda: picker.row_count == rows, what="the sources")
    await wait_for(pilot, lambda: app.snapshot and "..." not in column(picker, "state"),
                   what="the extraction state")
    return screen


async def open_train(app: SwapdeckApp, pilot: Pilot, wait_for: Callable) -> TrainScreen:
    screen = await from_dashboard(app, pilot, wait_for, "t", TrainScreen)
    await wait_for(pilot, lambda: screen.query_one("#side-a", Select).value == "Ann",
                   what="the people")
    return screen
