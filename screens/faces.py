"""The keyboard face review: people and clusters on the left, their faces as a grid.

Every decision goes to the store at once (nothing is renamed or deleted on disk) and can be
undone with `u`. The sidebar, the status bar and the grid each read what they show; this
screen turns keys into review actions and jobs, and tells the panels what to show.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, cast

from textual import getters, work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header

from screens.dialogs.choose import AskTextDialog, ChooseDialog
from screens.face_detail import FaceDetailScreen
from screens.faces_keys import FACES_BINDINGS
from screens.widgets.face_grid import FaceGrid, caption_for
from screens.widgets.faces_bar import FacesBar
from screens.widgets.faces_sidebar import FacesSidebar, scope_of
from screens.widgets.keys_footer import KeysFooter
from store import identities, jobs, review, tracks
from store.jobs import JobStatus
from store.views.snapshot import Snapshot
from tui.host import Host
from tui.launcher import ensure_worker

# Finished jobs of these kinds change what the review shows.
RELOAD_KINDS = frozenset({"extract", "track", "cluster", "histogram", "identity-filter"})


class FacesScreen(Screen[None]):
    CSS_PATH = "faces.tcss"
    BINDINGS = FACES_BINDINGS

    grid = getters.query_one(FaceGrid)
    sidebar = getters.query_one(FacesSidebar)
    bar = getters.query_one(FacesBar)

    def __init__(self) -> None:
        super().__init__()
        self._seen_jobs: int | None = None
        self._track: int | None = None   # the track the grid shows, in place of the group

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield FacesSidebar(self.host.store, id="groups-box")
            with Vertical(id="grid-box"):
                yield FacesBar(self.host.store, id="faces-status")
                yield FaceGrid(self.host.store, self.host.thumbnail_renderer,
                               caption_for(FacesBar.DEFAULT_SORT), id="grid")
        yield KeysFooter()

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

    def reload(self) -> None:
        """Read the groups and the faces again: the store changed under them."""
        self.grid.forget_listings()
        self.sidebar.read_groups()

    def read_faces(self, from_top: bool = False) -> None:
        """The current group's faces, in the bar's order, through its filter; `from_top`:
        the cursor starts on the first (the group is another one)."""
        if self._track is not None:
            self.grid.read_faces("frame", self.bar.filters(), {"track_id": self._track},
                                 from_top)
        else:
            self.grid.read_faces(self.bar.sort, self.bar.filters(),
                                 scope_of(self.sidebar.current), from_top)


    def on_faces_sidebar_changed(self, message: FacesSidebar.Changed) -> None:
        if message.moved:
            self.grid.state.selected.clear()
            self._track = None
        self.read_faces(from_top=message.moved)

    def on_faces_sidebar_picked(self, _message: FacesSidebar.Picked) -> None:
        self.grid.focus()

    def on_faces_bar_sort_chosen(self, message: FacesBar.SortChosen) -> None:
        self.grid.caption = caption_for(message.sort)
        self.grid.forget_listings()
        self.read_faces()

    def on_faces_bar_unranked(self, _message: FacesBar.Unranked) -> None:
        self.queue_job("histogram", {})

    def on_faces_bar_filter_chosen(self, _message: FacesBar.FilterChosen) -> None:
        self.read_faces()

    def on_face_grid_moved(self, _message: FaceGrid.Moved) -> None:
        if self._track is not None:
            self.bar.show(f"track {self._track}", self.grid.state, sort="frame")
        else:
            self.bar.show(self.sidebar.current.label, self.grid.state)

    def action_exclude(self) -> None:
        chosen = self.grid.state.chosen()
        if not chosen:
            self.notify("no faces here", severity="warning")
            return
        listings = [self.grid.listings.get(i) for i in chosen]
        exclude = not all(listing and listing.excluded for listing in listings)
        self.grid.state.unselect_all()
        self.change(lambda conn: identities.set_excluded(conn, chosen, exclude))

    def action_move(self) -> None:
        chosen = self.grid.state.chosen()
        if not chosen:
            self.notify("no faces here", severity="warning")
            return
        self.app.push_screen(
            AskTextDialog(f"Move {len(chosen)} face(s) to…", "a person's name (new or "
                          "existing); right arrow completes", self.sidebar.people()),
            partial(self._chosen_move, chosen))

    def _chosen_move(self, chosen: list[int], name: str | None) -> None:
        if name:
            self.grid.state.unselect_all()
            self.change(lambda conn: identities.move_faces(conn, chosen, name))

    def action_name(self) -> None:
        cluster_id = self.sidebar.cluster_for(self.grid.current_listing())
        if cluster_id is None:
            self.notify("this face is in no cluster: cluster the faces first (c)",
                        severity="warning")
            return
        self.app.push_screen(
            AskTextDialog(f"Name cluster {cluster_id} as…", "a person's name (new or existing)",
                          self.sidebar.people(),
                          self.sidebar.person_for(self.grid.current_listing()) or ""),
            partial(self._chosen_name, cluster_id))

    def _chosen_name(self, cluster_id: int, name: str | None) -> None:
        if name:
            self.change(lambda conn: identities.name_cluster(conn, cluster_id, name))

    def action_merge(self) -> None:
        cluster_id = self.sidebar.cluster_for(self.grid.current_listing())
        others = self.sidebar.clusters_besides(cluster_id)
        if cluster_id is None or not others:
            self.notify("merging needs a current cluster and another one", severity="warning")
            return
        self.app.push_screen(ChooseDialog(f"Merge cluster {cluster_id} into…", others),
                             partial(self._chosen_merge, cluster_id))

    def _chosen_merge(self, cluster_id: int, into: str | None) -> None:
        if into is not None:
            if self.sidebar.current.kind == "cluster":
                self.sidebar.follow("cluster", int(into))
            self.change(lambda conn: identities.merge_clusters(conn, int(into), [cluster_id]))

    def action_split(self) -> None:
        state = self.grid.state
        chosen = state.chosen()
        if not (state.selected or state.anchor is not None):
            self.notify("select the faces to split off first (space, or v for a range)",
                        severity="warning")
            return
        state.unselect_all()
        self.change(lambda conn: identities.split_faces(conn, chosen))

    def action_side(self, side: str) -> None:
        person = self.sidebar.person_for(self.grid.current_listing())
        if person is None:
            self.notify("no person here: name the cluster first (n)", severity="warning")
            return
        new_side = None if self.sidebar.side_of(person) == side else side
        self.change(lambda conn: identities.set_side(conn, person, new_side))

    def action_track(self) -> None:
        listing = self.grid.current_listing()
        if self._track is None and (listing is None or listing.track_id is None):
            self.notify("this face is in no track: extraction links faces into tracks "
                        "(swapdeck track for older projects)", severity="warning")
            return
        self._track = None if self._track is not None else listing.track_id
        self.grid.state.unselect_all()
        self.read_faces(from_top=True)

    def action_flagged(self) -> None:
        if not self.sidebar.go_to("flagged"):
            self.notify("no face is flagged as probably not a face", severity="information")

    def action_restore(self) -> None:
        self._flag_decision(tracks.restore_as_faces)

    def action_not_face(self) -> None:
        self._flag_decision(tracks.confirm_not_faces)

    def _flag_decision(self, decide: Callable[[sqlite3.Connection, list[int]], int]) -> None:
        chosen = self.grid.state.chosen()
        if not chosen:
            self.notify("no faces here", severity="warning")
            return
        self.grid.state.unselect_all()
        self.change(lambda conn: decide(conn, chosen))

    def action_undo(self) -> None:
        self.change(None)

    def action_sort(self) -> None:
        self.bar.choose_sort()

    def action_filter(self) -> None:
        self.bar.choose_filter()

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
        return self.sidebar.jump_commands()
