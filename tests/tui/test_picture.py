"""Face previews keep their shape: the box a picture is drawn in has the image's aspect
ratio (to within a cell), in every renderer and at every terminal size, on the Train and
Analysis screens; and the box computation itself."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from textual.widget import Widget
from textual_image.widget._base import Image as ImageWidget

from screens.convert import ConvertScreen
from screens.widgets.analysis_previews import PreviewPanel
from screens.widgets.convert_preview import ConvertPreview
from screens.widgets.picture import Picture, cell_pixels, fit_box, image_size
from store.project import Project
from tests.tui.open_screens import from_dashboard
from tests.tui.preview_session import (ITERATIONS, PREVIEW_SIZE, add_session, open_analysis,
                                       train_with_preview)
from tui.app import SwapdeckApp

# Each renderer draws on some screen (a screen's layout does not depend on the renderer
# beyond the cell size, which the box tests above vary): a test per screen and renderer cost
# a minute of the default run for nothing more.
RENDERERS_OF = {"train": ("kitty", "halfcell"), "analysis": ("sixel",), "convert": ("unicode",)}
TERMINALS = ((80, 24), (120, 40), (200, 60))
IMAGES = (PREVIEW_SIZE, (640, 360), (512, 512), (1024, 200), (90, 700))
CELLS = ((10, 20), (8, 16), (9, 19), (7, 15), (12, 12))


def check_box(box_w: int, box_h: int, space_w: int, space_h: int, image: tuple[int, int],
              cell: tuple[int, int]) -> None:
    """The box has the image's shape to within one cell and is the largest that fits."""
    assert 0 < box_w <= space_w and 0 < box_h <= space_h
    per_row = image[0] / image[1] * cell[1] / cell[0]   # columns per row of the image
    assert min(abs(box_w - box_h * per_row), abs(box_h - box_w / per_row)) <= 1, (
        f"{box_w}x{box_h} cells for a {image[0]}x{image[1]} image in {space_w}x{space_h}")
    assert box_w == space_w or box_h == space_h


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("space", [(57, 8), (43, 8), (27, 4), *TERMINALS, (1, 1), (300, 3)])
def test_the_box_keeps_the_shape_and_is_centred(space, image, cell) -> None:
    box = fit_box(image, space, cell)
    check_box(box.width, box.height, *space, image, cell)
    assert box.x == (space[0] - box.width) // 2 and box.y == (space[1] - box.height) // 2


def test_nothing_to_draw_or_no_room_is_an_empty_box() -> None:
    assert fit_box((0, 10), (80, 24)).area == 0
    assert fit_box((64, 64), (0, 24)).area == 0
    assert image_size(None) is None
    assert image_size(np.zeros((512, 384, 3), np.uint8)) == (384, 512)


def drawn_box(preview: Widget) -> ImageWidget:
    """The textual-image widget that draws the preview (the preview itself, or inside it)."""
    return preview if isinstance(preview, ImageWidget) else preview.query_one(ImageWidget)


async def check_every_size(app: SwapdeckApp, pilot, preview: Widget) -> None:
    for size in TERMINALS:
        await pilot.resize_terminal(*size)
        await pilot.pause()
        await pilot.pause()
        image = drawn_box(preview)
        space = preview.content_region
        check_box(image.size.width, image.size.height, space.width, space.height,
                  PREVIEW_SIZE, cell_pixels())
        assert image.region.x - space.x == (space.width - image.size.width) // 2
        assert image.region.y - space.y == (space.height - image.size.height) // 2


@pytest.mark.parametrize("renderer", RENDERERS_OF["train"])
async def test_the_train_preview_keeps_its_shape(project: Project, pair, wait_for,
                                                 renderer: str) -> None:
    session = add_session(project)
    app = SwapdeckApp(project, start_worker=False, thumbnails=renderer)
    async with app.run_test(size=TERMINALS[-1]) as pilot:
        screen = await train_with_preview(app, pilot, wait_for, session)
        preview = screen.query_one("#preview")
        await wait_for(pilot, lambda: drawn_box(preview).image is not None, what="the image")
        await check_every_size(app, pilot, preview)


@pytest.mark.parametrize("renderer", RENDERERS_OF["analysis"])
async def test_the_analysis_preview_keeps_its_shape(project: Project, pair, wait_for,
                                                    renderer: str) -> None:
    session = add_session(project)
    app = SwapdeckApp(project, start_worker=False, thumbnails=renderer)
    async with app.run_test(size=TERMINALS[-1]) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("5")
        panel = screen.query_one(PreviewPanel)
        await wait_for(pilot, lambda: panel.shown_preview == (session.id, ITERATIONS[-1]),
                       what="the newest preview")
        await check_every_size(app, pilot, screen.query_one("#preview"))


async def test_a_picture_takes_arrays_and_none(project: Project) -> None:
    app = SwapdeckApp(project, start_worker=False, thumbnails="halfcell")
    async with app.run_test(size=(80, 24)) as pilot:
        picture = Picture("halfcell")
        await app.screen.mount(picture)
        picture.image = np.zeros((360, 640, 3), np.uint8)
        await pilot.pause()
        assert picture.box.width > picture.box.height and drawn_box(picture).image is not None
        picture.image = None
        await pilot.pause()
        assert picture.box.area == 0 and drawn_box(picture).image is None


@pytest.mark.parametrize("renderer", RENDERERS_OF["convert"])
async def test_the_convert_pictures_keep_their_shape_under_their_labels(
        project: Project, wait_for, renderer: str) -> None:
    """A portrait phone video's frame: the tallest case, whose bottom row was cut off."""
    app = SwapdeckApp(project, start_worker=False, thumbnails=renderer)
    async with app.run_test(size=TERMINALS[-1]) as pilot:
        screen = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
        frame = PILImage.new("RGB", (270, 480), (90, 120, 200))
        screen.query_one(ConvertPreview)._show_pictures(frame, frame.copy())
        for size in TERMINALS:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            for column in screen.query(".picture"):
                label = column.query_one(".picture-label")
                space = column.content_region
                image = column.query_one(ImageWidget)
                check_box(image.size.width, image.size.height, space.width,
                          space.height - label.outer_size.height, (270, 480), cell_pixels())
                assert image.region.y >= label.region.bottom
                assert image.region.bottom <= space.bottom
