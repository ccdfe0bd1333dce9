"""An Input that completes filesystem paths as you type; tab (or right) takes the completion."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

SEPARATOR = " ; "
"""Between several paths in one input."""


def complete_path(value: str) -> str | None:
    """`value` extended by what the directory listing makes certain, or None.

    Completes the last of several paths separated by " ; ". A `~` is expanded to look the
    names up but kept in the result (a suggestion must begin with what was typed). A unique
    folder gets a trailing "/"; several candidates complete to their common prefix.
    Hidden names are offered only once the typed name starts with ".".
    """
    head, sep, last = value.rpartition(SEPARATOR)
    if not last.strip():
        return None
    if last.startswith("~") and "/" not in last:
        home = os.path.expanduser(last)
        return head + sep + last + "/" if home != last and os.path.isdir(home) else None
    folder_part, slash, prefix = last.rpartition("/")
    folder = Path(os.path.expanduser(folder_part + "/" if slash else "."))
    try:
        names = [entry.name for entry in os.scandir(folder)
                 if entry.name.startswith(prefix) and (prefix.startswith(".")
                                                       or not entry.name.startswith("."))]
    except OSError:
        return None
    if not names:
        return None
    completed = os.path.commonprefix(names)
    if len(names) == 1 and (folder / completed).is_dir():
        completed += "/"
    if completed == prefix:
        return None
    return head + sep + last[: len(last) - len(prefix)] + completed


class PathSuggester(Suggester):
    """Suggests from the directory listing; never cached, since folders change."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


class PathInput(Input):
    BINDINGS = [
        Binding("tab", "accept_suggestion", "Complete path", show=False,
                id="path_input.complete",
                tooltip="Take the suggested completion; with none, move to the next field"),
    ]

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        # Coming back to fix a path should not select it all (one key would wipe it).
        super().__init__(placeholder=placeholder, suggester=PathSuggester(), id=id,
                         select_on_focus=False)

    def action_accept_suggestion(self) -> None:
        """Input's right arrow takes a suggestion at the end of the text; tab does the same."""
        before = self.value
        if self.cursor_at_end:
            self.action_cursor_right()
        if self.value == before:
            self.screen.focus_next()
