"""The Alignments screen's keys (each with an id, to remap it in the config file).

The arrows step through frames, or move what is being edited: a box (after b or e) or
landmarks (after g)."""
from textual.binding import Binding

ALIGNMENTS_BINDINGS = [
    Binding("right,l", "arrow(1, 0)", "Next", id="alignments.right",
            tooltip="The next frame; while editing, move the box or points right"),
    Binding("left,h", "arrow(-1, 0)", "Previous", id="alignments.left",
            tooltip="The previous frame; while editing, move the box or points left"),
    Binding("down,j", "arrow(0, 1)", "Next face", show=False, id="alignments.down",
            tooltip="Choose the frame's next face; while editing, move the box or points "
                    "down"),
    Binding("up,k", "arrow(0, -1)", "Previous face", show=False, id="alignments.up",
            tooltip="Choose the frame's previous face; while editing, move the box or "
                    "points up"),
    Binding("n", "match(1)", "Next match", id="alignments.next_match",
            tooltip="Jump to the next frame the filter finds"),
    Binding("N", "match(-1)", "Previous match", show=False, id="alignments.previous_match",
            tooltip="Jump to the previous frame the filter finds"),
    Binding("home", "ends(0)", "First frame", show=False, id="alignments.first",
            tooltip="The first extracted frame"),
    Binding("end", "ends(-1)", "Last frame", show=False, id="alignments.last",
            tooltip="The last extracted frame"),
    Binding("space", "play", "Play", id="alignments.play",
            tooltip="Play the frames at a few a second, or stop"),
    Binding("f", "filter", "Filter", id="alignments.filter",
            tooltip="The frames n and N jump to: no face, several faces, landmark jumps, "
                    "low detection score, track gaps, or no face of a person"),
    Binding("b", "new_box", "Box", id="alignments.new_box",
            tooltip="Draw a box for a face detection missed (or drag one with the mouse): "
                    "arrows move it, + and - size it, enter places the face"),
    Binding("e", "edit_box", "Edit box", show=False, id="alignments.edit_box",
            tooltip="Draw the chosen face's box again: the aligner places its points anew"),
    Binding("g", "points", "Points", id="alignments.points",
            tooltip="Nudge the chosen face's landmarks with the arrows; g again picks the "
                    "group (jaw, brows, nose, eyes, mouth, one point), [ and ] the point"),
    Binding("left_square_bracket", "point(-1)", "Previous point", show=False,
            id="alignments.previous_point", tooltip="While nudging: the previous landmark"),
    Binding("right_square_bracket", "point(1)", "Next point", show=False,
            id="alignments.next_point", tooltip="While nudging: the next landmark"),
    Binding("plus,equals_sign", "grow(1.1)", "Grow", show=False, id="alignments.grow",
            tooltip="While drawing a box: make it larger"),
    Binding("minus", "grow(0.9091)", "Shrink", show=False, id="alignments.shrink",
            tooltip="While drawing a box: make it smaller"),
    Binding("enter", "apply", "Apply", show=False, id="alignments.apply",
            tooltip="Place the face in the box, or keep the nudged points (the worker "
                    "computes its crop, masks and descriptor)"),
    Binding("c", "copy(-1)", "Copy prev", id="alignments.copy_previous",
            tooltip="Add a face copied from the nearest earlier frame that has one (of the "
                    "person the filter looks for, if it does; it keeps its person and track, "
                    "and the aligner refines it)"),
    Binding("C", "copy(1)", "Copy next", show=False, id="alignments.copy_next",
            tooltip="Add a face copied from the nearest later frame that has one"),
    Binding("T", "fill_track", "Fill track", show=False, id="alignments.fill_track",
            tooltip="Copy the chosen face's track into every frame of its gaps (frames "
                    "between two of its faces where detection missed it)"),
    Binding("d,delete", "delete", "Delete", id="alignments.delete",
            tooltip="Delete the chosen face (a false or doubled detection)"),
    Binding("u", "undo", "Undo", id="alignments.undo",
            tooltip="Undo the last review action (here or in the Faces screen)"),
    Binding("U", "redo", "Redo", show=False, id="alignments.redo",
            tooltip="Redo the review action undone last"),
    Binding("L", "landmarks", "Landmarks", show=False, id="alignments.landmarks",
            tooltip="Show or hide the 68 points"),
    Binding("escape,backspace", "back", "Back", id="alignments.back",
            tooltip="Stop editing, or back to the dashboard"),
]
