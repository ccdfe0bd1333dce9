"""Helpers for tests of the Faces screen: its grid, and when it has shown what it read."""
from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from screens.dashboard import DashboardScreen
from screens.faces import FacesScreen
from screens.widgets.face_grid import FaceGrid
from tui.app import SwapdeckApp

SIZE = (160, 50)


def grid_of(app: SwapdeckApp) -> FaceGrid:
    return app.screen.query_one(FaceGrid)


def loaded(app: SwapdeckApp) -> bool:
    """The Faces screen shows faces, and every visible one has its listing and thumbnail."""
    if not isinstance(app.screen, FacesScreen):
        return False
    grid = grid_of(app)
    visible = [grid.state.ids[i] for i in grid.state.visible]
    return bool(visible) and all(f in grid.listings and f in grid.cache for f in visible)


async def open_faces(app: SwapdeckApp, pilot: Pilot, wait_for: Callable) -> None:
    """Press f on the dashboard and wait for the grid to show its faces."""
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    await pilot.press("f")
    await wait_for(pilot, lambda: loaded(app), what="the grid")
