"""An edit being made in the Alignments review, before it is sent to the worker: a box
drawn or moved by keys or mouse, or landmarks nudged a group (or one point) at a time.

Coordinates are the frame's own pixels, upright, as the faces' boxes and points are stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from store.landmark_groups import LANDMARK_GROUPS

MIN_SIDE = 8.0        # the smallest box the worker accepts, in frame pixels
GROW = 1.1            # one press of grow or shrink
# The point groups chosen in turn; "point" is one landmark at a time.
GROUP_ORDER = ("all", *(name for name in LANDMARK_GROUPS if name != "all"), "point")


@dataclass
class BoxDraft:
    """A box being drawn: a new face, or one that replaces `replaces` (its points were off)."""
    box: tuple[float, float, float, float]      # x0, y0, x1, y1
    frame_size: tuple[int, int]
    replaces: int | None = None

    @property
    def step(self) -> float:
        """One press of an arrow: a twentieth of the box's side, at least a pixel."""
        return max(1.0, (self.box[2] - self.box[0]) / 20)

    def move(self, dx: float, dy: float) -> None:
        x0, y0, x1, y1 = self.box
        width, height = self.frame_size
        dx = min(max(dx, -x0), width - x1)
        dy = min(max(dy, -y0), height - y1)
        self.box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    def grow(self, factor: float) -> None:
        """Scale about the centre, kept within the frame and at least MIN_SIDE a side."""
        x0, y0, x1, y1 = self.box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        width, height = self.frame_size
        half_w = min(max((x1 - x0) * factor, MIN_SIDE), width) / 2
        half_h = min(max((y1 - y0) * factor, MIN_SIDE), height) / 2
        cx, cy = min(max(cx, half_w), width - half_w), min(max(cy, half_h), height - half_h)
        self.box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)

    def params(self, source_id: int, frame: int) -> dict[str, Any]:
        """The align-edit job's parameters: the aligner places the points in this box."""
        x0, y0, x1, y1 = self.box
        return {"source_id": source_id, "frame": frame, "action": "set-box",
                "box": [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)],
                "replaces": self.replaces}


def box_between(start: tuple[float, float], end: tuple[float, float],
                frame_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The box a mouse drag from `start` to `end` spans, kept within the frame."""
    width, height = frame_size
    x0, x1 = sorted(min(max(v, 0.0), float(width)) for v in (start[0], end[0]))
    y0, y1 = sorted(min(max(v, 0.0), float(height)) for v in (start[1], end[1]))
    return x0, y0, x1, y1


@dataclass
class PointsDraft:
    """A face's 68 landmarks being nudged; `group` says which move together."""
    face_id: int
    points: np.ndarray                          # 68 x 2, a copy of the face's
    frame_size: tuple[int, int]
    group: str = "all"
    point: int = 0                              # the landmark moved when group is "point"
    moved: bool = field(default=False)

    def chosen(self) -> list[int]:
        if self.group == "point":
            return [self.point]
        return list(LANDMARK_GROUPS[self.group])

    def next_group(self) -> None:
        self.group = GROUP_ORDER[(GROUP_ORDER.index(self.group) + 1) % len(GROUP_ORDER)]

    def next_point(self, step: int) -> None:
        """Choose another single landmark (and switch to moving one at a time)."""
        if self.group == "point":
            self.point = (self.point + step) % len(self.points)
        self.group = "point"

    def nudge(self, dx: float, dy: float) -> None:
        """Move the chosen points, none of them past the frame's edges."""
        chosen = self.chosen()
        width, height = self.frame_size
        shown = self.points[chosen]
        dx = min(max(dx, -shown[:, 0].min()), width - 1 - shown[:, 0].max())
        dy = min(max(dy, -shown[:, 1].min()), height - 1 - shown[:, 1].max())
        self.points[chosen] += (dx, dy)
        self.moved = self.moved or bool(dx or dy)

    def describe(self) -> str:
        if self.group == "point":
            return f"point {self.point} ({_group_of(self.point)})"
        return "all 68 points" if self.group == "all" else f"the {self.group}"

    def params(self, source_id: int, frame: int) -> dict[str, Any]:
        """The align-edit job's parameters: the face again, with exactly these points."""
        return {"source_id": source_id, "frame": frame, "action": "set-points",
                "face": self.face_id,
                "points": [[round(float(x), 2), round(float(y), 2)] for x, y in self.points]}


def _group_of(point: int) -> str:
    return next(name for name, members in LANDMARK_GROUPS.items()
                if point in members and name != "all")
