"""The review's sidebar: everyone, the people and the clusters, each a set of faces to show.

The groups are read through the face_query view in a thread worker, which posts them back as
a message; the sidebar says which group is current with messages of its own.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from screens.widgets.face_grid import StoreOpener
from store.views import face_query
from store.views.face_query import FaceListing, Group

EVERYONE = Group("all", None, "All faces", 0)


def scope_of(group: Group) -> dict[str, Any]:
    """The face_ids arguments that select a group's faces."""
    scope = {"person": {"identity_id": group.key}, "cluster": {"cluster_id": group.key},
             "unclustered": {"unclustered": True}}.get(group.kind, {})
    return {**scope, "flagged": group.kind == "flagged"}


def group_label(group: Group) -> str:
    side = f"side {group.side}: " if group.side else ""
    return f"{side}{group.label} ({group.count})"


class FacesSidebar(Vertical):
    """The list of groups; the highlighted one is the group whose faces the grid shows."""

    class GroupsRead(Message, bubble=False):
        """The groups, read in a thread worker."""

        def __init__(self, groups: list[Group]) -> None:
            super().__init__()
            self.groups = groups

    class Changed(Message):
        """The current group's faces may have changed: the groups were read again, or
        another group is current (`moved`: the user moved, or the group is gone)."""

        def __init__(self, moved: bool) -> None:
            super().__init__()
            self.moved = moved

    class Picked(Message):
        """The user chose the current group (enter): the review goes on in the grid."""

    def __init__(self, store: StoreOpener, **kwargs) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.groups: list[Group] = []
        self.current = EVERYONE

    def compose(self) -> ComposeResult:
        yield OptionList(id="groups")

    def on_mount(self) -> None:
        self.border_title = "People and clusters"

    @work(thread=True, exclusive=True, group="faces-groups")
    def read_groups(self) -> None:
        with self.store() as conn:
            groups = face_query.groups(conn)
        if not get_current_worker().is_cancelled:
            self.post_message(self.GroupsRead(groups))

    def on_faces_sidebar_groups_read(self, message: FacesSidebar.GroupsRead) -> None:
        """List the groups; the current one stays current while it is still there."""
        groups = message.groups
        self.groups = groups
        by_key = {(g.kind, g.key): g for g in groups}
        kept = by_key.get((self.current.kind, self.current.key))
        self.current = kept or groups[0]   # a group gone (merged, re-clustered): the top
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(Text(group_label(g)), id=f"{g.kind}:{g.key}")
                             for g in groups])
        options.highlighted = groups.index(self.current)
        self.post_message(self.Changed(moved=kept is None))

    def go_to(self, kind: str, key: int | None = None) -> bool:
        """Make a listed group the current one; False when there is no such group."""
        index = next((n for n, g in enumerate(self.groups) if (g.kind, g.key) == (kind, key)),
                     None)
        if index is None:
            return False
        self.query_one(OptionList).highlighted = index
        return True

    def follow(self, kind: str, key: int | None) -> None:
        """Make this group the current one once the groups are read again (it is new)."""
        self.current = Group(kind, key, "", 0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index >= len(self.groups):
            return
        group = self.groups[event.option_index]
        if (group.kind, group.key) != (self.current.kind, self.current.key):
            self.current = group
            self.post_message(self.Changed(moved=True))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked())

    def people(self) -> list[str]:
        """The names of the people, sides first."""
        return [g.label for g in self.groups if g.kind == "person"]

    def side_of(self, person: str) -> str | None:
        return next((g.side for g in self.groups if g.kind == "person" and g.label == person),
                    None)

    def cluster_for(self, listing: FaceListing | None) -> int | None:
        """The current cluster, or the cluster of the face `listing` (under the cursor)."""
        if self.current.kind == "cluster":
            return self.current.key
        return listing.cluster_id if listing else None

    def person_for(self, listing: FaceListing | None) -> str | None:
        """The current group's person, or the person of the face `listing` (under the cursor)."""
        if self.current.kind in ("person", "cluster"):
            return self.current.person
        return listing.identity if listing else None

    def clusters_besides(self, cluster_id: int | None) -> list[tuple[str, str]]:
        """The other clusters, as (id, label) choices."""
        return [(str(g.key), f"{g.label} ({g.count})") for g in self.groups
                if g.kind == "cluster" and g.key != cluster_id]

    def jump_commands(self) -> Iterable[SystemCommand]:
        """A palette command per group, that makes it current."""
        for group in self.groups:
            yield SystemCommand(f"Show {group_label(group)}", "open this group in the grid",
                                partial(self._jump_to, group))

    def _jump_to(self, group: Group) -> None:
        self.query_one(OptionList).highlighted = self.groups.index(group)
