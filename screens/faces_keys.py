"""The Faces screen's keys (each with an id, to remap it in the config file)."""
from textual.binding import Binding

FACES_BINDINGS = [
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
    Binding("c", "cluster", "Cluster", id="faces.cluster",
            tooltip="Queue a clustering of every face (names, hand moves and merges are "
                    "kept)"),
    Binding("t", "track", "Track", id="faces.track",
            tooltip="Show the current face's whole track (the person followed through "
                    "neighbouring frames) in frame order; again: back to the group"),
    Binding("p", "flagged", "Not faces?", id="faces.flagged",
            tooltip="Show the faces flagged as probably not faces (r restores, K confirms)"),
    Binding("r", "restore", "Restore", show=False, id="faces.restore",
            tooltip="The chosen faces are faces after all (with the rest of their tracks): "
                    "back to clustering and training"),
    Binding("K", "not_face", "Not a face", show=False, id="faces.not_face",
            tooltip="Confirm the chosen faces are not faces (with the rest of their "
                    "tracks): they stay flagged and excluded"),
    Binding("F", "identity_filter", "Keep like photos", show=False,
            id="faces.identity_filter",
            tooltip="Reject faces unlike reference photos (extraction's --filter, after "
                    "the fact)"),
    Binding("tab", "app.focus_next", "Switch panel", show=False, id="faces.focus_next",
            tooltip="Move between the people list and the grid"),
    Binding("shift+tab", "app.focus_previous", "Switch panel", show=False,
            id="faces.focus_previous", tooltip="Move between the people list and the grid"),
    Binding("escape,backspace", "app.pop_screen", "Back", id="faces.back",
            tooltip="Back to the dashboard (escape first leaves visual mode or unselects)"),
]
