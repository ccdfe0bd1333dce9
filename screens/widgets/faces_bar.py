"""The review's status and filter bar: where the cursor stands, what is selected, and the
order and filter of the grid, with the menus that choose them."""
from __future__ import annotations

from textual import work
from textual.message import Message
from textual.widgets import Static

from screens.dialogs.choose import ChooseDialog
from screens.widgets.face_grid import StoreOpener
from store.views import face_query
from tui.grid_state import GridState

# The grid's filters: name -> (face_query filters, what they show). A face that an action
# takes out of a filter (x in "kept" or "excluded") leaves the grid when it reloads.
GRID_FILTERS: dict[str, tuple[tuple[str, ...], str]] = {
    "kept": (("kept", "included"), "faces kept for training: not rejected at extraction, "
                                   "not excluded (x takes one out)"),
    "excluded": (("kept", "excluded"), "only faces left out of training (x takes one back)"),
    "all": (("kept",), "every face kept at extraction, the excluded ones too (marked ✗)"),
    "rejected": (("rejected",), face_query.FILTER_HELP["rejected"]),
    "multiple": (("kept", "included", "multiple"),
                 "kept faces that share their frame with another face"),
    "blurry": (("kept", "included", "blurry"),
               "kept faces among the blurriest tenth of the project's faces"),
    "tracked": (("kept", "included", "tracked"), face_query.FILTER_HELP["tracked"]),
}


class FacesBar(Static):
    """One status line; `sort` and `filter` are the grid's order and filter now."""

    DEFAULT_SORT = "distance"

    class SortChosen(Message):
        """A new order was chosen."""

        def __init__(self, sort: str) -> None:
            super().__init__()
            self.sort = sort

    class FilterChosen(Message):
        """A new filter was chosen."""

    class Unranked(Message):
        """The histogram order was chosen, and some faces have no place in it yet (the
        `histogram` job gives them one)."""

    def __init__(self, store: StoreOpener, **kwargs) -> None:
        super().__init__("loading…", markup=False, **kwargs)
        self.store = store
        self.sort = self.DEFAULT_SORT
        self.filter = "kept"

    def filters(self) -> tuple[str, ...]:
        """The face_ids filters: faces rejected at extraction show only when asked for."""
        return GRID_FILTERS[self.filter][0]

    def show(self, group_label: str, state: GridState, sort: str | None = None) -> None:
        """`sort`: the order shown when it is not the bar's (a track is in frame order)."""
        where = f"{state.cursor + 1}/{len(state.ids)}" if state.ids else "no faces"
        parts = [group_label, where, f"sort: {sort or self.sort}", f"filter: {self.filter}"]
        if state.selected or state.anchor is not None:
            parts.append(f"{state.chosen_count()} selected")
        if state.anchor is not None:
            parts.append("-- VISUAL --")
        self.update(" · ".join(parts))

    def choose_sort(self) -> None:
        options = [(key, f"{key}: {text}") for key, text in face_query.SORT_HELP.items()]
        self.app.push_screen(ChooseDialog("Sort the faces by…", options, self.sort),
                             self._chosen_sort)

    def _chosen_sort(self, sort: str | None) -> None:
        if sort is not None:
            self.sort = sort
            self.post_message(self.SortChosen(sort))
            if sort == "histogram":
                self._check_ranked()

    @work(thread=True, group="faces-ranked")
    def _check_ranked(self) -> None:
        with self.store() as conn:
            ranked = face_query.histogram_ranked(conn)
        if not ranked:
            self.post_message(self.Unranked())

    def choose_filter(self) -> None:
        options = [(key, f"{key}: {text}") for key, (_f, text) in GRID_FILTERS.items()]
        self.app.push_screen(ChooseDialog("Show only…", options, self.filter),
                             self._chosen_filter)

    def _chosen_filter(self, chosen: str | None) -> None:
        if chosen is not None:
            self.filter = chosen
            self.post_message(self.FilterChosen())
