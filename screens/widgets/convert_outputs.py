"""The outputs the chosen session has finished converting, newest first."""
from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from store.conversions import Conversion
from tui.format import human_age


def describe_finished(finished: tuple[Conversion, ...], now: float) -> str:
    if not finished:
        return "no conversions with this session yet"
    return "\n".join(f"{c.output}  {c.frames or 0:,} frames ({c.swapped or 0:,} swapped)  "
                     f"{human_age(now - (c.finished_at or now))} ago" for c in finished)


class ConvertOutputs(Vertical):
    def compose(self) -> ComposeResult:
        yield Label("finished with this session", classes="group")
        yield Static("", id="finished", markup=False)

    def show(self, finished: tuple[Conversion, ...]) -> None:
        self.query_one("#finished", Static).update(describe_finished(finished, time.time()))
