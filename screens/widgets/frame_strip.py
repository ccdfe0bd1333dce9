"""The Alignments review's timeline: every extracted frame of the source in one row of
cells (a cell holds several frames when there are more frames than columns), coloured by
what the frames hold, with the frames that match the filter and the frame shown marked on
the row below."""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from store.views.alignments import FrameFaces

# What a cell shows, the first that holds for any of its frames.
STATES = (("no face", "red"), ("several faces", "yellow"), ("flagged", "magenta"),
          ("one face", "green"))


def frame_state(frame: FrameFaces) -> int:
    """The index in STATES of what the frame holds."""
    if frame.faces == 0:
        return 0
    if frame.faces > 1:
        return 1
    return 2 if frame.flagged else 3


def strip_cells(frames: Sequence[FrameFaces], matching: set[int], current: int,
                width: int) -> tuple[list[int], list[str]]:
    """For each of `width` cells: its state (index in STATES) and its mark below
    ("▲" the frame shown, "•" a frame that matches the filter, " " neither)."""
    count, cells = len(frames), min(width, len(frames))
    states, marks = [], []
    for cell in range(cells):
        members = frames[cell * count // cells:(cell + 1) * count // cells]
        states.append(min(frame_state(f) for f in members))
        indices = {f.idx for f in members}
        marks.append("▲" if current in indices else "•" if indices & matching else " ")
    return states, marks


class FrameStrip(Widget):
    DEFAULT_CSS = "FrameStrip { height: 2; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: Sequence[FrameFaces] = ()
        self.matching: set[int] = set()
        self.current = -1

    def show(self, frames: Sequence[FrameFaces], matching: set[int], current: int) -> None:
        self.frames, self.matching, self.current = frames, matching, current
        self.refresh()

    def render(self) -> Text:
        states, marks = strip_cells(self.frames, self.matching, self.current,
                                    max(1, self.content_size.width))
        text = Text(no_wrap=True, overflow="crop")
        for state in states:
            text.append("█", style=STATES[state][1])
        text.append("\n")
        for mark in marks:
            text.append(mark, style="bold" if mark == "▲" else "dim")
        return text
