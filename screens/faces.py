"""The keyboard face review: people and clusters on the left, their faces as a grid.

Every decision goes to the store at once (nothing is renamed or deleted on disk) and can be
undone with `u`. Faces and thumbnails are read in thread workers, a screenful at a time.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from screens.dialogs.choose import AskTextDialog, ChooseDialog
from screens.face_detail import FaceDetailScreen
from store import identities, jobs, review
from store.views import face_query
from store.views.face_query import FaceListing, Group
from store.jobs import JobStatus
from store.views.snapshot import Snapshot
from tui.host import Host
from tui.launcher import ensure_worker
from tui.thumbs import ThumbCache, make_thumb
from screens.widgets.face_grid import IMAGE_HEIGHT, IMAGE_WIDTH, FaceGrid

# Finished jobs of these kinds change what the review shows.
RELOAD_KINDS = frozenset({"extract", "cluster", "histogram", "identity-filter"})
FILTER_CHOICES = ("kept", "excluded", "included", "rejected", "multiple", "blurry")


def caption_for(sort: str) -> Callable[[FaceListing], str]:
    """The tile caption: the face id and the number the grid is sorted by."""
    values: dict[str, Callable[[FaceListing], str]] = {
        "distance": lambda f: "-" if f.distance is None else f"{f.distance:.2f}",
        "blur": lambda f: f"b{f.blur:.0f}",
        "yaw": lambda f: f"y{f.yaw:+.0f}",
        "pitch": lambda f: f"p{f.pitch:+.0f}",
        "size": lambda f: f"{f.size * 100:.0f}%",
        "score": lambda f: f"s{f.score:.2f}",
    }
    value = values.get(sort, lambda f: f"f{f.frame_idx}")
    return lambda f: f"{f.id} {value(f)}{' ✗' if f.excluded else ''}"


class FacesScreen(Screen[None]):
    CSS_PATH = "faces.tcss"
    BINDINGS = [
        Binding("x", "exclude", "Exclude", id="faces.exclude",
                tooltip="Exclude the chosen faces from training, or include them back"),
        Binding("m", "move", "Move", id="faces.move",
                tooltip="Give the chosen faces to a person (new or existing) by hand"),
        Binding("n", "name", "Name", id="faces.name",
                tooltip="Name the current cluster as a person"),
        Binding("M", "merge", "Merge", id="faces.merge",
                tooltip="Merge the current cluster into another cluster"),
        Binding("s", "split", "Split", id="faces.split",
                tooltip="Split the chosen faces off into a new cluster of their own"),
        Binding("A", "side('A')", "Side A", id="faces.side_a",
                tooltip="Make the current person side A of the training pair (again: clear)"),
        Binding("B", "side('B')", "Side B", id="faces.side_b",
                tooltip="Make the current person side B of the training pair (again: clear)"),
        Binding("o", "sort", "Sort", id="faces.sort", tooltip="Choose the grid's order"),
        Binding("f", "filter", "Filter", id="faces.filter", tooltip="Choose which faces show"),
        Binding("enter", "detail", "Detail", id="faces.detail",
                tooltip="Open the face: larger, with landmarks and mask, and its numbers"),
        Binding("u", "undo", "Undo", id="faces.undo", tooltip="Undo the last review action"),
        Binding("c", "cluster", "Cluster", show=False, id="faces.cluster",
                tooltip="Queue a clustering of every face (names and hand moves are kept)"),
        Binding("F", "identity_filter", "Keep like photos", show=False,
                id="faces.identity_filter",
                tooltip="Reject faces unlike reference photos (extraction's --filter, after "
                        "the fact)"),
        Binding("tab", "app.focus_next", "Switch panel", show=False, id="faces.focus_next",
                tooltip="Move between the people list and the grid"),
        Binding("shift+tab", "app.focus_previous", "Switch panel", show=False,
                id="faces.focus_previous", tooltip="Move between the people list and the grid"),
        Binding("backspace", "app.pop_screen", "Back", id="faces.back",
                tooltip="Back to the dashboard"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort = "distance"
        self.filter = "kept"
        self.groups: list[Group] = []
        self.group: Group = Group("all", None, "All faces", 0)
        self.cache = ThumbCache()
        self._seen_jobs: int | None = None

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="groups-box") as box:
                box.border_title = "People and clusters"
                yield OptionList(id="groups")
            with Vertical(id="grid-box"):
                yield Static("loading…", id="faces-status")
                yield FaceGrid(self.host.thumbnail_renderer, self.cache,
                               caption_for(self.sort), id="grid")
        yield Footer()

    @property
    def grid(self) -> FaceGrid:
        return self.query_one(FaceGrid)

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self.on_snapshot)
        self.grid.focus()
        self.reload()

    def on_snapshot(self, snap: Snapshot | None) -> None:
        """Reload when a job that changes faces or clusters finished since the last look."""
        if snap is None:
            return
        finished = max((j.id for j in snap.jobs if j.kind in RELOAD_KINDS
                        and j.status == JobStatus.DONE), default=0)
        if self._seen_jobs is not None and finished > self._seen_jobs:
            self.reload()
        self._seen_jobs = finished

    # -- reading -------------------------------------------------------------------------

    def reload(self) -> None:
        self.grid.forget_listings()
        self.load_groups()

    @work(thread=True, exclusive=True, group="faces-groups")
    def load_groups(self) -> None:
        read_ids = self._ids_reader()
        with self.host.store() as conn:
            groups = face_query.groups(conn)
            ids = read_ids(conn)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_groups, groups, ids)

    def _show_groups(self, groups: list[Group], ids: list[int]) -> None:
        self.groups = groups
        by_key = {(g.kind, g.key): g for g in groups}
        self.group = by_key.get((self.group.kind, self.group.key), groups[0])
        options = self.query_one("#groups", OptionList)
        options.clear_options()
        options.add_options([Option(Text(_group_label(g)), id=f"{g.kind}:{g.key}")
                             for g in groups])
        options.highlighted = groups.index(self.group)
        self.grid.set_faces(ids)

    @work(thread=True, exclusive=True, group="faces-ids")
    def load_ids(self) -> None:
        read_ids = self._ids_reader()
        with self.host.store() as conn:
            ids = read_ids(conn)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.grid.set_faces, ids)

    def _ids_reader(self) -> Callable[[sqlite3.Connection], list[int]]:
        """The query of the faces in view, fixed now (the user may change them meanwhile)."""
        return partial(face_query.face_ids, sort=self.sort, filters=self._filters(),
                       **_scope(self.group))

    def on_face_grid_wanted(self, message: FaceGrid.Wanted) -> None:
        self.load_faces(message.ids)

    @work(thread=True, exclusive=True, group="faces-thumbs")
    def load_faces(self, ids: list[int]) -> None:
        """Listings and thumbnails, a screenful at a time, the visible ones first."""
        worker = get_current_worker()
        renderer = self.grid.renderer
        page = max(self.grid.state.page_size, 1)
        for start in range(0, len(ids), page):
            part = ids[start:start + page]
            with self.host.store() as conn:
                listings = face_query.listings(conn, part)
                encoded = face_query.thumbnails(conn, [i for i in part if i not in self.cache])
            for face_id, data in encoded.items():
                self.cache.put(face_id, make_thumb(data, renderer, IMAGE_WIDTH, IMAGE_HEIGHT))
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self.grid.provide, listings)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id != "groups" or event.option_index >= len(self.groups):
            return
        group = self.groups[event.option_index]
        if (group.kind, group.key) != (self.group.kind, self.group.key):
            self.group = group
            self.grid.state.selected.clear()
            self.load_ids()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "groups":
            self.grid.focus()

    def on_face_grid_moved(self, _message: FaceGrid.Moved) -> None:
        state = self.grid.state
        where = f"{state.cursor + 1}/{len(state.ids)}" if state.ids else "no faces"
        parts = [f"{self.group.label}", where, f"sort: {self.sort}", f"filter: {self.filter}"]
        if state.selected or state.anchor is not None:
            parts.append(f"{state.chosen_count()} selected")
        if state.anchor is not None:
            parts.append("-- VISUAL --")
        self.query_one("#faces-status", Static).update(" · ".join(parts))

    def _filters(self) -> tuple[str, ...]:
        return (self.filter,) if self.filter in ("kept", "rejected") else ("kept", self.filter)

    # -- what the actions apply to --------------------------------------------------------

    def _current_listing(self) -> FaceListing | None:
        current = self.grid.state.current
        return None if current is None else self.grid.listings.get(current)

    def _current_cluster(self) -> int | None:
        if self.group.kind == "cluster":
            return self.group.key
        listing = self._current_listing()
        return listing.cluster_id if listing else None

    def _current_person(self) -> str | None:
        """The current group's person, or the person of the face under the cursor."""
        if self.group.kind in ("person", "cluster"):
            return self.group.person
        listing = self._current_listing()
        return listing.identity if listing else None

    def _people(self) -> list[Group]:
        return [g for g in self.groups if g.kind == "person"]

    # -- actions ---------------------------------------------------------------------------

    def action_exclude(self) -> None:
        chosen = self.grid.state.chosen()
        if not chosen:
            self.notify("no faces here", severity="warning")
            return
        listings = [self.grid.listings.get(i) for i in chosen]
        exclude = not all(listing and listing.excluded for listing in listings)
        self.grid.state.selected.clear()
        self.grid.state.anchor = None
        self.change(lambda conn: identities.set_excluded(conn, chosen, exclude))

    def action_move(self) -> None:
        chosen = self.grid.state.chosen()
        if not chosen:
            self.notify("no faces here", severity="warning")
            return
        self.app.push_screen(
            AskTextDialog(f"Move {len(chosen)} face(s) to…", "a person's name (new or "
                          "existing); right arrow completes", [g.label for g in self._people()]),
            partial(self._chosen_move, chosen))

    def _chosen_move(self, chosen: list[int], name: str | None) -> None:
        if name:
            self.grid.state.selected.clear()
            self.grid.state.anchor = None
            self.change(lambda conn: identities.move_faces(conn, chosen, name))

    def action_name(self) -> None:
        cluster_id = self._current_cluster()
        if cluster_id is None:
            self.notify("this face is in no cluster: cluster the faces first (c)",
                        severity="warning")
            return
        self.app.push_screen(
            AskTextDialog(f"Name cluster {cluster_id} as…", "a person's name (new or existing)",
                          [g.label for g in self._people()], self._current_person() or ""),
            partial(self._chosen_name, cluster_id))

    def _chosen_name(self, cluster_id: int, name: str | None) -> None:
        if name:
            self.change(lambda conn: identities.name_cluster(conn, cluster_id, name))

    def action_merge(self) -> None:
        cluster_id = self._current_cluster()
        others = [(str(g.key), f"{g.label} ({g.count})") for g in self.groups
                  if g.kind == "cluster" and g.key != cluster_id]
        if cluster_id is None or not others:
            self.notify("merging needs a current cluster and another one", severity="warning")
            return
        self.app.push_screen(ChooseDialog(f"Merge cluster {cluster_id} into…", others),
                             partial(self._chosen_merge, cluster_id))

    def _chosen_merge(self, cluster_id: int, into: str | None) -> None:
        if into is not None:
            if self.group.kind == "cluster":
                self.group = Group("cluster", int(into), "", 0)
            self.change(lambda conn: identities.merge_clusters(conn, int(into), [cluster_id]))

    def action_split(self) -> None:
        state = self.grid.state
        chosen = state.chosen()
        if not (state.selected or state.anchor is not None):
            self.notify("select the faces to split off first (space, or v for a range)",
                        severity="warning")
            return
        state.selected.clear()
        state.anchor = None
        self.change(lambda conn: identities.split_faces(conn, chosen))

    def action_side(self, side: str) -> None:
        person = self._current_person()
        if person is None:
            self.notify("no person here: name the cluster first (n)", severity="warning")
            return
        current = next((g.side for g in self._people() if g.label == person), None)
        new_side = None if current == side else side
        self.change(lambda conn: identities.set_side(conn, person, new_side))

    def action_undo(self) -> None:
        self.change(None)

    def action_sort(self) -> None:
        options = [(key, f"{key}: {text}") for key, text in face_query.SORT_HELP.items()]
        self.app.push_screen(ChooseDialog("Sort the faces by…", options, self.sort),
                             self._chosen_sort)

    def _chosen_sort(self, sort: str | None) -> None:
        if sort is not None:
            self.sort = sort
            self.grid.caption = caption_for(sort)
            self.grid.forget_listings()
            self.load_ids()
            if sort == "histogram":
                self.rank_histograms()

    @work(thread=True, group="store")
    def rank_histograms(self) -> None:
        """The histogram order is made by a worker job: queue it when faces lack a place."""
        with self.host.store() as conn:
            ranked = face_query.histogram_ranked(conn)
        if not ranked:
            self.app.call_from_thread(self.queue_job, "histogram", {})

    def action_filter(self) -> None:
        options = [(key, f"{key}: {face_query.FILTER_HELP[key]}") for key in FILTER_CHOICES]
        self.app.push_screen(ChooseDialog("Show only…", options, self.filter),
                             self._chosen_filter)

    def _chosen_filter(self, chosen: str | None) -> None:
        if chosen is not None:
            self.filter = chosen
            self.load_ids()

    def action_detail(self) -> None:
        state = self.grid.state
        if state.current is not None:
            self.app.push_screen(FaceDetailScreen(state.ids, state.cursor))

    def action_cluster(self) -> None:
        self.queue_job("cluster", {"source_ids": [], "threshold": identities.DEFAULT_THRESHOLD,
                                   "method": "average"})

    def action_identity_filter(self) -> None:
        self.app.push_screen(
            AskTextDialog("Keep only faces like these photos",
                          "reference photo paths, separated by spaces (like extract --filter)"),
            self._chosen_identity_filter)

    def _chosen_identity_filter(self, paths: str | None) -> None:
        if not paths:
            return
        photos = [Path(p).expanduser() for p in paths.split()]
        if missing := [str(p) for p in photos if not p.is_file()]:
            self.notify(f"no such photo: {', '.join(missing)}", severity="error", markup=False)
            return
        self.queue_job("identity-filter", {"filter": [str(p.resolve()) for p in photos],
                                           "nfilter": [], "source_ids": []})

    @work(thread=True, group="store")
    def queue_job(self, kind: str, params: dict[str, Any]) -> None:
        try:
            with self.host.store() as conn:
                job_id = jobs.enqueue(conn, kind, params)
                ensure_worker(self.host.project, conn)
        except (sqlite3.Error, OSError) as exc:
            self.app.notify(f"could not queue the {kind} job: {exc}", severity="error",
                            markup=False)
            return
        self.app.notify(f"queued {kind} job {job_id}; the faces reload when it is done")

    @work(thread=True, group="store")
    def change(self, action: Callable[[sqlite3.Connection], object] | None) -> None:
        """Apply a review action (None: undo the last one), say what happened, reload."""
        try:
            with self.host.store() as conn:
                if action is None:
                    message = f"undid: {review.undo_last(conn)}"
                else:
                    action(conn)
                    message = review.history(conn, 1)[0].summary
        except (identities.IdentityError, review.NothingToUndo, sqlite3.Error) as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        self.app.notify(message, markup=False)
        self.app.call_from_thread(self.reload)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for group in self.groups:
            yield SystemCommand(f"Show {_group_label(group)}", "open this group in the grid",
                                partial(self._jump_to, group))

    def _jump_to(self, group: Group) -> None:
        self.query_one("#groups", OptionList).highlighted = self.groups.index(group)


def _scope(group: Group) -> dict[str, Any]:
    """The face_ids arguments that select a sidebar group's faces."""
    return {"person": {"identity_id": group.key}, "cluster": {"cluster_id": group.key},
            "unclustered": {"unclustered": True}}.get(group.kind, {})


def _group_label(group: Group) -> str:
    side = f"side {group.side}: " if group.side else ""
    return f"{side}{group.label} ({group.count})"
