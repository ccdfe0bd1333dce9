"""A frame as the Alignments review draws it: scaled to the pixels the terminal will show,
then each face's box and 68 points drawn over it at that size, so boxes stay crisp lines in
every renderer, even the half-block one where a whole frame is 80 pixels wide."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tui.frame_cache import ShownFrame

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageDraw import ImageDraw

NAMED = (60, 220, 60)          # a face with a person
NOBODY = (60, 200, 230)        # a face nobody is named for
FLAGGED = (220, 60, 220)       # probably not a face
SELECTED = (255, 220, 0)
DRAFT = (255, 70, 70)          # the box or points being edited
POINT = (255, 255, 255)


@dataclass(frozen=True)
class Marks:
    """What to draw over the frame besides its faces."""
    selected: int | None = None                                  # a face id
    draft_box: tuple[float, float, float, float] | None = None
    draft_points: tuple[int, np.ndarray, Sequence[int]] | None = None   # face, points, chosen
    landmarks: bool = True


def frame_overlay(shown: ShownFrame, faces: Sequence[Any], target: tuple[int, int],
                  marks: Marks) -> Image:
    """The frame at `target` (width, height) pixels with the faces and marks drawn on it.
    `faces` have `id`, `box` (x0, y0, x1, y1), `landmarks` (68 x 2), `person`, `flag`."""
    from PIL import Image, ImageDraw   # Pillow only once a frame is drawn: the app starts light

    image = Image.fromarray(shown.image).resize(target, Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    scale = target[0] / shown.size[0]
    line = 1 if target[0] < 400 else 2
    for face in faces:
        chosen = marks.selected == face.id
        colour = SELECTED if chosen else FLAGGED if face.flag else \
            NAMED if face.person else NOBODY
        draw.rectangle(_scaled(face.box, scale), outline=colour,
                       width=line + (1 if chosen else 0))
        points = face.landmarks
        edited: Sequence[int] = ()
        if marks.draft_points is not None and marks.draft_points[0] == face.id:
            _, points, edited = marks.draft_points
        if marks.landmarks:
            _points(draw, np.asarray(points) * scale, edited, line)
    if marks.draft_box is not None:
        draw.rectangle(_scaled(marks.draft_box, scale), outline=DRAFT, width=line + 1)
    return image


def _scaled(box: Sequence[float], scale: float) -> list[float]:
    x0, y0, x1, y1 = (v * scale for v in box)
    return [x0, y0, max(x1, x0), max(y1, y0)]


def _points(draw: ImageDraw, points: np.ndarray, edited: Sequence[int],
            line: int) -> None:
    radius = line / 2
    for index, (x, y) in enumerate(points):
        colour, r = (DRAFT, radius + 1) if index in edited else (POINT, radius)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
