"""The jobs a received project brought: held until the user releases them, each shown with
where it was queued and every file it would read or write, those outside the project marked.
Hidden while there are none."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from store.views.job_targets import HeldJob
from store.views.snapshot import Snapshot
from tui.printable import printable

OUTSIDE_STYLE = {"reads": "bold yellow", "writes": "bold red"}


def held_prompt(entry: HeldJob) -> Text:
    """A held job in a few lines: id, kind and origin, then what it reads and writes."""
    text = Text()
    text.append(printable(f"job {entry.job.id} {entry.job.kind}"), style="bold")
    text.append(printable(f", queued on {entry.where}"))
    targets = entry.targets
    for verb, found in (("reads", targets.reads), ("writes", targets.writes)):
        for target in found:
            text.append(f"\n  {verb} ")
            text.append(printable(target.text),
                        style=OUTSIDE_STYLE[verb] if target.outside else "")
    if targets.note:
        text.append(f"\n  {targets.note}", style="bold red")
    return text


class HeldPanel(Vertical):
    DEFAULT_CSS = """
    HeldPanel { height: auto; }
    HeldPanel > OptionList, HeldPanel > OptionList:focus {
        height: auto; max-height: 100%; border: none; padding: 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[HeldJob] = []

    def compose(self) -> ComposeResult:
        options = OptionList(id="held-list")
        options.tooltip = ("Jobs queued on another machine, or before this project folder "
                           "moved. Nothing here runs until you release it.")
        yield options

    @property
    def entries(self) -> list[HeldJob]:
        return list(self._entries)

    @property
    def selected(self) -> HeldJob | None:
        index = self.query_one(OptionList).highlighted
        return self._entries[index] if index is not None and index < len(self._entries) else None

    def show(self, snap: Snapshot) -> None:
        if [e.job.id for e in snap.held] == [e.job.id for e in self._entries] and (
                [e.targets for e in snap.held] == [e.targets for e in self._entries]):
            return
        options = self.query_one(OptionList)
        chosen = self.selected
        self._entries = list(snap.held)
        options.set_options(Option(held_prompt(entry), id=str(entry.job.id))
                            for entry in self._entries)
        ids = [entry.job.id for entry in self._entries]
        if self._entries:
            options.highlighted = ids.index(chosen.job.id) if chosen and chosen.job.id in ids else 0
