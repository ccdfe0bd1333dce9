"""What screens need from the app that shows them (the app is `tui.app.SwapdeckApp`; screens
cannot import it, since it imports them)."""
from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Protocol

from store.project import Project
from store.views.snapshot import Snapshot


class Host(Protocol):
    project: Project
    auto_start_worker: bool
    snapshot: Snapshot | None
    thumbnail_renderer: str  # resolved: kitty, sixel, halfcell or unicode

    def store(self) -> AbstractContextManager[sqlite3.Connection]:
        """The app's own connection, one thread at a time (for writes from thread workers)."""

    def start_worker(self, quiet: bool = False) -> object:
        """Start a background worker unless one is alive, and say what happened."""
