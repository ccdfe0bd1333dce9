"""A session with previews and losses, written straight into the store (nothing trained):
what the Train and Analysis screens' previews and graphs are tested on."""
from __future__ import annotations

import io
import math
from collections.abc import Callable

from PIL import Image, ImageDraw
from textual.pilot import Pilot
from textual.widgets import Select

from screens.analysis import AnalysisScreen
from screens.train import TrainScreen
from store import identities, sessions
from store.project import Project
from tests.tui.open_screens import from_dashboard, open_train
from tui.app import SwapdeckApp

# faceswap's preview layout: 6 columns (A, A→A, A→B | B, B→B, B→A) of 8 faces of 64 px.
PREVIEW_SIZE = (6 * 64, 8 * 64)
ITERATIONS = (100, 200)


def preview_png(size: tuple[int, int] = PREVIEW_SIZE) -> bytes:
    image = Image.new("RGB", size, (20, 20, 20))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 64):
        for y in range(0, size[1], 64):
            draw.ellipse((x + 4, y + 4, x + 60, y + 60), fill=(200, 90 + x % 120, 60 + y % 150))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def add_session(project: Project, losses: int = 500) -> sessions.Session:
    """A session of the people in the `pair` fixture's store, with two previews and
    `losses` loss rows that fall from the first (so their curves start at the top left)."""
    with project.connection() as conn:
        people = {p.name: p.id for p in identities.list_identities(conn)}
        session = sessions.create(conn, "shown", "original", {}, people["Ann"], people["Bob"],
                                  {})
        run = sessions.start_run(conn, session.id, None, 0, 4, "cpu", {})
        sessions.record_progress(conn, session.id, run, losses, [
            (i, 0.5 * math.exp(-i / 80) + 0.05, 0.4 * math.exp(-i / 60) + 0.06)
            for i in range(1, losses + 1)])
        sessions.end_run(conn, run, losses, "reached")
        png = preview_png()
        for iteration in ITERATIONS:
            sessions.add_preview(conn, session.id, iteration, "png", png)
        return sessions.get(conn, session.id)


async def train_with_preview(app: SwapdeckApp, pilot: Pilot, wait_for: Callable,
                             session: sessions.Session) -> TrainScreen:
    screen = await open_train(app, pilot, wait_for)
    picker = screen.query_one("#session", Select)
    await wait_for(pilot, lambda: len(picker._options) == 2, what="the session")
    picker.value = session.id
    await wait_for(pilot, lambda: screen.view is not None and screen.view.session.id
                   == session.id and screen.view.preview_iteration == ITERATIONS[-1],
                   what="the preview")
    return screen


async def open_analysis(app: SwapdeckApp, pilot: Pilot, wait_for: Callable) -> AnalysisScreen:
    screen = await from_dashboard(app, pilot, wait_for, "n", AnalysisScreen)
    await wait_for(pilot, lambda: screen.detail is not None, what="the session")
    return screen
