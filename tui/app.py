"""The swapdeck TUI: a window onto a project's store, started by `swapdeck open`.

It reads what the worker wrote through one poller thread (tui/poller.py) and asks for work by
adding jobs on a connection of its own. Quitting leaves the worker running.
"""
from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Protocol, runtime_checkable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen

import screens
from screens.dashboard import DashboardScreen
from screens.help import HelpScreen
from store.project import Project
from store.views.snapshot import Snapshot
from tui.config import load_config
from tui.keymap import check_keymap, remappable_ids
from tui.launcher import ensure_worker
from tui.poller import StorePoller
from tui.thumbs import resolve


@runtime_checkable
class HasPaletteCommands(Protocol):
    def palette_commands(self) -> Iterable[SystemCommand]:
        """Commands that depend on what the screen shows now."""


class SwapdeckCommands(Provider):
    """Every action bound on the current screen and the app, plus the screen's own commands."""

    def commands(self) -> list[SystemCommand]:
        app = self.app
        by_action: dict[tuple[str, int], list[ActiveBinding]] = {}
        for active in self.screen.active_bindings.values():
            if active.binding.id and active.binding.action != "command_palette":
                by_action.setdefault((active.binding.action, id(active.node)), []).append(active)
        found = []
        for actives in by_action.values():
            actives.sort(key=lambda a: not a.binding.show)  # the footer's binding describes it
            primary = actives[0]
            keys = ", ".join(app.get_key_display(a.binding) for a in actives)
            found.append(SystemCommand(
                primary.binding.description,
                f"{primary.binding.tooltip} ({keys})",
                partial(app.run_action, primary.binding.action, primary.node),
            ))
        context = self.screen.palette_commands() if isinstance(
            self.screen, HasPaletteCommands) else []
        return [*context, *found]

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            if (score := matcher.match(command.title)) > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback,
                          help=command.help)


class SwapdeckApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "swapdeck"
    COMMANDS = App.COMMANDS | {SwapdeckCommands}
    # every screen gets -short under 32 rows (an 80x24 or 100x30 SSH terminal: secondary
    # panels fold away) and -narrow under 110 columns, for its stylesheet to adapt
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit",
                tooltip="Close swapdeck; the background worker keeps running"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_anywhere",
                tooltip="Close swapdeck from anywhere, even while typing"),
        Binding("question_mark", "help", "Help", id="app.help",
                tooltip="List every key, its id (to remap it) and what it does"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True,
                id="app.command_palette", tooltip="Search every action by name"),
    ]
    snapshot: reactive[Snapshot | None] = reactive(None, init=False)

    def __init__(self, project: Project, *, start_worker: bool = True,
                 thumbnails: str | None = None) -> None:
        """`thumbnails` forces a renderer for face images (else the config's, else auto)."""
        super().__init__()
        self.project = project
        self.forced_thumbnails = thumbnails
        self.thumbnail_renderer = "unicode"
        self.auto_start_worker = start_worker
        self.sub_title = str(project.root)
        self.key_overrides: dict[str, str] = {}
        self._conn = project.connect()
        self._store_lock = threading.Lock()
        self._poller = StorePoller(project, self)

    @contextmanager
    def store(self) -> Iterator[sqlite3.Connection]:
        """The app's own connection, for writes from worker threads, one thread at a time."""
        with self._store_lock:
            yield self._conn

    def on_mount(self) -> None:
        self._apply_config()
        if self.auto_start_worker:
            self.start_worker(quiet=True)
        self._poller.start()
        self.push_screen(DashboardScreen())

    def on_unmount(self) -> None:
        self._poller.stop()
        with self.store() as conn:
            conn.close()

    def _apply_config(self) -> None:
        config = load_config()
        self.thumbnail_renderer = resolve(self.forced_thumbnails or config.thumbnails)
        # Every screen, dialog and widget's ids, found from the classes themselves.
        self.key_overrides, problems = check_keymap(config.keys, remappable_ids([screens]))
        problems = [*config.problems, *problems]
        if self.key_overrides:
            self.set_keymap(self.key_overrides)
        if problems:
            self.notify("\n".join(problems), title=f"config: {config.path}", severity="warning",
                        timeout=15, markup=False)

    def on_store_poller_snapshot_ready(self, message: StorePoller.SnapshotReady) -> None:
        self.snapshot = message.snapshot

    def on_store_poller_read_failed(self, message: StorePoller.ReadFailed) -> None:
        self.notify(message.error, severity="error", markup=False)

    @work(thread=True, group="store")
    def start_worker(self, quiet: bool = False) -> None:
        """Start a background worker unless one is alive, and say what happened."""
        try:
            with self.store() as conn:
                pid = ensure_worker(self.project, conn)
        except (sqlite3.Error, OSError) as exc:
            self.notify(f"could not start a worker: {exc}", severity="error", markup=False)
            return
        if pid is not None:
            self.notify(f"started a background worker (pid {pid}); its log: "
                        f"{self.project.root / 'worker.log'}", markup=False)
        elif not quiet:
            self.notify("a worker is already running", severity="warning")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_overrides))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, less its Quit: ours says that the worker keeps running."""
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")


def calm_collector() -> None:
    """Keep Python's cyclic garbage collector from stalling the interface; call it once,
    before the app starts.

    Each frame or page the TUI draws makes tens of thousands of short-lived objects
    (segments, strips, styles), and with the default thresholds a full collection, which
    walks every object of Textual, Rich and the app (about 200 ms on a 2-core machine), runs
    every few keypresses. What exists at start is frozen (never walked again) and the young
    generations are collected less often (benchmarks/alignments_step.py measures it)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
